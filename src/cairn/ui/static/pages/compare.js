// #/compare?runs=a,b,c,...: what differs between runs (a diff table), how params relate to
// metrics (a scatter plot and parallel coordinates) and every metric's history (one chart per
// metric key, every run overlaid).
//
// A few hundred runs x ten metrics must stay fast: charts are only built when scrolled near the
// viewport (MetricChart's `lazy`), and each reads downsampled series only. The page element's
// data-ready is "true" once every chart in the viewport has painted (tests, benchmarks).

import {
  html, useAsync, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, href, ErrorBox, Spinner,
} from "../lib.js";
import { MetricChart } from "../components/metric-chart.js";
import { ChartOptions, useChartOptions } from "../components/chart-controls.js";
import { DiffTable } from "../components/chart-diff-table.js";
import { ScatterPlot } from "../components/chart-scatter.js";
import { ParallelCoords } from "../components/chart-parallel.js";
import { loadRuns, parseRunIds, runFields, runName, dimensionsOf } from "../components/chart-runs.js";

const CHART_HEIGHT = 240;
const LIVE_CHARTS_MS = 3000; // while a run is RUNNING, charts refetch this often
const LIVE_RUNS_MS = 10000; // and the runs (diff table, plots) this often

/**
 * Sets `root.dataset.ready`: loaded, and no chart in the viewport is still waiting for data.
 * Returns a function that schedules the check for the next frame: charts report each paint, and
 * one layout read per frame is cheaper than one per chart.
 */
function useReadiness(root, loaded) {
  const frame = useRef(0);
  // The check runs a frame later: it must see `loaded` as it is then, not as it was when the
  // frame was requested (a frame asked for before the data came would otherwise say "false"
  // after it came, and nothing below the fold would paint to ask again).
  const isLoaded = useRef(loaded);
  isLoaded.current = loaded;
  // Not loaded (other runs asked for, their answer still to come): say so in the commit that
  // shows it, not a frame later, so the previous runs' view is never taken for these runs'.
  useLayoutEffect(() => {
    if (!loaded && root.current) root.current.dataset.ready = "false";
  }, [loaded]);
  const check = useCallback(() => {
    const el = root.current;
    if (!el) return;
    let ready = isLoaded.current;
    if (ready) {
      const bottom = window.innerHeight;
      for (const chart of el.querySelectorAll('[data-testid="metric-chart"]')) {
        const r = chart.getBoundingClientRect();
        if (r.bottom > 0 && r.top < bottom && chart.dataset.ready !== "true") {
          ready = false;
          break;
        }
      }
    }
    el.dataset.ready = ready ? "true" : "false";
  }, []);
  const later = useCallback(() => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      check();
    });
  }, [check]);
  useEffect(() => {
    later();
    window.addEventListener("scroll", later, { capture: true, passive: true });
    window.addEventListener("resize", later);
    return () => {
      window.removeEventListener("scroll", later, { capture: true });
      window.removeEventListener("resize", later);
    };
  });
  useEffect(() => () => cancelAnimationFrame(frame.current), []);
  return later;
}

export default function ComparePage({ route }) {
  const ids = parseRunIds(route.query.get("runs"));
  const options = useChartOptions();
  const [live, setLive] = useState(false);
  const { data, error, loading } = useAsync(() => loadRuns(ids), [ids.join(",")], {
    intervalMs: live ? LIVE_RUNS_MS : 0,
  });
  const root = useRef(null);
  // `loading` is true from the render in which the ids change: `data` is still the old ids' then.
  const check = useReadiness(root, !!data && !loading);

  const entries = useMemo(
    () =>
      (data ? data.runs : []).map((run) => ({
        runId: run.info.run_id,
        name: runName(run),
        run,
        fields: runFields(run),
      })),
    [data],
  );
  const dims = useMemo(() => dimensionsOf(entries), [entries]);
  const chartRuns = useMemo(() => entries.map((e) => ({ runId: e.runId, name: e.name })), [entries]);
  const metricKeys = useMemo(() => {
    const keys = new Set();
    for (const e of entries) for (const k of Object.keys(e.fields.metrics)) keys.add(k);
    return [...keys].sort();
  }, [entries]);
  const anyRunning = entries.some((e) => e.run.info.status === "RUNNING");
  useEffect(() => setLive(anyRunning), [anyRunning]);

  if (!ids.length) {
    return html`<div class="page"><h1>Compare runs</h1>
      <p class="muted">No runs chosen: select runs in a runs table and press Compare.</p></div>`;
  }
  return html`<div class="page compare-page" data-testid="compare-page" ref=${root}>
    <h1>Compare ${ids.length} runs</h1>
    ${error ? html`<${ErrorBox} error=${error} />` : null}
    ${!data && !error ? html`<${Spinner} />` : null}
    ${data && data.missing.length
      ? html`<p class="muted" data-testid="missing-runs">Not found: ${data.missing.join(", ")}</p>`
      : null}
    ${data
      ? html`
        <${DiffTable} runs=${entries} />
        <div class="plot-row">
          <${ScatterPlot} runs=${chartRuns} dims=${dims} />
          <${ParallelCoords} runs=${chartRuns} dims=${dims} />
        </div>
        <section class="compare-charts">
          <div class="toolbar"><h2>Metrics</h2><${ChartOptions} options=${options} /></div>
          ${metricKeys.length === 0 ? html`<p class="muted">These runs have no metrics.</p>` : null}
          <div class="chart-grid">
            ${metricKeys.map(
              (key) => html`<${MetricChart} key=${key} lazy=${true} runs=${chartRuns} metricKey=${key}
                title=${html`<a href=${href("/metric", {
                  runs: ids.join(","),
                  key,
                  x: options.xAxis === "step" ? "" : options.xAxis,
                  smooth: options.smoothing || "",
                  log: options.logY ? "1" : "",
                })}>${key}</a>`}
                xAxis=${options.xAxis} smoothing=${options.smoothing} logY=${options.logY}
                height=${CHART_HEIGHT} liveMs=${anyRunning ? LIVE_CHARTS_MS : 0} onPaint=${check} />`,
            )}
          </div>
        </section>`
      : null}
  </div>`;
}
