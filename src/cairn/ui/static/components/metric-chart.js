// MetricChart: one metric of one or many runs as a uPlot line chart.
//
// The chart never holds a whole history. It asks `metrics/downsample` for min/max buckets about
// as many as it is pixels wide - the whole range on first paint, then just the visible range
// after each zoom - so a 10^6-point series costs a few thousand points at every zoom level and
// no spike is lost. Superseded requests are aborted; refetches caused by resizing are debounced.
//
// uPlot runs in its "faceted" mode (mode 2): every run keeps its own x values, so runs logged
// at different steps or times need no joined x array (which would cost runs x points cells).
// Scales are set explicitly (x = zoom window or the series' extent, y = what is visible).
//
// For tests and benchmarks the root element carries data-ready, data-render-count and
// data-points (see the UI brief), and `element.__chartData` holds what is drawn.

import uPlot from "uplot";
import { html, useEffect, useLayoutEffect, useRef, useState, runColor, formatValue, runHref } from "../lib.js";
import {
  fetchDownsampled,
  cleanValues,
  smoothEma,
  nearestIndex,
  visibleExtent,
  paddedRange,
  formatSeconds,
  formatX,
  formatStep,
  DURATION_INCREMENTS,
  cssVar,
} from "./chart-data.js";

const RESIZE_REFETCH_MS = 250;
const KEY_ZOOM_DEBOUNCE_MS = 120;
const AXIS_FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text; // text, never markup: names are user input
  return node;
}

/** Faint version of a "#rrggbb" run color, for the raw series behind a smoothed one. */
function faint(color) {
  return /^#[0-9a-f]{6}$/i.test(color) ? color + "4d" : color;
}

/** The imperative part: owns the uPlot instance, the requests and the legend's DOM. */
class ChartController {
  constructor(root, props) {
    this.root = root;
    this.plotEl = root.querySelector(".chart-plot");
    this.statusEl = root.querySelector(".chart-status");
    this.legendEl = root.querySelector(".chart-legend");
    this.resetButton = root.querySelector(".chart-reset");
    this.props = {};
    this.plot = null;
    this.structure = null; // what the uPlot instance was built for; a change rebuilds it
    this.fetched = []; // per run, in props.runs order: {runId, x, y, total, inRange, downsampled}
    this.extent = null; // [min, max] x over the whole series of every run
    this.zoom = null; // [min, max] while zoomed
    this.fullCache = null; // the unzoomed answer, for an instant zoom reset
    this.buckets = 0;
    this.generation = 0;
    this.abort = null;
    this.renderCount = 0;
    this.countNextPaint = false;
    this.drawn = null;
    this.legendValues = [];
    this.gapCounts = [];
    this.xLabel = null;
    this.liveTimer = null;
    this.resizeTimer = null;
    this.zoomTimer = null;

    this.onTheme = () => this.draw({ rebuild: true, count: false });
    window.addEventListener("cairn-theme", this.onTheme);
    // The plot's width comes from the observer (measured during layout, so reading it forces
    // no extra layout: a compare page builds dozens of charts). The first load waits for it.
    this.plotWidth = null;
    this.pendingLoad = false;
    this.resizeObserver = new ResizeObserver((entries) =>
      this.onResize(Math.floor(entries[entries.length - 1].contentRect.width)),
    );
    this.resizeObserver.observe(this.plotEl);
    this.resetButton.addEventListener("click", () => this.resetZoom());
    this.plotEl.addEventListener("keydown", (event) => this.onKey(event));
    this.setProps(props);
  }

  destroy() {
    this.generation += 1;
    if (this.abort) this.abort.abort();
    clearInterval(this.liveTimer);
    clearTimeout(this.resizeTimer);
    clearTimeout(this.zoomTimer);
    this.resizeObserver.disconnect();
    window.removeEventListener("cairn-theme", this.onTheme);
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }

