// Parallel coordinates: one vertical axis per chosen param or metric, one polyline per run in
// its run color. Numeric axes run from their min (bottom) to their max (top); categorical
// params are spread evenly along theirs. Hovering a line highlights its run (click opens it).

import { html, useMemo, useRef, useState, runColor, navigate } from "../lib.js";
import { useElementWidth, linearScale, extentOf, tickLabel, clip } from "./chart-svg.js";

const HEIGHT = 380;
const M = { top: 40, bottom: 30, side: 70 };
const MAX_CATEGORIES = 60; // a param with more distinct strings is not a useful axis
const DEFAULT_AXES = 8;

/** The dims that can be an axis: numeric ones, and params with a few distinct values. */
function axisCandidates(dims) {
  return dims.filter((d) => {
    if (d.values.size === 0) return false;
    if (d.numeric) return true;
    return d.kind === "param" && new Set(d.values.values()).size <= MAX_CATEGORIES;
  });
}

/** Params whose values differ first (they explain the metrics), then the metrics. */
function defaultAxes(candidates) {
  const varies = (d) => new Set(d.values.values()).size > 1;
  const params = candidates.filter((d) => d.kind === "param");
  const metrics = candidates.filter((d) => d.kind === "metric");
  const picked = [...params.filter(varies).slice(0, DEFAULT_AXES - Math.min(3, metrics.length))];
  picked.push(...metrics.slice(0, DEFAULT_AXES - picked.length));
  if (picked.length < 2) picked.push(...params.filter((d) => !picked.includes(d)));
  return picked.slice(0, DEFAULT_AXES).map((d) => d.key);
}

/** An axis: where each run's value sits (y in px, or null when the run has none). */
function buildAxis(dim, top, bottom) {
  if (dim.numeric) {
    const extent = extentOf(dim.values.values()) || [0, 1];
    const y = linearScale(extent, [bottom, top]);
    return {
      dim,
      categorical: false,
      labels: extent[0] === extent[1]
        ? [{ y: y(extent[0]), text: tickLabel(extent[0]) }]
        : [
            { y: top, text: tickLabel(extent[1]) },
            { y: bottom, text: tickLabel(extent[0]) },
          ],
      pos: (runId) => {
        const v = dim.values.get(runId);
        return Number.isFinite(v) ? y(v) : null;
      },
    };
  }
  const categories = [...new Set(dim.values.values())].map(String).sort();
  const step = categories.length > 1 ? (bottom - top) / (categories.length - 1) : 0;
  const at = new Map(
    categories.map((c, i) => [c, categories.length > 1 ? bottom - i * step : (top + bottom) / 2]),
  );
  const shown = categories.length <= 12 ? categories : [categories[0], categories[categories.length - 1]];
  return {
    dim,
    categorical: true,
    labels: shown.map((c) => ({ y: at.get(c), text: clip(c, 14), full: c })),
    pos: (runId) => {
      const v = dim.values.get(runId);
      return v === undefined || v === null ? null : at.get(String(v));
    },
  };
}

/** SVG path of a run across the axes; a run missing a value breaks its line there. */
function linePath(axes, xs, runId) {
  let d = "";
  let pen = false;
  axes.forEach((axis, i) => {
    const y = axis.pos(runId);
    if (y === null || y === undefined) {
      pen = false;
      return;
    }
    d += `${pen ? "L" : "M"}${xs[i].toFixed(1)} ${y.toFixed(1)}`;
    pen = true;
  });
  return d;
}

function AxisPicker({ candidates, chosen, setChosen }) {
  // Chosen axes keep the candidates' order, whatever order they were ticked in.
  const toggle = (key, on) =>
    setChosen(
      on
        ? candidates.map((d) => d.key).filter((k) => k === key || chosen.includes(k))
        : chosen.filter((k) => k !== key),
    );
  return html`<details class="axis-picker" data-testid="pc-axes">
    <summary>Axes (${chosen.length})</summary>
    <div class="axis-picker-list">
      ${candidates.map(
        (d) => html`<label class="check">
          <input type="checkbox" checked=${chosen.includes(d.key)}
            data-key=${d.key} onChange=${(e) => toggle(d.key, e.currentTarget.checked)} />
          ${d.key}${d.numeric ? "" : html` <span class="muted">(categories)</span>`}
        </label>`,
      )}
    </div>
  </details>`;
}

