// The registered models (#/models?q=...&sort=name:asc): a search box (plain words search the
// names; anything with a comparison is the search language, e.g. tags.team = 'vision'), sorted
// and paged by the server (registered-models/search: filter, order_by, page_token), with each
// model's latest version, aliases, tags, last change and the start of its description.

import {
  html,
  useEffect,
  useQueryParam,
  useDebouncedDraft,
  formatAgo,
  formatTime,
  searchLiteral,
  ErrorBox,
  Spinner,
} from "../lib.js";
import { registry } from "../api.js";
import { usePages, LoadMore, AliasChips, TagChips, modelHref, versionHref } from "../components/registry-common.js";

const PAGE_SIZE = 50;
const SEARCH_DEBOUNCE_MS = 250;
const EXCERPT_CHARS = 120;
const SORTS = { name: "name", modified: "last_updated_timestamp" };
const COMPARISON = /(=|<|>|\bI?LIKE\b|\bIN\b)/i;

/** The filter for what was typed: a filter as it is, plain words as a name search. */
export function modelFilter(text) {
  const q = text.trim();
  if (!q) return "";
  if (COMPARISON.test(q)) return q;
  // LIKE's own wildcards and escape typed in a name are meant literally.
  return "name ILIKE " + searchLiteral("%" + q.replace(/[\\%_]/g, "\\$&") + "%");
}

/** "name:asc" -> ["name ASC"]. */
function orderBy(sort) {
  const [key, dir] = sort.split(":");
  const column = SORTS[key] || SORTS.name;
  return [column + (dir === "desc" ? " DESC" : " ASC")];
}

/** The newest version number among a model's latest versions (one per stage). */
function latestVersion(model) {
  let best = null;
  for (const v of model.latest_versions || []) {
    if (best === null || Number(v.version) > Number(best)) best = v.version;
  }
  return best;
}

/** The description's first line of text, markdown marks stripped, shortened. */
function excerpt(text) {
  const line = String(text || "")
    .split("\n")
    .map((l) => l.replace(/^\s*(#+|[-*>]|\d+\.)\s*/, "").replace(/[*_`]/g, "").trim())
    .find((l) => l) || "";
  return line.length > EXCERPT_CHARS ? line.slice(0, EXCERPT_CHARS - 1) + "…" : line;
}

function EmptyState() {
  return html`<div class="registry-empty" data-testid="models-empty">
    <h2>No registered models yet</h2>
    <p>A registered model is a named, versioned home for the models your runs log. Register one from a run:</p>
    <pre><code>import cairn

with cairn.start_run():
    info = cairn.sklearn.log_model(model, name="model")

cairn.register_model(info.model_uri, "my-model")</code></pre>
    <p class="muted">Each call adds a version; aliases such as <code>champion</code> then name the version to load:
      <code>models:/my-model@champion</code>.</p>
  </div>`;
}

function ModelRow({ model }) {
  const latest = latestVersion(model);
  const desc = excerpt(model.description);
  return html`<tr data-testid="model-row" data-name=${model.name}>
    <td class="model-name"><a href=${modelHref(model.name)} title=${model.name} data-testid="model-link">${model.name}</a></td>
    <td class="num" data-testid="model-latest">${latest !== null ? html`<a href=${versionHref(model.name, latest)}>v${latest}</a>` : html`<span class="muted">—</span>`}</td>
    <td class="model-aliases" data-testid="model-aliases"><${AliasChips} name=${model.name} aliases=${model.aliases} /></td>
    <td class="model-tags" data-testid="model-tags"><${TagChips} tags=${model.tags} /></td>
    <td title=${formatTime(model.last_updated_timestamp)} data-testid="model-modified">${formatAgo(model.last_updated_timestamp)}</td>
    <td class="model-description muted" title=${model.description || ""} data-testid="model-description">${desc}</td>
  </tr>`;
}

function SortHeader({ label, sortKey, sort, onSort }) {
  const [key, dir] = sort.split(":");
  const active = key === sortKey;
  return html`<th aria-sort=${active ? (dir === "asc" ? "ascending" : "descending") : "none"}>
    <button type="button" class="head-button" data-testid=${"sort-" + sortKey} onClick=${() => onSort(sortKey)}>
      <span>${label}</span><span class="sort-arrow" aria-hidden="true">${active ? (dir === "asc" ? "▲" : "▼") : ""}</span></button></th>`;
}

export default function ModelsPage() {
  const [q, setQ] = useQueryParam("q", "");
  const [sort, setSort] = useQueryParam("sort", "name:asc");
  const [draft, setDraft] = useDebouncedDraft(q, setQ, SEARCH_DEBOUNCE_MS);
  useEffect(() => {
    document.title = "Models · cairn";
    return () => {
      document.title = "cairn";
    };
  }, []);

  const pages = usePages(
    (token) =>
      registry
        .searchModels({ filter: modelFilter(q), orderBy: orderBy(sort), maxResults: PAGE_SIZE, pageToken: token })
        .then((r) => ({ items: r.registered_models || [], next: r.next_page_token })),
    [q, sort],
  );
  const onSort = (key) => {
    const [current, dir] = sort.split(":");
    const fresh = key === "modified" ? "desc" : "asc"; // newest first is what one wants first
    setSort(`${key}:${current === key ? (dir === "asc" ? "desc" : "asc") : fresh}`);
  };
  const ready = pages.loaded && !pages.loading;
  const models = pages.items;
  return html`<div class="page registry-page models-page" data-testid="models-page" data-ready=${ready ? "true" : "false"}>
    <div class="toolbar">
      <h1>Registered models</h1>
      <span class="spacer"></span>
      <input type="search" class="models-search" value=${draft} data-testid="models-search" spellcheck="false"
        placeholder="Search: a name, or tags.team = 'vision'" aria-label="Search registered models (a name or a filter)"
        onInput=${(e) => setDraft(e.currentTarget.value)} onKeyDown=${(e) => e.key === "Enter" && setQ(draft)} />
    </div>
    <${ErrorBox} error=${pages.error} />
    ${!pages.loaded && !pages.error ? html`<${Spinner} label="Loading models" />` : null}
    ${pages.loaded && !models.length && !q ? html`<${EmptyState} />` : null}
    ${pages.loaded && !models.length && q ? html`<p class="muted" data-testid="models-none">No registered model matches “${q}”.</p>` : null}
    ${models.length
      ? html`<div class="registry-table-wrap"><table class="grid models-table" data-testid="models-table">
          <thead><tr>
            <${SortHeader} label="Name" sortKey="name" sort=${sort} onSort=${onSort} />
            <th class="num">Latest</th>
            <th>Aliases</th>
            <th>Tags</th>
            <${SortHeader} label="Last modified" sortKey="modified" sort=${sort} onSort=${onSort} />
            <th>Description</th>
          </tr></thead>
          <tbody>${models.map((m) => html`<${ModelRow} key=${m.name} model=${m} />`)}</tbody>
        </table></div>
        <div class="registry-count muted" data-testid="models-count">${models.length} shown${pages.next ? ", more to load" : ""}</div>`
      : null}
    <${LoadMore} pages=${pages} testid="models-load-more" />
  </div>`;
}
