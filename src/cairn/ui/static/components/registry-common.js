// Pieces the registry pages share: links to models and versions (names are URL-encoded path
// segments, so any name routes), the filter of one model's versions, alias chips, the stage
// badge, and `usePages`, the "load more" list over a paged endpoint.

import { html, useState, useAsync, href, searchLiteral } from "../lib.js";
import { isSystem } from "./run-tags.js";

export const STAGES = ["None", "Staging", "Production", "Archived"];

/** The hash path of a registered model's page. */
export function modelPath(name) {
  return "/models/" + encodeURIComponent(name);
}

/** The hash path of one version's page. */
export function versionPath(name, version) {
  return modelPath(name) + "/versions/" + encodeURIComponent(String(version));
}

export const modelHref = (name) => href(modelPath(name));
export const versionHref = (name, version) => href(versionPath(name, version));

/** The search-language filter of one model's versions. */
export function versionsOfModel(name) {
  return "name = " + searchLiteral(name);
}

/** "champion → v3", linking to the version. */
export function AliasChip({ name, alias, version, onRemove, busy }) {
  return html`<span class="alias-chip" data-testid="alias-chip" data-alias=${alias} data-version=${String(version)}>
    <a href=${versionHref(name, version)} title=${`${alias} → version ${version}`} aria-label=${`${alias}: version ${version}`}
      ><span class="alias-name">${alias}</span> → v${version}</a>
    ${onRemove
      ? html`<button type="button" class="chip-remove" data-testid="alias-remove" disabled=${busy}
          onClick=${onRemove} aria-label=${"Remove alias " + alias} title=${"Remove alias " + alias}>×</button>`
      : null}
  </span>`;
}

/** A model's aliases ([{alias, version}]) as chips, sorted by alias. */
export function AliasChips({ name, aliases }) {
  const list = [...(aliases || [])].sort((a, b) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0));
  if (!list.length) return null;
  return html`<span class="alias-chips">${list.map(
    (a) => html`<${AliasChip} key=${a.alias} name=${name} alias=${a.alias} version=${a.version} />`,
  )}</span>`;
}

export function StageBadge({ stage }) {
  const s = stage || "None";
  return html`<span class=${"badge stage stage-" + s.toLowerCase()} data-testid="stage-badge">${s}</span>`;
}

/** A version's registration status (READY, PENDING_REGISTRATION, FAILED_REGISTRATION). */
export function VersionStatus({ status }) {
  const s = String(status || "");
  const cls = s === "READY" ? "finished" : s.startsWith("FAILED") ? "failed" : "scheduled";
  return html`<span class=${"badge status-" + cls} data-testid="version-status">${s.toLowerCase().replace(/_/g, " ")}</span>`;
}

/** Tags [{key, value}] as "key=value" chips, system (mlflow.*) tags left out. */
export function TagChips({ tags }) {
  const own = (tags || []).filter((t) => !isSystem(t.key));
  if (!own.length) return null;
  return html`<span class="tag-chips">${own.map(
    (t) => html`<span class="tag-chip" key=${t.key} title=${t.key + " = " + t.value}>
      <span class="tag-chip-key">${t.key}</span>${t.value !== "" ? html`=<span class="tag-chip-value">${t.value}</span>` : null}</span>`,
  )}</span>`;
}

/**
 * A list read page by page: `loadPage(token)` resolves {items, next}. Returns {items, next,
 * loading, error, loaded, more, reload}. The first page is a `useAsync` of `deps`, so a list
 * has the same guarantees: answers of superseded loads are dropped, and in the render where
 * deps change `loading` is already true (the items shown are the old deps' until the new ones
 * arrive). `more` appends the next page to the first page it was read after; a new first page
 * (reload, new deps, polling) drops them. `reload` starts again from the first page and keeps
 * showing the old items until the new ones arrive. `intervalMs` is a number or a function of
 * {items, extended} (extended: pages beyond the first are shown or loading), passed to useAsync.
 */
export function usePages(loadPage, deps, { intervalMs = 0 } = {}) {
  // The pages after the first, tied to the first page (`base`) they continue.
  const [rest, setRest] = useState({ base: undefined, items: [], next: null, loading: false, error: null });
  const extendedFor = (first) => first !== undefined && rest.base === first;
  const poll = typeof intervalMs === "function"
    ? (first) => intervalMs({
      items: first ? [...first.items, ...(extendedFor(first) ? rest.items : [])] : [],
      extended: extendedFor(first),
    })
    : intervalMs;
  const first = useAsync(() => loadPage(null), deps, { intervalMs: poll });
  const extended = extendedFor(first.data);
  const items = first.data ? [...first.data.items, ...(extended ? rest.items : [])] : [];
  const next = (extended ? rest.next : first.data && first.data.next) || null;
  const loading = first.loading || (extended && rest.loading);
  const more = () => {
    if (!next || loading) return;
    const base = first.data;
    const shown = extended ? rest.items : [];
    setRest({ base, items: shown, next, loading: true, error: null });
    Promise.resolve()
      .then(() => loadPage(next))
      .then(
        (page) =>
          setRest((r) =>
            r.base === base ? { base, items: [...shown, ...page.items], next: page.next || null, loading: false, error: null } : r,
          ),
        (error) => setRest((r) => (r.base === base ? { ...r, loading: false, error } : r)),
      );
  };
  return {
    items,
    next,
    loading,
    error: first.error || (extended ? rest.error : null) || null,
    loaded: first.data !== undefined,
    more,
    reload: first.refetch,
  };
}

/** The "Load more" button under a paged list. */
export function LoadMore({ pages, testid, label = "Load more" }) {
  if (!pages.next) return null;
  return html`<div class="load-more"><button type="button" data-testid=${testid} disabled=${pages.loading}
    onClick=${pages.more}>${pages.loading ? "Loading…" : label}</button></div>`;
}
