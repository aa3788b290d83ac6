// The chart options a view keeps in its URL (x axis, smoothing, log scale): the controls and the
// hook that reads and writes them, shared by the metric page and the compare page.

import { html, useQueryParam } from "../lib.js";
import { X_AXES } from "./chart-data.js";

/** {xAxis, smoothing, logY} from the URL (`x`, `smooth`, `log`) and their setters. */
export function useChartOptions() {
  const [x, setX] = useQueryParam("x", "step");
  const [smooth, setSmooth] = useQueryParam("smooth", "0");
  const [log, setLog] = useQueryParam("log", "");
  const xAxis = X_AXES.some((a) => a.value === x) ? x : "step";
  const parsed = Number(smooth);
  const smoothing = Number.isFinite(parsed) ? Math.min(0.99, Math.max(0, parsed)) : 0;
  return {
    xAxis,
    smoothing,
    logY: log === "1",
    setXAxis: setX,
    setSmoothing: (v) => setSmooth(v > 0 ? String(v) : "0"),
    setLogY: (on) => setLog(on ? "1" : ""),
  };
}

/** The controls for useChartOptions' state: a select, a slider and a checkbox. */
export function ChartOptions({ options }) {
  const { xAxis, smoothing, logY, setXAxis, setSmoothing, setLogY } = options;
  return html`<div class="chart-options toolbar">
    <label>X axis
      <select data-testid="x-axis-select" value=${xAxis}
        onChange=${(e) => setXAxis(e.currentTarget.value)}>
        ${X_AXES.map((a) => html`<option value=${a.value}>${a.label}</option>`)}
      </select>
    </label>
    <label class="smoothing">Smoothing
      <input type="range" min="0" max="0.99" step="0.01" value=${smoothing}
        data-testid="smoothing" aria-valuetext=${String(smoothing)}
        onInput=${(e) => setSmoothing(Number(e.currentTarget.value))} />
      <output>${smoothing.toFixed(2)}</output>
    </label>
    <label class="check">
      <input type="checkbox" data-testid="log-scale" checked=${logY}
        onChange=${(e) => setLogY(e.currentTarget.checked)} />
      Log scale
    </label>
    <span class="muted hint">Drag on a chart to zoom, double-click to reset.</span>
  </div>`;
}
