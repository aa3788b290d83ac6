// One webhook's delivery log (cairn's /webhooks/deliveries), newest first, page by page: when,
// which event (a test ping has no registry event behind it), the outcome, attempts, the
// receiver's status, the error and when the next attempt is due. Deliveries go out (and are
// retried) in the background, so while one shown is still pending, and only the first page is
// shown (a reload would fold older pages away), the log reloads itself every few seconds; new
// deliveries of later events appear on "Refresh". A "Send test" is logged before its answer
// comes back, and the page then reloads the log (`refreshKey`).

import { html, formatTime, ErrorBox, Spinner } from "../lib.js";
import { webhooks } from "../api.js";
import { Section } from "./run-common.js";
import { usePages, LoadMore } from "./registry-common.js";

const PAGE_SIZE = 25;
const REFRESH_MS = 2000;

const STATUS_CLASS = { SUCCEEDED: "status-finished", FAILED: "status-failed", PENDING: "status-scheduled" };

function DeliveryRow({ d }) {
  const test = d.event_id === undefined || d.event_id === null;
  return html`<tr data-testid="delivery-row" data-delivery-id=${d.delivery_id} data-status=${d.status}
      data-event=${d.event} data-test=${test ? "true" : "false"}>
    <td title=${formatTime(d.creation_timestamp)}>${formatTime(d.creation_timestamp)}</td>
    <td><code>${d.event}</code>${test ? html` <span class="badge" title="Sent by “Send test”">test</span>` : null}</td>
    <td><span class=${"badge " + (STATUS_CLASS[d.status] || "")} data-testid="delivery-status">${d.status.toLowerCase()}</span></td>
    <td class="num" data-testid="delivery-attempts">${d.attempts}</td>
    <td class="num" data-testid="delivery-response">${d.response_status ?? html`<span class="muted">—</span>`}</td>
    <td class="delivery-error" title=${d.error || ""} data-testid="delivery-error">${d.error || ""}</td>
    <td>${formatTime(d.last_attempt_timestamp)}</td>
    <td data-testid="delivery-next">${d.status === "PENDING" ? formatTime(d.next_attempt_timestamp) : ""}</td>
    <td><details class="delivery-payload"><summary>payload</summary><pre>${pretty(d.payload)}</pre></details></td>
  </tr>`;
}

function pretty(payload) {
  try {
    return JSON.stringify(JSON.parse(payload), null, 2);
  } catch {
    return String(payload || "");
  }
}

/** The log of `webhook`; bump `refreshKey` to reload it at once (after a test ping). */
export function DeliveryLog({ webhook, refreshKey }) {
  const id = webhook.webhook_id;
  const pages = usePages(
    (token) =>
      webhooks
        .deliveries({ webhookId: id, maxResults: PAGE_SIZE, pageToken: token })
        .then((r) => ({ items: r.deliveries || [], next: r.next_page_token })),
    [id, refreshKey],
    { intervalMs: ({ items, extended }) => (!extended && items.some((d) => d.status === "PENDING") ? REFRESH_MS : 0) },
  );
  const items = pages.items;
  const refresh = html`<button type="button" class="small" data-testid="deliveries-refresh" onClick=${pages.reload}
    disabled=${pages.loading}>Refresh</button>`;
  return html`<${Section} title=${html`Deliveries to <span data-testid="deliveries-name">${webhook.name}</span>`}
      count=${pages.loaded ? items.length + (pages.next ? "+" : "") : undefined} actions=${refresh}
      testid="webhook-deliveries" className="webhook-deliveries">
    <div data-testid="deliveries-body" data-webhook-id=${id} data-ready=${pages.loaded && !pages.loading ? "true" : "false"}>
      <${ErrorBox} error=${pages.error} />
      ${!pages.loaded && !pages.error ? html`<${Spinner} label="Loading deliveries" />` : null}
      ${pages.loaded && !items.length
        ? html`<p class="muted" data-testid="deliveries-empty">Nothing sent yet. Deliveries appear here when a subscribed event
            happens, or after “Send test”.</p>`
        : null}
      ${items.length
        ? html`<div class="registry-table-wrap"><table class="grid deliveries-table" data-testid="deliveries-table">
            <thead><tr>
              <th>Time</th><th>Event</th><th>Status</th><th class="num">Attempts</th><th class="num">Response</th>
              <th>Error</th><th>Last attempt</th><th>Next attempt</th><th></th>
            </tr></thead>
            <tbody>${items.map((d) => html`<${DeliveryRow} key=${d.delivery_id} d=${d} />`)}</tbody>
          </table></div>`
        : null}
      <${LoadMore} pages=${pages} testid="deliveries-load-more" label="Older deliveries" />
    </div>
  <//>`;
}
