// The registry's webhooks (#/webhooks?webhook=<id>): each one's URL, events, whether it has a
// secret (write-only: shown as set / not set) and status, with enable/disable, "Send test"
// (the receiver's answer shown in the row), delete (asks first) and a new-webhook form. The
// chosen webhook's delivery log is below the list (its id in the URL, so a log can be linked).

import { html, useState, useEffect, useAsync, useQueryParam, formatTime, ErrorBox, Spinner } from "../lib.js";
import { webhooks } from "../api.js";
import { Dialog } from "../components/registry-dialog.js";
import { usePages, LoadMore } from "../components/registry-common.js";
import { WebhookForm } from "../components/webhook-form.js";
import { DeliveryLog } from "../components/webhook-deliveries.js";

const PAGE_SIZE = 50;
const SHOWN_EVENTS = 3;

function Events({ events }) {
  const list = events || [];
  const extra = list.length - SHOWN_EVENTS;
  return html`<span class="webhook-event-chips" title=${list.join("\n")} data-testid="webhook-events"
      data-events=${list.join(" ")}>
    ${list.slice(0, SHOWN_EVENTS).map((e) => html`<code key=${e} class="webhook-event-chip">${e}</code>`)}
    ${extra > 0 ? html`<span class="muted">+${extra} more</span>` : null}
  </span>`;
}

/** What "Send test" got back: {success, response_status, error_message} or a request error. */
function TestResult({ outcome }) {
  if (!outcome) return null;
  if (outcome.busy) return html`<span class="muted webhook-test-result" data-testid="webhook-test-result">sending…</span>`;
  if (outcome.error) {
    return html`<span class="webhook-test-result failed" data-testid="webhook-test-result" data-success="false">
      ${outcome.error.message || String(outcome.error)}</span>`;
  }
  const r = outcome.result || {};
  const status = r.response_status !== undefined ? `HTTP ${r.response_status}` : "";
  return html`<span class=${"webhook-test-result " + (r.success ? "ok" : "failed")} data-testid="webhook-test-result"
      data-success=${r.success ? "true" : "false"} data-response-status=${r.response_status ?? ""}>
    ${r.success ? "✓ delivered" : "✗ failed"}${status ? html` · <span>${status}</span>` : null}${r.error_message
      ? html` · <span class="webhook-test-error">${r.error_message}</span>`
      : null}
  </span>`;
}

function WebhookRow({ w, selected, outcome, busy, onSelect, onToggle, onTest, onDelete }) {
  const active = w.status === "ACTIVE";
  return html`<tr data-testid="webhook-row" data-webhook-id=${w.webhook_id} data-name=${w.name} data-status=${w.status}
      class=${selected ? "selected" : ""} aria-selected=${selected ? "true" : "false"}>
    <td class="webhook-name">
      <button type="button" class="link-button" data-testid="webhook-select" onClick=${onSelect}
        title="Show its delivery log">${w.name}</button>
      ${w.description ? html`<div class="muted webhook-description" data-testid="webhook-description">${w.description}</div>` : null}
    </td>
    <td class="webhook-url"><code title=${w.url} data-testid="webhook-url">${w.url}</code></td>
    <td class="webhook-events-cell"><${Events} events=${w.cairn_events} /></td>
    <td data-testid="webhook-secret">${w.has_secret ? "set" : html`<span class="muted">not set</span>`}</td>
    <td class="webhook-status-cell">
      <span class=${"badge " + (active ? "status-finished" : "")} data-testid="webhook-status">${active ? "active" : "disabled"}</span>
      <button type="button" class="small" data-testid="webhook-toggle" disabled=${busy} onClick=${onToggle}>
        ${active ? "Disable" : "Enable"}</button>
    </td>
    <td title=${formatTime(w.creation_timestamp)}>${formatTime(w.creation_timestamp)}</td>
    <td class="webhook-actions">
      <button type="button" class="small" data-testid="webhook-test" disabled=${busy || (outcome && outcome.busy)} onClick=${onTest}>Send test</button>
      <button type="button" class="small" data-testid="webhook-log" onClick=${onSelect}>Deliveries</button>
      <button type="button" class="small danger" data-testid="webhook-delete" disabled=${busy} onClick=${onDelete}>Delete</button>
      <div><${TestResult} outcome=${outcome} /></div>
    </td>
  </tr>`;
}

