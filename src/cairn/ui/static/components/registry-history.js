// The audit trail of a registered model (or of one of its versions) as a timeline, newest first:
// when, who, what, and each changed field's value before → after. Read from cairn's
// /registry/history, page by page.

import { html, formatTime, formatAgo, ErrorBox, Spinner } from "../lib.js";
import { registry } from "../api.js";
import { Section } from "./run-common.js";
import { usePages, LoadMore, versionHref } from "./registry-common.js";

const PAGE_SIZE = 25;
const VALUE_CHARS = 160;

/** What happened, in words; `v` is the version link when the event is about a version. */
function describe(ev, v) {
  const after = ev.after || {};
  const before = ev.before || {};
  const tagKey = after.key ?? before.key;
  const alias = after.alias ?? before.alias;
  switch (ev.event) {
    case "registered_model.created": return html`created the model`;
    case "registered_model.updated": return html`edited the description`;
    case "registered_model.renamed": return html`renamed the model`;
    case "registered_model.deleted": return html`deleted the model`;
    case "registered_model_tag.set": return html`set tag <code>${tagKey}</code>`;
    case "registered_model_tag.deleted": return html`deleted tag <code>${tagKey}</code>`;
    case "model_version.created": return html`registered ${v}`;
    case "model_version.updated": return html`edited the description of ${v}`;
    case "model_version.stage_changed": return html`changed the stage of ${v}`;
    case "model_version.deleted": return html`deleted ${v}`;
    case "model_version_tag.set": return html`set tag <code>${tagKey}</code> on ${v}`;
    case "model_version_tag.deleted": return html`deleted tag <code>${tagKey}</code> of ${v}`;
    case "model_version_alias.created": return html`pointed alias <code>${alias}</code> at ${v}`;
    case "model_version_alias.deleted": return html`removed alias <code>${alias}</code> from ${v}`;
    default: return html`<code>${ev.event}</code>${ev.version != null ? html` on ${v}` : null}`;
  }
}

function show(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function Value({ value, kind }) {
  if (value === undefined) return html`<span class="muted history-none">—</span>`;
  const text = show(value);
  const clipped = text.length > VALUE_CHARS ? text.slice(0, VALUE_CHARS) + "…" : text;
  return html`<span class=${"history-value " + kind} title=${text} data-testid=${"history-" + kind}>${clipped || html`<span class="muted">(empty)</span>`}</span>`;
}

/**
 * The fields an event is about: [key, before, after]. A change lists the fields that differ; a
 * creation (no before) or deletion (no after) lists every field it has.
 */
function changes(ev) {
  const before = ev.before || {};
  const after = ev.after || {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const differs = (k) => !(k in before) || !(k in after) || show(before[k]) !== show(after[k]);
  return keys
    .filter((k) => !(ev.before && ev.after) || differs(k))
    .map((k) => [k, k in before ? before[k] : undefined, k in after ? after[k] : undefined]);
}

function Changes({ ev, rows }) {
  return html`<dl class="history-changes">${rows.map(
    ([key, b, a]) => html`<div class="history-change" key=${key} data-key=${key} data-testid="history-change">
      <dt>${key}</dt>
      <dd>${ev.before ? html`<${Value} value=${b} kind="before" />` : null}
        ${ev.before && ev.after ? html`<span class="history-arrow" aria-label="changed to">→</span>` : null}
        ${ev.after ? html`<${Value} value=${a} kind="after" />` : null}</dd>
    </div>`,
  )}</dl>`;
}

function isEmpty(value) {
  return value === null || value === undefined || value === "" ||
    (typeof value === "object" && Object.keys(value).length === 0);
}

function HistoryEvent({ ev, name }) {
  const v = ev.version !== null && ev.version !== undefined
    ? html`<a href=${versionHref(ev.name || name, ev.version)}>version ${ev.version}</a>`
    : null;
  // A change shows its fields inline; a creation's or deletion's whole entity (its non-empty
  // fields) is folded away unless it is as short as a change.
  const whole = !(ev.before && ev.after);
  const rows = changes(ev).filter(([, b, a]) => !whole || !isEmpty(ev.after ? a : b));
  const fold = whole && rows.length > 2;
  return html`<li class="history-event" data-testid="history-event" data-event=${ev.event}
      data-version=${ev.version != null ? String(ev.version) : undefined}>
    <span class="history-dot" aria-hidden="true"></span>
    <div class="history-head">
      <time class="history-when" title=${formatTime(ev.timestamp)} datetime=${new Date(Number(ev.timestamp)).toISOString()}>${formatAgo(ev.timestamp)}</time>
      <span class="history-who" data-testid="history-user">${ev.user_id || "unknown"}</span>
      <span class="history-what">${describe(ev, v)}</span>
    </div>
    ${rows.length && !fold ? html`<${Changes} ev=${ev} rows=${rows} />` : null}
    ${rows.length && fold
      ? html`<details class="history-fields"><summary>${ev.after ? "fields" : "fields before"}</summary><${Changes} ev=${ev} rows=${rows} /></details>`
      : null}
  </li>`;
}

/** The history of model `name` (only of `version`, if given). Bump `refreshKey` after a change. */
export function HistoryTimeline({ name, version, refreshKey, testid = "registry-history" }) {
  const pages = usePages(
    (token) =>
      registry
        .history({ name, version, maxResults: PAGE_SIZE, pageToken: token })
        .then((r) => ({ items: r.events || [], next: r.next_page_token })),
    [name, version, refreshKey],
  );
  return html`<${Section} title="History" testid=${testid} className="registry-history">
    <div data-ready=${pages.loaded && !pages.loading ? "true" : "false"} data-testid="history-body">
      <${ErrorBox} error=${pages.error} />
      ${!pages.loaded && !pages.error ? html`<${Spinner} label="Loading history" />` : null}
      ${pages.loaded && !pages.items.length ? html`<p class="muted">No recorded changes.</p>` : null}
      ${pages.items.length
        ? html`<ol class="history-timeline">${pages.items.map((ev) => html`<${HistoryEvent} key=${ev.event_id} ev=${ev} name=${name} />`)}</ol>`
        : null}
      <${LoadMore} pages=${pages} testid="history-load-more" label="Older changes" />
    </div>
  <//>`;
}
