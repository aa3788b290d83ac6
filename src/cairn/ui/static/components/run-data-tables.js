// The run's parameters and latest metrics as tables, each with a search box once it is long.

import { html, useState, href, formatTime, formatValue } from "../lib.js";
import { Section } from "./run-common.js";

const SEARCH_FROM = 10;

function matches(query, ...fields) {
  if (!query) return true;
  const q = query.toLowerCase();
  return fields.some((f) => String(f).toLowerCase().includes(q));
}

function SearchBox({ value, onInput, label, testid }) {
  return html`<input type="search" class="run-table-search" placeholder=${"Search " + label}
    aria-label=${"Search " + label} value=${value} data-testid=${testid}
    onInput=${(e) => onInput(e.currentTarget.value)} />`;
}

function byKey(a, b) {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function ParamsTable({ params }) {
  const [query, setQuery] = useState("");
  const all = [...params].sort(byKey);
  const shown = all.filter((p) => matches(query, p.key, p.value));
  return html`<${Section} title="Parameters" count=${all.length} testid="run-params"
      actions=${all.length > SEARCH_FROM ? html`<${SearchBox} value=${query} onInput=${setQuery} label="parameters" testid="params-search" />` : null}>
    ${all.length === 0
      ? html`<p class="muted">No parameters.</p>`
      : html`<div class="run-table-wrap"><table class="grid run-kv">
          <thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr></thead>
          <tbody>
            ${shown.map((p) => html`<tr key=${p.key} data-testid="param-row" data-key=${p.key}>
              <td class="kv-key" title=${p.key}>${p.key}</td><td class="kv-value">${p.value}</td></tr>`)}
          </tbody>
        </table></div>
        ${shown.length === 0 ? html`<p class="muted">No parameter matches “${query}”.</p>` : null}`}
  <//>`;
}

export function MetricsTable({ runId, metrics }) {
  const [query, setQuery] = useState("");
  const all = [...metrics].sort(byKey);
  const shown = all.filter((m) => matches(query, m.key));
  return html`<${Section} title="Metrics" count=${all.length} testid="run-metrics"
      actions=${all.length > SEARCH_FROM ? html`<${SearchBox} value=${query} onInput=${setQuery} label="metrics" testid="metrics-search" />` : null}>
    ${all.length === 0
      ? html`<p class="muted">No metrics.</p>`
      : html`<div class="run-table-wrap"><table class="grid run-metrics-table">
          <thead><tr><th scope="col">Name</th><th scope="col" class="num" title="The latest value logged">Value</th>
            <th scope="col" class="num">Step</th><th scope="col">Logged at</th></tr></thead>
          <tbody>
            ${shown.map((m) => html`<tr key=${m.key} data-testid="metric-row" data-key=${m.key}>
              <td class="kv-key"><a href=${href("/metric", { runs: runId, key: m.key })} title=${"Chart of " + m.key}>${m.key}</a></td>
              <td class="num" title=${String(m.value)}>${formatValue(m.value)}</td>
              <td class="num">${m.step}</td>
              <td>${formatTime(m.timestamp)}</td></tr>`)}
          </tbody>
        </table></div>
        ${shown.length === 0 ? html`<p class="muted">No metric matches “${query}”.</p>` : null}`}
  <//>`;
}
