// Where a model version came from, drawn as a small left-to-right SVG graph:
// datasets → run (its git commit on the node, a link to the run page) → logged model → this
// version. A part the version names but the store no longer has is drawn dashed as "gone"; a
// part the version never had is drawn dashed as absent. Colors come from css/registry.css.

import { html, runHref } from "../lib.js";

const NODE_W = 200;
const NODE_H = 56;
const COL_GAP = 52;
const ROW_GAP = 12;
const PAD = 6;
const TITLE_CHARS = 24;
const SUB_CHARS = 30;

function clip(text, n) {
  const s = String(text ?? "");
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

/** The graph's nodes by column, from the lineage answer and the version itself. */
export function lineageNodes(lineage, version) {
  const l = lineage || {};
  const v = version || {};
  const runId = l.run_id || v.run_id || null;
  const runState = !runId ? "absent" : l.run_name != null || l.experiment_id != null ? "present" : "gone";
  const modelId = l.model_id || v.model_id || null;
  const modelState = !modelId ? "absent" : l.model_name != null ? "present" : "gone";
  const datasets = (l.datasets || []).map((d, i) => ({
    id: "dataset-" + i,
    kind: "dataset",
    state: "present",
    label: "dataset" + (d.context ? " · " + d.context : ""),
    title: d.name || "(unnamed)",
    sub: d.digest ? "digest " + d.digest : "",
  }));
  const runLink = runState === "present" ? runHref(runId) : null;
  return [
    datasets.length
      ? datasets
      : [{ id: "dataset-none", kind: "dataset", state: "absent", label: "datasets", title: "no datasets", sub: "" }],
    [{
      id: "run",
      kind: "run",
      state: runState,
      label: runState === "gone" ? "run · gone" : "run",
      title: runState === "absent" ? "no run" : l.run_name || runId,
      sub: runState === "present" ? (l.git_commit ? "git " + l.git_commit.slice(0, 12) : "no git commit") : runId || "",
      full: l.git_commit ? "git commit " + l.git_commit : "",
      link: runLink,
      ref: runId,
    }],
    [{
      id: "model",
      kind: "model",
      state: modelState,
      label: modelState === "gone" ? "logged model · gone" : "logged model",
      title: modelState === "absent" ? "no logged model" : l.model_name || modelId,
      sub: modelState === "absent" ? "" : modelId,
      link: modelState === "present" && runState === "present" ? runHref(runId, { tab: "artifacts", model: modelId }) : null,
      ref: modelId,
    }],
    [{
      id: "version",
      kind: "version",
      state: "present",
      label: "this version",
      title: l.name || v.name || "",
      sub: "version " + (l.version ?? v.version ?? ""),
    }],
  ];
}

function Node({ node, x, y }) {
  const body = html`
    <title>${[node.label, node.title, node.sub, node.full].filter(Boolean).join("\n")}</title>
    <rect class="lineage-box" x=${x} y=${y} width=${NODE_W} height=${NODE_H} rx="6" />
    <text class="lineage-label" x=${x + 10} y=${y + 15}>${clip(node.label, SUB_CHARS)}</text>
    <text class="lineage-title" x=${x + 10} y=${y + 32}>${clip(node.title, TITLE_CHARS)}</text>
    <text class="lineage-sub" x=${x + 10} y=${y + 47}>${clip(node.sub, SUB_CHARS)}</text>`;
  const attrs = { "data-testid": "lineage-node", "data-kind": node.kind, "data-state": node.state, "data-ref": node.ref || undefined };
  const cls = `lineage-node ${node.kind} ${node.state}`;
  return node.link
    ? html`<a class=${cls + " linked"} href=${node.link} ...${attrs}>${body}</a>`
    : html`<g class=${cls} ...${attrs}>${body}</g>`;
}

/** The graph of `lineage` (cairn's /registry/lineage answer) for `version` (the version's message). */
export function LineageGraph({ lineage, version }) {
  const columns = lineageNodes(lineage, version);
  const rows = Math.max(...columns.map((c) => c.length));
  const height = PAD * 2 + rows * NODE_H + (rows - 1) * ROW_GAP;
  const width = PAD * 2 + columns.length * NODE_W + (columns.length - 1) * COL_GAP;
  const placed = columns.map((col, c) => {
    const x = PAD + c * (NODE_W + COL_GAP);
    const top = PAD + (height - PAD * 2 - (col.length * NODE_H + (col.length - 1) * ROW_GAP)) / 2;
    return col.map((node, r) => ({ node, x, y: top + r * (NODE_H + ROW_GAP) }));
  });
  const edges = [];
  for (let c = 0; c + 1 < placed.length; c++) {
    for (const from of placed[c]) {
      for (const to of placed[c + 1]) {
        const x1 = from.x + NODE_W;
        const y1 = from.y + NODE_H / 2;
        const x2 = to.x;
        const y2 = to.y + NODE_H / 2;
        const mid = (x1 + x2) / 2;
        const missing = from.node.state !== "present" || to.node.state !== "present";
        edges.push(html`<path key=${from.node.id + ">" + to.node.id} class=${"lineage-edge" + (missing ? " missing" : "")}
          d=${`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 6},${y2}`} marker-end="url(#lineage-arrow)" />`);
      }
    }
  }
  return html`<svg class="lineage-graph" data-testid="lineage-graph" viewBox=${`0 0 ${width} ${height}`}
      width=${width} height=${height} role="img" aria-label="Lineage: datasets, run, logged model, version">
    <defs>
      <marker id="lineage-arrow" viewBox="0 0 10 10" refX="2" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
        <path class="lineage-arrowhead" d="M 0 0 L 10 5 L 0 10 z" />
      </marker>
    </defs>
    ${edges}
    ${placed.flat().map((p) => html`<${Node} key=${p.node.id} node=${p.node} x=${p.x} y=${p.y} />`)}
  </svg>`;
}