  setProps(next) {
    const prev = this.props;
    this.props = next;
    const ids = (p) => (p.runs || []).map((r) => r.runId).join(",");
    const names = (p) =>
      p.metricKey + "\u0002" + (p.runs || []).map((r) => r.runId + "\u0000" + r.name).join("\u0001");
    const dataChanged =
      ids(prev) !== ids(next) || prev.metricKey !== next.metricKey || prev.xAxis !== next.xAxis;
    if (names(prev) !== names(next)) this.buildLegend();
    if (prev.liveMs !== next.liveMs) this.setLive(next.liveMs);
    if (prev.height !== undefined && prev.height !== next.height && this.plot) {
      this.plot.setSize({ width: this.width(), height: next.height });
    }
    if (dataChanged) {
      // Other runs, metric or axis: nothing drawn so far applies any more.
      if (this.plot) this.plot.destroy();
      this.plot = null;
      this.drawn = null;
      this.zoom = null;
      this.resetButton.hidden = true;
      this.fullCache = null;
      this.fetched = [];
      this.extent = null;
      this.root.dataset.ready = "false";
      this.load();
    } else if (prev.smoothing !== next.smoothing || prev.logY !== next.logY) {
      this.draw({ count: true });
    }
  }

  setLive(ms) {
    clearInterval(this.liveTimer);
    this.liveTimer = null;
    if (ms > 0) {
      this.liveTimer = setInterval(() => {
        if (document.visibilityState === "visible" && !this.abort) this.load({ quiet: true });
      }, ms);
    }
  }

  width() {
    return Math.max(100, this.plotWidth || 600);
  }

  // ------------------------------------------------------------------------------ data

