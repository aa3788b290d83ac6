// The compare page's diff table: one column per run, one row per attribute, param, latest
// metric and tag; rows whose values are not all equal are highlighted, and can be shown alone.

import {
  html, useMemo, useQueryParam, runColor, formatValue, formatTime, formatDuration, runHref,
} from "../lib.js";

function rowsOf(entries) {
  const { runs } = entries;
  const keysOf = (pick) => {
    const keys = new Set();
    for (const r of runs) for (const k of Object.keys(pick(r))) keys.add(k);
    return [...keys].sort();
  };
  const row = (section, key, label, cell) => {
    const values = runs.map(cell);
    const text = values.map((v) => (v === undefined || v === null ? "" : String(v)));
    return { section, key, label, values, differs: text.some((t) => t !== text[0]) };
  };
  const sections = [
    {
      name: "Run",
      rows: [
        row("Run", "attributes.status", "Status", (r) => r.run.info.status),
        row("Run", "attributes.start_time", "Started", (r) => formatTime(r.run.info.start_time)),
        row("Run", "attributes.duration", "Duration", (r) =>
          formatDuration(r.run.info.start_time, r.run.info.end_time),
        ),
      ],
    },
    {
      name: "Parameters",
      rows: keysOf((r) => r.fields.params).map((k) =>
        row("Parameters", "params." + k, k, (r) => r.fields.params[k]),
      ),
    },
    {
      name: "Metrics (latest)",
      rows: keysOf((r) => r.fields.metrics).map((k) =>
        row("Metrics (latest)", "metrics." + k, k, (r) => r.fields.metrics[k]),
      ),
    },
    {
      name: "Tags",
      rows: keysOf((r) => userTags(r.fields.tags)).map((k) =>
        row("Tags", "tags." + k, k, (r) => r.fields.tags[k]),
      ),
    },
  ];
  return sections.filter((s) => s.rows.length);
}

/** Tags a person set: the `mlflow.*` system tags are shown elsewhere (run page). */
function userTags(tags) {
  const out = {};
  for (const [k, v] of Object.entries(tags)) if (!k.startsWith("mlflow.")) out[k] = v;
  return out;
}

function cellText(v) {
  if (v === undefined || v === null) return "";
  return typeof v === "number" ? formatValue(v) : String(v);
}

/** Props: runs ([{runId, name, run, fields}]). */
export function DiffTable({ runs }) {
  const [only, setOnly] = useQueryParam("diffonly", "");
  const onlyDiffs = only === "1";
  const sections = useMemo(() => rowsOf({ runs }), [runs]);
  const differing = sections.reduce((n, s) => n + s.rows.filter((r) => r.differs).length, 0);
  const total = sections.reduce((n, s) => n + s.rows.length, 0);
  return html`<section class="diff-section">
    <div class="toolbar">
      <h2>Differences</h2>
      <label class="check">
        <input type="checkbox" data-testid="diff-only" checked=${onlyDiffs}
          onChange=${(e) => setOnly(e.currentTarget.checked ? "1" : "")} />
        Only differences
      </label>
      <span class="muted">${differing} of ${total} rows differ</span>
    </div>
    <div class="diff-scroll">
      <table class="grid diff-table" data-testid="diff-table">
        <thead><tr>
          <th class="corner" scope="col"><span class="muted">${runs.length} runs</span></th>
          ${runs.map(
            (r) => html`<th scope="col" data-testid="diff-run-header" data-run-id=${r.runId}
              style=${{ borderTopColor: runColor(r.runId) }}>
              <span class="swatch" style=${{ background: runColor(r.runId) }}></span>
              <a href=${runHref(r.runId)} title=${r.name}>${r.name}</a>
            </th>`,
          )}
        </tr></thead>
        ${sections.map((section) => {
          const rows = onlyDiffs ? section.rows.filter((r) => r.differs) : section.rows;
          if (!rows.length) return null;
          return html`<tbody>
            <tr class="section-row">
              <th scope="rowgroup" colspan=${runs.length + 1}>${section.name}</th>
            </tr>
            ${rows.map(
              (row) => html`<tr data-testid="diff-row" data-key=${row.key}
                  class=${row.differs ? "diff" : ""} data-differs=${row.differs ? "true" : "false"}>
                <th scope="row" title=${row.key}>${row.label}</th>
                ${row.values.map((v) => {
                  const text = cellText(v);
                  return html`<td title=${text}>${text}</td>`;
                })}
              </tr>`,
            )}
          </tbody>`;
        })}
      </table>
    </div>
  </section>`;
}
