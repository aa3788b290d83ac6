// Numbers behind the charts, kept apart from any drawing so each piece stays small: the
// downsampled-series request, smoothing, nearest-point search, axis ranges and tick labels.

import { cairn } from "../api.js";
import { formatTime, formatValue } from "../lib.js";

/** The x axes a metric can be drawn against (the endpoint's `x_axis` values). */
export const X_AXES = [
  { value: "step", label: "Step" },
  { value: "wall", label: "Wall time" },
  { value: "relative", label: "Relative time" },
];

const MAX_RUNS_PER_REQUEST = 1000; // the endpoint's limit on run_ids

/**
 * Min/max-downsampled series of `metricKey` for `runIds` over [xMin, xMax] (null = the whole
 * series) at `buckets` buckets: the only way the charts read metric histories, so a 10^6-point
 * series costs a chart no more than its width in points.
 */
export async function fetchDownsampled({ runIds, metricKey, xAxis, xMin, xMax, buckets, signal }) {
  const chunks = [];
  for (let i = 0; i < runIds.length; i += MAX_RUNS_PER_REQUEST) {
    chunks.push(runIds.slice(i, i + MAX_RUNS_PER_REQUEST));
  }
  const answers = await Promise.all(
    chunks.map((ids) =>
      cairn.post(
        "metrics/downsample",
        {
          run_ids: ids,
          metric_key: metricKey,
          x_axis: xAxis,
          x_min: xMin ?? null,
          x_max: xMax ?? null,
          buckets: Math.max(1, Math.min(10000, Math.round(buckets))),
        },
        { signal },
      ),
    ),
  );
  return answers.flatMap((a) => a.series || []);
}

/** y values as numbers or null (a gap); the endpoint already sends non-finite values as null. */
export function cleanValues(ys, positiveOnly) {
  const out = new Array(ys.length);
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    out[i] = typeof v === "number" && Number.isFinite(v) && (!positiveOnly || v > 0) ? v : null;
  }
  return out;
}

/**
 * Exponential moving average with TensorBoard's debiasing (the first points are not dragged
 * towards zero). `weight` in [0, 1): 0 returns the values as they are. Gaps stay gaps.
 */
export function smoothEma(ys, weight) {
  if (!(weight > 0)) return ys;
  const out = new Array(ys.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    if (v === null) {
      out[i] = null;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    n += 1;
    out[i] = last / (1 - Math.pow(weight, n));
  }
  return out;
}

/** Index of the x in sorted `xs` nearest to `x` (-1 when `xs` is empty). */
export function nearestIndex(xs, x) {
  const n = xs.length;
  if (n === 0) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(xs[lo - 1] - x) <= Math.abs(xs[lo] - x)) return lo - 1;
  return lo;
}

/** [min, max] of the non-null `ys` whose x lies in [x0, x1], over several series (or null). */
export function visibleExtent(seriesList, x0, x1) {
  let min = Infinity;
  let max = -Infinity;
  for (const { x, y } of seriesList) {
    for (let i = 0; i < x.length; i++) {
      const v = y[i];
      if (v === null || x[i] < x0 || x[i] > x1) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return min <= max ? [min, max] : null;
}

/** A y range around [min, max] with a little air, on a linear or a log10 scale. */
export function paddedRange(extent, log) {
  if (!extent) return log ? [1, 10] : [0, 1];
  let [min, max] = extent;
  if (log) {
    const lo = Math.log10(min);
    const hi = Math.log10(max);
    const pad = Math.max((hi - lo) * 0.05, 0.05);
    return [Math.pow(10, lo - pad), Math.pow(10, hi + pad)];
  }
  if (min === max) {
    const d = min === 0 ? 1 : Math.abs(min) * 0.1;
    return [min - d, max + d];
  }
  const pad = (max - min) * 0.05;
  return [min - pad, max + pad];
}

/** Seconds as a short duration for the relative-time axis: "45 s", "3m20s", "5m", "2h05m". */
export function formatSeconds(s) {
  if (!Number.isFinite(s)) return "";
  const sign = s < 0 ? "-" : "";
  s = Math.abs(s);
  if (s < 60) return sign + Number(s.toPrecision(3)) + " s";
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const rest = Math.floor(s - m * 60);
    return `${sign}${m}m` + (rest ? String(rest).padStart(2, "0") + "s" : "");
  }
  const h = Math.floor(s / 3600);
  const m = Math.floor((s - h * 3600) / 60);
  return `${sign}${h}h` + (m ? String(m).padStart(2, "0") + "m" : "");
}

/** Tick spacings (seconds) a person reads as round durations, for the relative-time axis. */
export const DURATION_INCREMENTS = [
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600,
  900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600, 2592000,
];

/** A compact axis label for a step count: 950, 12.5k, 3M. */
export function formatStep(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return Number((v / 1e9).toPrecision(3)) + "G";
  if (a >= 1e6) return Number((v / 1e6).toPrecision(3)) + "M";
  if (a >= 1e4) return Number((v / 1e3).toPrecision(3)) + "k";
  return formatValue(v);
}

/** An x value as the hover legend shows it, for the chart's x axis. */
export function formatX(x, xAxis) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "";
  if (xAxis === "wall") return formatTime(x);
  if (xAxis === "relative") return formatSeconds(x);
  return "step " + formatValue(Math.round(x));
}

/** About `count` round tick values covering [min, max] (for the SVG plots). */
export function niceTicks(min, max, count = 5) {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const span = max - min;
  const raw = span / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const ticks = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

/** A CSS variable of the current theme (charts draw on canvas, which cannot use var()). */
export function cssVar(name, fallback = "#888") {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}