  async load({ quiet = false } = {}) {
    const { runs, metricKey, xAxis } = this.props;
    if (this.abort) this.abort.abort();
    this.abort = null;
    if (!runs.length || !metricKey) {
      this.setStatus("Nothing to draw: no runs or no metric.");
      this.root.dataset.ready = "true";
      return;
    }
    if (this.plotWidth === null) {
      this.pendingLoad = true; // until the first measurement: buckets follow the width
      return;
    }
    this.pendingLoad = false;
    const controller = new AbortController();
    this.abort = controller;
    const mine = ++this.generation;
    const zoom = this.zoom;
    const buckets = this.width();
    if (!quiet && !this.fetched.length) this.setStatus("Loading…");
    let series;
    try {
      series = await fetchDownsampled({
        runIds: runs.map((r) => r.runId),
        metricKey,
        xAxis,
        xMin: zoom ? zoom[0] : null,
        xMax: zoom ? zoom[1] : null,
        buckets,
        signal: controller.signal,
      });
    } catch (error) {
      if (mine !== this.generation || error.name === "AbortError") return;
      this.abort = null;
      this.setStatus((error.errorCode ? error.errorCode + ": " : "") + error.message, true);
      this.root.dataset.ready = "true";
      return;
    }
    if (mine !== this.generation) return;
    this.abort = null;
    this.buckets = buckets;
    const byRun = new Map(series.map((s) => [s.run_id, s]));
    this.fetched = runs.map(({ runId }) => {
      const s = byRun.get(runId) || { x: [], y: [], total_points: 0, x_extent: null };
      return {
        runId,
        x: s.x || [],
        y: s.y || [],
        total: s.total_points || 0,
        inRange: s.points_in_range ?? (s.x || []).length,
        downsampled: !!s.downsampled,
        extent: s.x_extent || null,
      };
    });
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of this.fetched) {
      const e = s.extent || (s.x.length ? [s.x[0], s.x[s.x.length - 1]] : null);
      if (e) {
        lo = Math.min(lo, e[0]);
        hi = Math.max(hi, e[1]);
      }
    }
    this.extent = lo <= hi ? [lo, hi] : null;
    if (zoom) this.fullCache = quiet ? null : this.fullCache;
    else this.fullCache = { fetched: this.fetched, extent: this.extent, buckets };
    const total = this.fetched.reduce((n, s) => n + s.total, 0);
    this.setStatus(total === 0 ? "No data for this metric." : "");
    this.draw({ count: true });
  }

  /** Zoom to [min, max]: drawn at once from the points at hand, then refetched for the range
   * (after `delayMs` when zooms come in bursts, as held-down keys make them). */
  zoomTo(min, max, delayMs = 0) {
    if (!(max > min)) return;
    this.zoom = [min, max];
    this.resetButton.hidden = false;
    this.draw({ count: false });
    clearTimeout(this.zoomTimer);
    if (delayMs > 0) this.zoomTimer = setTimeout(() => this.load(), delayMs);
    else this.load();
  }

  resetZoom() {
    if (!this.zoom) return;
    this.zoom = null;
    this.resetButton.hidden = true;
    const cache = this.fullCache;
    if (cache && Math.abs(cache.buckets - this.width()) / cache.buckets < 0.25 && !this.props.liveMs) {
      this.generation += 1; // a zoom refetch still under way is stale now
      if (this.abort) this.abort.abort();
      this.abort = null;
      this.fetched = cache.fetched;
      this.extent = cache.extent;
      this.draw({ count: true });
    } else {
      this.load();
    }
  }

  /** Keyboard zoom on the focused plot: + and - zoom, arrows pan, 0 or Escape resets. */
  onKey(event) {
    if (!this.extent || event.altKey || event.ctrlKey || event.metaKey) return;
    const [lo, hi] = this.xRange();
    const span = hi - lo;
    const [min, max] = this.extent;
    let next = null;
    if (event.key === "+" || event.key === "=") next = [lo + span / 4, hi - span / 4];
    else if (event.key === "-") next = [lo - span / 2, hi + span / 2];
    else if (event.key === "ArrowLeft") next = [lo - span / 4, hi - span / 4];
    else if (event.key === "ArrowRight") next = [lo + span / 4, hi + span / 4];
    else if (event.key === "0" || event.key === "Escape") {
      if (!this.zoom) return;
      event.preventDefault();
      this.resetZoom();
      return;
    } else return;
    event.preventDefault();
    if (next[1] - next[0] >= max - min) {
      this.resetZoom();
      return;
    }
    // Keep the window inside the series.
    if (next[0] < min) next = [min, min + (next[1] - next[0])];
    if (next[1] > max) next = [max - (next[1] - next[0]), max];
    this.zoomTo(next[0], next[1], KEY_ZOOM_DEBOUNCE_MS);
  }

  onResize(measured) {
    if (!(measured > 0)) return; // hidden
    const first = this.plotWidth === null;
    this.plotWidth = measured;
    if (first && this.pendingLoad) this.load();
    if (!this.plot) return;
    const width = this.width();
    if (width === this.plot.width) return;
    this.plot.setSize({ width, height: this.props.height });
    if (this.buckets && Math.abs(width - this.buckets) / this.buckets > 0.25) {
      clearTimeout(this.resizeTimer);
      this.resizeTimer = setTimeout(() => this.load({ quiet: true }), RESIZE_REFETCH_MS);
    }
  }

  // ------------------------------------------------------------------------------ drawing

  /** The series as drawn: log scale drops values <= 0, smoothing adds a line per run. */
  derive() {
    const { smoothing = 0, logY = false } = this.props;
    return this.fetched.map((s) => {
      const y = cleanValues(s.y, logY);
      return { ...s, y, smoothed: smoothing > 0 ? smoothEma(y, smoothing) : y };
    });
  }

  xRange() {
    if (this.zoom) return this.zoom;
    if (!this.extent) return [0, 1];
    const [lo, hi] = this.extent;
    if (hi > lo) return [lo, hi];
    return this.props.xAxis === "wall" ? [lo - 1000, hi + 1000] : [lo - 1, hi + 1];
  }

  draw({ rebuild = false, count = false } = {}) {
    if (!this.fetched.length && !this.plot) return;
    const { runs, xAxis, smoothing = 0, logY = false, height = 300 } = this.props;
    const derived = this.derive();
    const smooth = smoothing > 0;
    const xRange = this.xRange();
    const yRange = paddedRange(visibleExtent(derived, xRange[0], xRange[1]), logY);
    const structure = [runs.map((r) => r.runId).join(","), smooth, logY, xAxis].join("|");
    const data = [null];
    for (const s of derived) {
      if (smooth) data.push([s.x, s.y]);
      data.push([s.x, s.smoothed]);
    }
    this.drawn = { derived, xRange, yRange };
    this.countNextPaint = this.countNextPaint || count;
    if (!this.plot || rebuild || structure !== this.structure) {
      if (this.plot) this.plot.destroy();
      this.structure = structure;
      this.plot = new uPlot(this.options(runs, smooth, logY, xAxis, height), data, this.plotEl);
    } else {
      this.plot.batch(() => {
        this.plot.setData(data, false);
        this.plot.setScale("x", { min: xRange[0], max: xRange[1] });
        this.plot.setScale("y", { min: yRange[0], max: yRange[1] });
      });
    }
    this.updateLegend(this.plot.cursor.left);
  }

  options(runs, smooth, logY, xAxis, height) {
    const axis = cssVar("--chart-axis", "#5d6b7a");
    const grid = cssVar("--chart-grid", "#e3e7ec");
    this.colors = { axis, grid };
    const bg = cssVar("--bg", "#fff");
    const series = [{}];
    this.gapCounts = [];
    for (const { runId } of runs) {
      const color = runColor(runId);
      if (smooth) {
        series.push({ stroke: faint(color), width: 1, points: { show: false } });
      }
      series.push({
        stroke: color,
        width: 1.5,
        // uPlot's own gap finding, counted: nulls break the line (tests read the count).
        gaps: (u, si, i0, i1, found) => {
          this.gapCounts[si] = found.length;
          return found;
        },
        points: {
          // Markers only where points are sparse enough to tell apart.
          show: (u, si) => {
            const n = u.data[si] ? u.data[si][0].length : 0;
            return n > 0 && n * 8 < u.bbox.width / devicePixelRatio;
          },
          size: 5,
          fill: color,
        },
      });
    }
    const axisBase = {
      stroke: axis,
      font: AXIS_FONT,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1, size: 4 },
    };
    const xValues =
      xAxis === "relative"
        ? (u, splits) => splits.map(formatSeconds)
        : xAxis === "step"
          ? (u, splits) => splits.map(formatStep)
          : undefined;
    return {
      mode: 2,
      ms: 1, // wall-time x values are epoch milliseconds
      width: this.width(),
      height,
      legend: { show: false },
      scales: {
        x: { time: xAxis === "wall", auto: false, range: () => this.drawn.xRange },
        y: { auto: false, distr: logY ? 3 : 1, log: 10, range: () => this.drawn.yRange },
      },
      axes: [
        {
          ...axisBase,
          ...(xValues ? { values: xValues } : {}),
          ...(xAxis === "relative" ? { incrs: DURATION_INCREMENTS } : {}),
          space: 70,
        },
        {
          ...axisBase,
          size: (u, values) => {
            const longest = Math.max(0, ...(values || []).map((v) => String(v).length));
            return Math.max(44, Math.ceil(longest * 7.2 + 18));
          },
        },
      ],
      series,
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { size: 7, fill: bg, width: 2 },
        dataIdx: (u, si) => {
          const xs = u.data[si] ? u.data[si][0] : [];
          if (!xs.length || u.cursor.left < 0) return null;
          const i = nearestIndex(xs, u.posToVal(u.cursor.left, "x"));
          return u.data[si][1][i] === null ? null : i;
        },
        bind: {
          dblclick: () => (event) => {
            if (event.button === 0) this.resetZoom();
            return null;
          },
        },
      },
      hooks: {
        setSelect: [
          (u) => {
            const { left, width } = u.select;
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            if (width >= 3) this.zoomTo(u.posToVal(left, "x"), u.posToVal(left + width, "x"));
          },
        ],
        setCursor: [(u) => this.updateLegend(u.cursor.left)],
        draw: [() => this.painted()],
      },
    };
  }

  /** After uPlot drew: publish the state tests and benchmarks read. */
  painted() {
    if (!this.drawn || !this.fetched.length) return;
    const { derived, xRange, yRange } = this.drawn;
    const points = derived.reduce((n, s) => n + s.x.length, 0);
    if (this.countNextPaint) {
      this.renderCount += 1;
      this.countNextPaint = false;
    }
    const { metricKey, xAxis, smoothing = 0, logY = false } = this.props;
    this.root.__chartData = {
      metricKey,
      xAxis,
      smoothing,
      log: logY,
      scaleDistr: this.plot ? this.plot.scales.y.distr : null,
      xRange: [...xRange],
      yRange: [...yRange],
      zoomed: !!this.zoom,
      points,
      width: this.plot ? this.plot.width : null,
      colors: this.colors,
      series: derived.map((s, i) => ({
        runId: s.runId,
        gaps: this.gapCounts[smoothing > 0 ? 2 + 2 * i : 1 + i] ?? 0,
        x: s.x,
        y: s.y,
        smoothed: s.smoothed,
        totalPoints: s.total,
        pointsInRange: s.inRange,
        downsampled: s.downsampled,
      })),
    };
    this.root.dataset.points = String(points);
    this.root.dataset.renderCount = String(this.renderCount);
    this.root.dataset.ready = "true";
    if (this.props.onPaint) this.props.onPaint(this.props.metricKey);
  }

  // ------------------------------------------------------------------------------ legend

  setStatus(text, isError = false) {
    this.statusEl.textContent = text;
    this.statusEl.hidden = !text;
    this.statusEl.classList.toggle("error-box", isError);
  }

  buildLegend() {
    const { runs = [], metricKey = "" } = this.props;
    this.legendEl.replaceChildren();
    this.xLabel = el("span", "legend-x");
    this.legendEl.append(this.xLabel);
    this.legendValues = runs.map(({ runId, name }) => {
      const item = el("span", "legend-item");
      item.dataset.runId = runId;
      const swatch = el("span", "swatch");
      swatch.style.background = runColor(runId);
      const link = el("a", "legend-name", name);
      link.href = runHref(runId);
      link.title = name;
      const value = el("span", "legend-value");
      value.setAttribute("aria-label", `${metricKey} of ${name}`);
      item.append(swatch, link, value);
      this.legendEl.append(item);
      return value;
    });
  }

  /** Each run's value at the cursor (left = cursor pixel), or its last value when not hovering. */
  updateLegend(left) {
    if (!this.drawn || !this.legendValues.length) return;
    const { derived } = this.drawn;
    const hovering = left >= 0 && this.plot;
    const x = hovering ? this.plot.posToVal(left, "x") : null;
    this.xLabel.textContent = hovering ? formatX(x, this.props.xAxis) : "last";
    this.root.classList.toggle("hovering", !!hovering);
    derived.forEach((s, i) => {
      const target = this.legendValues[i];
      if (!target) return;
      let v = null;
      if (hovering) {
        if (s.x.length && x >= s.x[0] - 1e-9 && x <= s.x[s.x.length - 1] + 1e-9) {
          v = s.smoothed[nearestIndex(s.x, x)];
        }
      } else {
        for (let j = s.smoothed.length - 1; j >= 0 && v === null; j--) v = s.smoothed[j];
      }
      target.textContent = v === null ? "–" : formatValue(v);
    });
  }
}