/** Props: runs ([{runId, name}]), dims (from dimensionsOf). */
export function ParallelCoords({ runs, dims }) {
  const candidates = useMemo(() => axisCandidates(dims), [dims]);
  const [picked, setPicked] = useState(null);
  const [hover, setHover] = useState(null);
  const box = useRef(null);
  const width = Math.max(320, useElementWidth(box, 600));
  const chosen = picked || defaultAxes(candidates);
  const byKey = new Map(candidates.map((d) => [d.key, d]));
  const top = M.top;
  const bottom = HEIGHT - M.bottom;
  const axes = chosen.filter((k) => byKey.has(k)).map((k) => buildAxis(byKey.get(k), top, bottom));
  const span = width - 2 * M.side;
  const xs = axes.map((_, i) => (axes.length > 1 ? M.side + (i * span) / (axes.length - 1) : width / 2));
  const labelChars = Math.max(6, Math.floor((axes.length > 1 ? span / (axes.length - 1) : span) / 7.5));
  const lines = runs.map((r) => ({ ...r, d: linePath(axes, xs, r.runId) }));
  // The hovered run is drawn last so it is on top.
  const ordered = hover
    ? [...lines.filter((l) => l.runId !== hover), ...lines.filter((l) => l.runId === hover)]
    : lines;
  const hovered = hover && runs.find((r) => r.runId === hover);

  return html`<section class="plot-card" data-testid="parallel-coords" data-axes=${axes.length}>
    <div class="toolbar">
      <h2>Parallel coordinates</h2>
      <${AxisPicker} candidates=${candidates} chosen=${chosen} setChosen=${setPicked} />
      <span class="pc-hover" data-testid="pc-hover" aria-live="polite">
        ${hovered
          ? html`<span class="swatch" style=${{ background: runColor(hovered.runId) }}></span>
              ${hovered.name}`
          : html`<span class="muted">Hover a line to see its run</span>`}
      </span>
    </div>
    <div class="plot-box" ref=${box}>
      ${axes.length === 0
        ? html`<p class="muted">No params or metrics to draw: choose axes above.</p>`
        : html`<svg width=${width} height=${HEIGHT} role="img"
            aria-label=${"Parallel coordinates of " + axes.map((a) => a.dim.key).join(", ")}
            class=${hover ? "has-hover" : ""}>
            <g class="pc-lines">
              ${ordered.map(
                (l) => html`<path d=${l.d} stroke=${runColor(l.runId)} data-testid="pc-line"
                  data-run-id=${l.runId} class=${l.runId === hover ? "hot" : ""} />`,
              )}
            </g>
            <g class="pc-hits">
              ${lines.map(
                (l) => html`<path d=${l.d} data-run-id=${l.runId}
                  onMouseEnter=${() => setHover(l.runId)} onMouseLeave=${() => setHover(null)}
                  onClick=${() => navigate("/runs/" + encodeURIComponent(l.runId))}>
                  <title>${l.name}</title></path>`,
              )}
            </g>
            ${axes.map(
              (axis, i) => html`<g class="axis pc-axis" data-key=${axis.dim.key}>
                <line x1=${xs[i]} x2=${xs[i]} y1=${top} y2=${bottom} />
                <text class="axis-title" x=${xs[i]} y=${top - 22} text-anchor="middle">
                  <title>${axis.dim.key}</title>${clip(axis.dim.label, labelChars)}</text>
                <text class="muted-text" x=${xs[i]} y=${top - 9} text-anchor="middle">
                  ${axis.dim.kind}</text>
                ${axis.labels.map(
                  (lab) => html`<text x=${xs[i] + 5} y=${lab.y + 4} class="tick">
                    ${lab.full ? html`<title>${lab.full}</title>` : null}${lab.text}</text>`,
                )}
              </g>`,
            )}
          </svg>`}
    </div>
  </section>`;
}