function DeleteWebhookDialog({ w, onDone, onCancel }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const confirm = async () => {
    setBusy(true);
    try {
      await webhooks.delete(w.webhook_id);
      onDone();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<${Dialog} title="Delete webhook" confirmLabel="Delete" danger busy=${busy} testid="webhook-delete-dialog"
      onConfirm=${confirm} onCancel=${onCancel}>
    <p>Delete <strong data-testid="webhook-delete-name">${w.name}</strong>? <code>${w.url}</code> gets no more events,
      and the webhook's delivery log goes with it. This cannot be undone.</p>
    <${ErrorBox} error=${error} />
  <//>`;
}

export default function WebhooksPage() {
  const [selectedId, setSelectedId] = useQueryParam("webhook", "");
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState(null);
  const [busyId, setBusyId] = useState(null);
  const [actionError, setActionError] = useState(null);
  const [tests, setTests] = useState({}); // webhook id -> {busy} | {result} | {error}
  const [pings, setPings] = useState(0); // bumped after a test ping: the log reloads
  useEffect(() => {
    document.title = "Webhooks · cairn";
    return () => {
      document.title = "cairn";
    };
  }, []);
  const pages = usePages(
    (token) =>
      webhooks
        .list({ maxResults: PAGE_SIZE, pageToken: token })
        .then((r) => ({ items: r.webhooks || [], next: r.next_page_token })),
    [],
  );

  const toggle = async (w) => {
    setBusyId(w.webhook_id);
    try {
      await webhooks.setStatus(w.webhook_id, w.status === "ACTIVE" ? "DISABLED" : "ACTIVE");
      setActionError(null);
      pages.reload();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusyId(null);
    }
  };
  const test = async (w) => {
    const id = w.webhook_id;
    setTests((t) => ({ ...t, [id]: { busy: true } }));
    try {
      const answer = await webhooks.test(id);
      setTests((t) => ({ ...t, [id]: { result: answer.result } }));
    } catch (e) {
      setTests((t) => ({ ...t, [id]: { error: e } }));
    }
    setPings((n) => n + 1);
  };

  const items = pages.items;
  const listed = items.find((w) => w.webhook_id === selectedId) || null;
  // A linked webhook not on the loaded pages of the list is read by itself.
  const unlisted = !!selectedId && pages.loaded && !listed;
  const single = useAsync(() => (unlisted ? webhooks.get(selectedId) : Promise.resolve(null)), [unlisted ? selectedId : ""]);
  // Not while `single` is loading or failed: its data then is still the previous selection's.
  const selected = listed || (unlisted && !single.loading && !single.error ? single.data : null);
  const ready = pages.loaded && !pages.loading;
  return html`<div class="page registry-page webhooks-page" data-testid="webhooks-page" data-ready=${ready ? "true" : "false"}>
    <div class="toolbar">
      <h1>Webhooks</h1>
      <span class="spacer"></span>
      ${creating ? null : html`<button type="button" class="primary" data-testid="webhook-new" onClick=${() => setCreating(true)}>New webhook</button>`}
    </div>
    <p class="muted webhooks-intro">A webhook POSTs the registry's events (models and versions created, tagged,
      aliased, moved, deleted) as JSON to a URL, signed with its secret if it has one. Failed deliveries are retried.</p>
    ${creating
      ? html`<${WebhookForm} onCancel=${() => setCreating(false)}
          onCreated=${(w) => { setCreating(false); pages.reload(); setSelectedId(w.webhook_id); }} />`
      : null}
    <${ErrorBox} error=${pages.error || actionError} />
    ${!pages.loaded && !pages.error ? html`<${Spinner} label="Loading webhooks" />` : null}
    ${pages.loaded && !items.length ? html`<p class="muted" data-testid="webhooks-empty">No webhooks yet.</p>` : null}
    ${items.length
      ? html`<div class="registry-table-wrap"><table class="grid webhooks-table" data-testid="webhooks-table">
          <thead><tr><th>Name</th><th>URL</th><th>Events</th><th>Secret</th><th>Status</th><th>Created</th><th></th></tr></thead>
          <tbody>${items.map(
            (w) => html`<${WebhookRow} key=${w.webhook_id} w=${w} selected=${w.webhook_id === selectedId}
              outcome=${tests[w.webhook_id]} busy=${busyId === w.webhook_id}
              onSelect=${() => setSelectedId(w.webhook_id)} onToggle=${() => toggle(w)} onTest=${() => test(w)}
              onDelete=${() => setDeleting(w)} />`,
          )}</tbody>
        </table></div>`
      : null}
    <${LoadMore} pages=${pages} testid="webhooks-load-more" label="More webhooks" />
    ${unlisted ? html`<${ErrorBox} error=${single.error} />` : null}
    ${selected ? html`<${DeliveryLog} key=${selected.webhook_id} webhook=${selected} refreshKey=${pings} />` : null}
    ${deleting
      ? html`<${DeleteWebhookDialog} w=${deleting} onCancel=${() => setDeleting(null)}
          onDone=${() => {
            if (deleting.webhook_id === selectedId) setSelectedId("");
            setDeleting(null);
            pages.reload();
          }} />`
      : null}
  </div>`;
}