/**
 * A metric chart. Props: runs ([{runId, name}]), metricKey, xAxis ("step"|"wall"|"relative"),
 * smoothing (0..0.99), logY, height (px), liveMs (refetch period while runs are live, 0 = off),
 * lazy (wait until scrolled into view), onPaint(metricKey) (after each paint with data).
 */
export function MetricChart(props) {
  const { metricKey, lazy = false, height = 300, title } = props;
  const root = useRef(null);
  const controller = useRef(null);
  const [visible, setVisible] = useState(!lazy);

  useEffect(() => {
    if (visible) return undefined;
    const observer = new IntersectionObserver(
      (entries) => entries.some((e) => e.isIntersecting) && setVisible(true),
      { rootMargin: "0px 0px 40px 0px" }, // what is seen first: it competes for the server
    );
    observer.observe(root.current);
    return () => observer.disconnect();
  }, [visible]);

  // Layout effects: a new metric key and data-ready="false" reach the DOM together, so no one
  // ever sees the new key marked ready with the old data.
  useLayoutEffect(() => {
    if (!visible) return undefined;
    controller.current = new ChartController(root.current, { ...props, height });
    return () => {
      controller.current.destroy();
      controller.current = null;
    };
  }, [visible]); // eslint-disable-line

  useLayoutEffect(() => {
    if (controller.current) controller.current.setProps({ ...props, height });
  });

  return html`<figure class="metric-chart" data-testid="metric-chart" data-metric-key=${metricKey}
      ref=${root}>
    ${title ? html`<figcaption class="chart-title">${title}</figcaption>` : null}
    <div class="chart-area">
      <div class="chart-plot" style=${{ height: height + "px" }} tabindex="0" role="img"
        aria-label=${`Chart of ${metricKey}. Keys: + and - zoom, arrows pan, 0 resets.`}></div>
      <div class="chart-status" role="status" hidden></div>
      <button type="button" class="chart-reset" hidden data-testid="reset-zoom"
        title="Show the whole range (or double-click the chart)">Reset zoom</button>
    </div>
    <div class="chart-legend" data-testid="chart-legend" aria-live="off"></div>
  </figure>`;
}
