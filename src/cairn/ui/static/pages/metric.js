// #/metric?runs=a,b&key=loss[&x=step|wall|relative&smooth=0.6&log=1]: one metric of some runs,
// as a large chart. Every option is in the URL, so the view is a link. While a run is RUNNING
// the chart and the run list refresh every few seconds.

import {
  html, useAsync, useEffect, useQueryParam, useState, runColor, href, StatusBadge, ErrorBox, Spinner, runHref,
} from "../lib.js";
import { MetricChart } from "../components/metric-chart.js";
import { ChartOptions, useChartOptions } from "../components/chart-controls.js";
import { loadRuns, parseRunIds, runName } from "../components/chart-runs.js";

const LIVE_MS = 3000;

/** A chart height that fills the window, re-measured on resize. */
function useChartHeight(reserved, min, max) {
  const measure = () => Math.max(min, Math.min(max, window.innerHeight - reserved));
  const [height, setHeight] = useState(measure);
  useEffect(() => {
    const onResize = () => setHeight(measure());
    window.addEventListener("resize", onResize);
    return () => window.removeEventListener("resize", onResize);
  }, []); // eslint-disable-line
  return height;
}

function metricKeysOf(runs) {
  const keys = new Set();
  for (const run of runs) for (const m of run.data?.metrics || []) keys.add(m.key);
  return [...keys].sort();
}

export default function MetricPage({ route }) {
  const ids = parseRunIds(route.query.get("runs"));
  const [key, setKey] = useQueryParam("key", "");
  const options = useChartOptions();
  const [live, setLive] = useState(false);
  const height = useChartHeight(300, 280, 1100);
  const { data, error } = useAsync(() => loadRuns(ids), [ids.join(",")], {
    intervalMs: live ? LIVE_MS : 0,
  });
  const runs = data ? data.runs : [];
  const anyRunning = runs.some((r) => r.info.status === "RUNNING");
  useEffect(() => setLive(anyRunning), [anyRunning]);
  const keys = metricKeysOf(runs);
  const metricKey = key || keys[0] || "";

  if (!ids.length) {
    return html`<div class="page"><h1>Metric</h1>
      <p class="muted">No runs chosen: open a run's metric, or select runs in a runs table.</p></div>`;
  }
  if (error && !data) return html`<div class="page"><${ErrorBox} error=${error} /></div>`;
  if (!data) return html`<div class="page"><${Spinner} /></div>`;

  const chartRuns = runs.map((r) => ({ runId: r.info.run_id, name: runName(r) }));
  const pickerKeys = metricKey && !keys.includes(metricKey) ? [metricKey, ...keys] : keys;
  return html`<div class="page metric-page" data-testid="metric-page">
    <div class="page-head">
      <h1>${metricKey || "Metric"}</h1>
      <label>Metric
        <select data-testid="metric-picker" value=${metricKey}
          onChange=${(e) => setKey(e.currentTarget.value)}>
          ${pickerKeys.map((k) => html`<option value=${k}>${k}</option>`)}
        </select>
      </label>
      ${runs.length > 1
        ? html`<a class="button" href=${href("/compare", { runs: ids.join(",") })}>Compare these runs</a>`
        : null}
      ${anyRunning
        ? html`<span class="badge status-running live-badge" title="Refreshing every few seconds">
            live</span>`
        : null}
    </div>
    ${error ? html`<${ErrorBox} error=${error} />` : null}
    ${data.missing.length
      ? html`<p class="muted">Not found: ${data.missing.join(", ")}</p>`
      : null}
    <${ChartOptions} options=${options} />
    ${metricKey
      ? html`<${MetricChart} runs=${chartRuns} metricKey=${metricKey} xAxis=${options.xAxis}
          smoothing=${options.smoothing} logY=${options.logY} height=${height}
          liveMs=${anyRunning ? LIVE_MS : 0} />`
      : html`<p class="muted">These runs have no metrics.</p>`}
    <ul class="run-chips">
      ${runs.map(
        (r) => html`<li>
          <span class="swatch" style=${{ background: runColor(r.info.run_id) }}></span>
          <a href=${runHref(r.info.run_id)}>${runName(r)}</a>
          <${StatusBadge} status=${r.info.status} />
        </li>`,
      )}
    </ul>
  </div>`;
}
