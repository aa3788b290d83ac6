// Scatter plot of runs: x and y each a numeric param or latest metric, one point per run in its
// run color. A point is a link to its run; hovering or focusing it shows the run's name.

import { html, useRef, useState, useQueryParam, runColor, formatValue, runHref } from "../lib.js";
import { niceTicks } from "./chart-data.js";
import { useElementWidth, linearScale, extentOf, tickLabel } from "./chart-svg.js";

const HEIGHT = 340;
const M = { left: 64, right: 18, top: 14, bottom: 44 };

function padded(extent) {
  if (!extent) return [0, 1];
  const [a, b] = extent;
  if (a === b) return a === 0 ? [-1, 1] : [a - Math.abs(a) * 0.1, b + Math.abs(b) * 0.1];
  const pad = (b - a) * 0.06;
  return [a - pad, b + pad];
}

function DimSelect({ label, dims, value, onChange, testid }) {
  return html`<label>${label}
    <select data-testid=${testid} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${dims.map((d) => html`<option value=${d.key}>${d.key}</option>`)}
    </select>
  </label>`;
}

/** Props: runs ([{runId, name}]), dims (from dimensionsOf). */
export function ScatterPlot({ runs, dims }) {
  const numeric = dims.filter((d) => d.numeric);
  const [sx, setSx] = useQueryParam("sx", "");
  const [sy, setSy] = useQueryParam("sy", "");
  const [hover, setHover] = useState(null);
  const box = useRef(null);
  const width = Math.max(280, useElementWidth(box, 600));

  if (numeric.length === 0) {
    return html`<section class="plot-card" data-testid="scatter-plot" data-points="0">
      <h2>Scatter</h2><p class="muted">No numeric params or metrics to plot.</p></section>`;
  }
  const byKey = new Map(numeric.map((d) => [d.key, d]));
  // By default the first param and metric that vary: a constant axis shows nothing.
  const varies = (d) => new Set(d.values.values()).size > 1;
  const pick = (kind, not) =>
    numeric.find((d) => d.kind === kind && d !== not && varies(d)) ||
    numeric.find((d) => d.kind === kind && d !== not);
  const xDim = byKey.get(sx) || pick("param") || numeric[0];
  const yDim = byKey.get(sy) || pick("metric", xDim) || numeric.find((d) => d !== xDim) || xDim;

  const points = runs
    .map((r) => ({ ...r, x: xDim.values.get(r.runId), y: yDim.values.get(r.runId) }))
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xDomain = padded(extentOf(points.map((p) => p.x)));
  const yDomain = padded(extentOf(points.map((p) => p.y)));
  const px = linearScale(xDomain, [M.left, width - M.right]);
  const py = linearScale(yDomain, [HEIGHT - M.bottom, M.top]);
  const xTicks = niceTicks(xDomain[0], xDomain[1], Math.max(2, Math.floor(width / 110)));
  const yTicks = niceTicks(yDomain[0], yDomain[1], 5);
  const hovered = hover && points.find((p) => p.runId === hover);
  const yMid = (M.top + HEIGHT - M.bottom) / 2;

  return html`<section class="plot-card" data-testid="scatter-plot" data-points=${points.length}>
    <div class="toolbar">
      <h2>Scatter</h2>
      <${DimSelect} label="X" dims=${numeric} value=${xDim.key} onChange=${setSx} testid="scatter-x" />
      <${DimSelect} label="Y" dims=${numeric} value=${yDim.key} onChange=${setSy} testid="scatter-y" />
      ${points.length < runs.length
        ? html`<span class="muted">${runs.length - points.length} runs lack a value</span>`
        : null}
    </div>
    <div class="plot-box" ref=${box}>
      <svg width=${width} height=${HEIGHT} role="img"
        aria-label=${`${yDim.key} against ${xDim.key}, one point per run`}>
        <g class="grid-lines">
          ${xTicks.map((t) => html`<line x1=${px(t)} x2=${px(t)} y1=${M.top} y2=${HEIGHT - M.bottom} />`)}
          ${yTicks.map((t) => html`<line x1=${M.left} x2=${width - M.right} y1=${py(t)} y2=${py(t)} />`)}
        </g>
        <g class="axis">
          <line x1=${M.left} x2=${width - M.right} y1=${HEIGHT - M.bottom} y2=${HEIGHT - M.bottom} />
          <line x1=${M.left} x2=${M.left} y1=${M.top} y2=${HEIGHT - M.bottom} />
          ${xTicks.map(
            (t) => html`<text x=${px(t)} y=${HEIGHT - M.bottom + 16} text-anchor="middle">
              ${tickLabel(t)}</text>`,
          )}
          ${yTicks.map(
            (t) => html`<text x=${M.left - 6} y=${py(t) + 4} text-anchor="end">${tickLabel(t)}</text>`,
          )}
          <text class="axis-title" x=${(M.left + width - M.right) / 2} y=${HEIGHT - 6}
            text-anchor="middle">${xDim.key}</text>
          <text class="axis-title" transform=${`translate(14 ${yMid}) rotate(-90)`}
            text-anchor="middle">${yDim.key}</text>
        </g>
        <g class="points">
          ${points.map(
            (p) => html`<a href=${runHref(p.runId)}
                data-testid="scatter-point" data-run-id=${p.runId} aria-label=${p.name}
                onMouseEnter=${() => setHover(p.runId)} onMouseLeave=${() => setHover(null)}
                onFocus=${() => setHover(p.runId)} onBlur=${() => setHover(null)}>
              <circle cx=${px(p.x)} cy=${py(p.y)} r=${hover === p.runId ? 7 : 5}
                fill=${runColor(p.runId)} class=${hover === p.runId ? "hot" : ""} />
            </a>`,
          )}
        </g>
      </svg>
      ${hovered
        ? html`<div class="plot-tooltip" data-testid="scatter-tooltip" role="tooltip"
            style=${{
              left: Math.min(px(hovered.x) + 10, width - 200) + "px",
              top: Math.max(0, py(hovered.y) - 52) + "px",
            }}>
            <div class="tooltip-name">
              <span class="swatch" style=${{ background: runColor(hovered.runId) }}></span>
              ${hovered.name}</div>
            <div class="muted">${xDim.key}: ${formatValue(hovered.x)}</div>
            <div class="muted">${yDim.key}: ${formatValue(hovered.y)}</div>
          </div>`
        : null}
    </div>
  </section>`;
}
