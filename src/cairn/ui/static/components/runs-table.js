// The runs table: a virtualized grid. Rows have one fixed height, so the rows in view follow
// from the scroll offset alone and only those (plus a margin) are in the DOM: 50,000 runs cost
// what 50 do. The header sticks to the top, the select/status/name columns to the left, and
// the grid scrolls sideways when there are many columns.
//
// Rows are keyed by run id, so a live refresh updates cells in place: scroll position, focus
// and selection survive. Keyboard: Tab reaches header buttons, checkboxes and run links;
// ArrowUp/ArrowDown move to the same control in the neighbouring row, ArrowRight/ArrowLeft
// open and close a parent run or a group.

import {
  html,
  useState,
  useEffect,
  useLayoutEffect,
  useRef,
  useMemo,
  useCallback,
  href,
  formatAgo,
  formatTime,
  formatDuration,
  formatValue, runHref,
} from "../lib.js";
import { splitColumn, durationOf } from "./runs-model.js";

export const ROW_HEIGHT = 32;
const OVERSCAN = 8;
const INDENT = 18;

const FIXED = [
  { id: "select", label: "", width: 36, sticky: true, cls: " select-cell" },
  { id: "attributes.status", label: "Status", width: 96, sticky: true },
  { id: "attributes.run_name", label: "Run name", width: 260, sticky: true, cls: " last-sticky" },
  { id: "attributes.start_time", label: "Started", width: 124 },
  { id: "duration", label: "Duration", width: 104, numeric: true },
  { id: "attributes.user_id", label: "User", width: 120 },
];
const KIND_LABEL = { metrics: "metric", params: "param", tags: "tag" };

/**
 * Column specs for the chosen param/metric/tag columns after the fixed ones (plus the
 * experiment when several are shown). Sticky columns get their `left` offset.
 */
export function buildColumns(chosen, { showExperiment = false } = {}) {
  const cols = FIXED.map((c) => ({ ...c }));
  if (showExperiment) cols.push({ id: "attributes.experiment_id", label: "Experiment", width: 150 });
  for (const id of chosen) {
    const [prefix, key] = splitColumn(id);
    const width = Math.round(Math.min(260, Math.max(96, key.length * 8.6 + 34)));
    cols.push({ id, label: key, kind: KIND_LABEL[prefix] || prefix, width, numeric: prefix === "metrics" });
  }
  let left = 0;
  for (const c of cols) {
    if (c.sticky) {
      c.left = left;
      left += c.width;
    }
  }
  return cols;
}

function stickyStyle(col) {
  return col.sticky ? `left:${col.left}px` : undefined;
}

function cellClass(col, extra = "") {
  return "cell" + (col.sticky ? " sticky" : "") + (col.numeric ? " num" : "") + (col.cls || "") + extra;
}

function HeaderCell({ col, sort, onSort, selectAll }) {
  if (col.id === "select") {
    return html`<div class=${cellClass(col, " head-cell")} role="columnheader" style=${stickyStyle(col)}>
      ${selectAll}</div>`;
  }
  const active = sort && sort.col === col.id;
  const ariaSort = active ? (sort.dir === "asc" ? "ascending" : "descending") : "none";
  const arrow = active ? (sort.dir === "asc" ? "▲" : "▼") : "";
  const title = (col.kind ? `${col.kind} ` : "") + col.label + " (click to sort)";
  return html`<div class=${cellClass(col, " head-cell")} role="columnheader" aria-sort=${ariaSort}
      style=${stickyStyle(col)}>
    <button type="button" class="head-button" data-testid="col-header" data-col=${col.id}
        title=${title} onClick=${() => onSort(col.id)}>
      <span class="head-text">
        ${col.kind ? html`<span class=${"head-kind kind-" + col.kind}>${col.kind}</span>` : null}
        <span class="head-label">${col.label}</span>
      </span>
      <span class="sort-arrow" aria-hidden="true">${arrow}</span>
    </button>
  </div>`;
}

// Cells and rows are plain functions returning vnodes (no component per cell): a row that
// scrolls into view costs one pass over its columns. `ctx` holds what every row shares.

function nameCell(ctx, item, col) {
  const { table } = ctx;
  const i = item.i;
  const id = table.runId[i];
  const name = table.runName[i] || id.slice(0, 12);
  const indent = item.depth * INDENT;
  let toggle = null;
  if (item.childCount > 0) {
    const label = (item.open ? "Hide " : "Show ") + item.childCount + " child run" + (item.childCount > 1 ? "s" : "");
    toggle = html`<button type="button" class="row-toggle" data-focus="toggle" aria-expanded=${item.open}
      aria-label=${label} title=${label} onClick=${() => ctx.onToggleRun(id)}>${item.open ? "▾" : "▸"}</button>`;
  } else if (ctx.nested) {
    toggle = html`<span class="row-toggle-space"></span>`;
  }
  const deleted = table.lifecycleStage[i] === "deleted";
  return html`<div key=${col.id} class=${cellClass(col, " name-cell")} role="gridcell" data-col=${col.id} style=${stickyStyle(col)}>
    <span class="name-inner" style=${indent ? `padding-left:${indent}px` : undefined}>
      ${toggle}
      <a href=${runHref(id)} data-focus="link" title=${name}>${name}</a>
      ${item.childCount > 0 ? html`<span class="child-count muted">${item.childCount}</span>` : null}
      ${deleted ? html`<span class="badge deleted-badge">deleted</span>` : null}
    </span>
  </div>`;
}

function runCell(ctx, item, col, selected) {
  const { table } = ctx;
  const i = item.i;
  const id = table.runId[i];
  const cls = cellClass(col);
  switch (col.id) {
    case "select":
      return html`<div key=${col.id} class=${cls} role="gridcell" data-col=${col.id} style=${stickyStyle(col)}>
        <input type="checkbox" data-testid="run-select" data-focus="select" checked=${selected}
          aria-label=${"Select run " + (table.runName[i] || id)}
          onClick=${(e) => ctx.onSelect(id, e.currentTarget.checked, e.shiftKey)} />
      </div>`;
    case "attributes.status": {
      const status = (table.status[i] || "").toLowerCase();
      return html`<div key=${col.id} class=${cls} role="gridcell" data-col=${col.id} style=${stickyStyle(col)}>
        <span class=${"badge status-" + status}>${status}</span></div>`;
    }
    case "attributes.run_name":
      return nameCell(ctx, item, col);
    case "attributes.start_time": {
      const t = table.startTime[i];
      return html`<div key=${col.id} class=${cls} role="gridcell" data-col=${col.id} title=${formatTime(t)}>${formatAgo(t)}</div>`;
    }
    case "duration": {
      const d = durationOf(table, i);
      const text = d === null ? "" : formatDuration(table.startTime[i], table.startTime[i] + d);
      return html`<div key=${col.id} class=${cls} role="gridcell" data-col=${col.id}>${text}</div>`;
    }
    case "attributes.user_id":
      return html`<div key=${col.id} class=${cls} role="gridcell" data-col=${col.id} title=${table.userId[i]}>${table.userId[i]}</div>`;
    case "attributes.experiment_id": {
      const e = table.experimentId[i];
      const label = ctx.experimentNames[e] || e;
      return html`<div key=${col.id} class=${cls} role="gridcell" data-col=${col.id} title=${label}>${label}</div>`;
    }
    default: {
      const v = (table.columns[col.id] || [])[i];
      const text = formatValue(v);
      const title = v === null || v === undefined ? undefined : String(v);
      return html`<div key=${col.id} class=${cls} role="gridcell" data-col=${col.id} title=${title}>${text}</div>`;
    }
  }
}

function runRow(ctx, item, index, selected) {
  const { table } = ctx;
  const id = table.runId[item.i];
  const cls = "run-row" + (selected ? " selected" : "") + (table.lifecycleStage[item.i] === "deleted" ? " deleted" : "");
  return html`<div key=${id} class=${cls} role="row" aria-selected=${selected} data-testid="run-row"
      data-run-id=${id} data-index=${index} data-depth=${item.depth} style=${`top:${index * ROW_HEIGHT}px`}>
    ${ctx.columns.map((c) => runCell(ctx, item, c, selected))}
  </div>`;
}

function groupRow(ctx, item, index) {
  const { columns } = ctx;
  const [, key] = splitColumn(ctx.groupCol || "");
  const value = item.value === null ? "(no value)" : item.value;
  const sticky = columns.filter((c) => c.sticky);
  const rest = columns.slice(sticky.length);
  const label = `${item.open ? "Collapse" : "Expand"} group ${key} = ${value}`;
  return html`<div key=${"g" + item.key} class="run-row group-row" role="row" data-index=${index} data-testid="group-row"
      data-group=${item.value === null ? "" : item.value} data-count=${item.count}
      style=${`top:${index * ROW_HEIGHT}px`}>
    <div class="cell sticky group-label last-sticky" role="gridcell" style=${`left:0;grid-column:span ${sticky.length}`}>
      <button type="button" class="row-toggle" data-focus="toggle" aria-expanded=${item.open}
        aria-label=${label} title=${label} onClick=${() => ctx.onToggleGroup(item.key)}>${item.open ? "▾" : "▸"}</button>
      <span class="group-key muted">${key} =</span>
      <span class="group-value" title=${String(value)}>${value}</span>
      <span class="group-count badge" data-testid="group-count">${item.count} run${item.count === 1 ? "" : "s"}</span>
    </div>
    ${rest.map((c) => {
      if (!c.id.startsWith("metrics.")) return html`<div key=${c.id} class="cell" role="gridcell"></div>`;
      const v = item.aggs[c.id];
      return html`<div key=${c.id} class="cell num group-agg" role="gridcell" data-col=${c.id}
        title=${ctx.agg + " of " + c.label}>${v === null || v === undefined ? "" : formatValue(v)}</div>`;
    })}
  </div>`;
}

const CTX_FIELDS = ["table", "columns", "nested", "experimentNames", "onSelect", "onToggleRun", "onToggleGroup", "groupCol", "agg"];

/**
 * Row vnodes of the rows in view, reusing last render's vnode for a row whose inputs did not
 * change: Preact skips an identical vnode, so scrolling only builds the rows that came in.
 */
function useRowCache() {
  const cache = useRef({ ctx: null, rows: new Map() });
  return (ctx, items, start, end, selected) => {
    const c = cache.current;
    if (!c.ctx || CTX_FIELDS.some((f) => c.ctx[f] !== ctx[f])) c.rows = new Map();
    c.ctx = ctx;
    const next = new Map();
    const out = [];
    for (let k = start; k < end; k++) {
      const item = items[k];
      const key = item.kind === "group" ? "g" + item.key : ctx.table.runId[item.i];
      const sel = item.kind === "run" && selected.has(key);
      const hit = c.rows.get(key);
      const vnode =
        hit && hit.item === item && hit.k === k && hit.sel === sel
          ? hit.vnode
          : item.kind === "group"
            ? groupRow(ctx, item, k)
            : runRow(ctx, item, k, sel);
      next.set(key, { item, k, sel, vnode });
      out.push(vnode);
    }
    c.rows = next;
    return out;
  };
}

/**
 * The table. `items` come from runs-model.buildItems; `columns` from buildColumns.
 * `ready`/`sortAttr` feed the data-ready/data-sort attributes tests and benchmarks wait on.
 */
export function RunsTable({
  table,
  items,
  columns,
  sort,
  onSort,
  selected,
  onSelect,
  onSelectAll,
  onToggleRun,
  onToggleGroup,
  groupCol,
  agg,
  experimentNames,
  ready,
  sortAttr,
  emptyMessage,
}) {
  const scroller = useRef(null);
  const [first, setFirst] = useState(0);
  const [viewHeight, setViewHeight] = useState(800);
  const pendingFocus = useRef(null);
  const frame = useRef(0);
  const rowVnodes = useRowCache();

  const onScroll = useCallback(() => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      const el = scroller.current;
      if (el) setFirst(Math.floor(el.scrollTop / ROW_HEIGHT));
    });
  }, []);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return undefined;
    const measure = () => setViewHeight(el.clientHeight || 800);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => {
      observer.disconnect();
      if (frame.current) cancelAnimationFrame(frame.current);
    };
  }, []);

  // Items shrank below the scroll position (a filter): the browser clamps scrollTop; follow it.
  useEffect(() => {
    const el = scroller.current;
    if (el && first * ROW_HEIGHT > el.scrollTop + ROW_HEIGHT) setFirst(Math.floor(el.scrollTop / ROW_HEIGHT));
  }, [items.length]);

  useLayoutEffect(() => {
    const want = pendingFocus.current;
    if (!want || !scroller.current) return;
    const row = scroller.current.querySelector(`[data-index="${want.index}"]`);
    if (!row) return;
    pendingFocus.current = null;
    const target = row.querySelector(`[data-focus="${want.kind}"]`) || row.querySelector("[data-focus]");
    if (target) target.focus();
  });

  const onKeyDown = (e) => {
    const row = e.target.closest && e.target.closest("[data-index]");
    if (!row || !scroller.current) return;
    const index = Number(row.dataset.index);
    const item = items[index];
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const next = index + (e.key === "ArrowDown" ? 1 : -1);
      if (next < 0 || next >= items.length) return;
      e.preventDefault();
      const el = scroller.current;
      const top = next * ROW_HEIGHT;
      const headerH = el.querySelector(".runs-head")?.offsetHeight || 0;
      if (top < el.scrollTop) el.scrollTop = top;
      else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight - headerH) {
        el.scrollTop = top + ROW_HEIGHT - el.clientHeight + headerH;
      }
      pendingFocus.current = { index: next, kind: e.target.dataset.focus || "link" };
      setFirst(Math.floor(el.scrollTop / ROW_HEIGHT));
      // Already rendered: focus now (the layout effect only runs on a re-render).
      const target = el.querySelector(`[data-index="${next}"]`);
      if (target) {
        const ctl = target.querySelector(`[data-focus="${pendingFocus.current.kind}"]`) || target.querySelector("[data-focus]");
        if (ctl) {
          pendingFocus.current = null;
          ctl.focus();
        }
      }
    } else if ((e.key === "ArrowRight" || e.key === "ArrowLeft") && item && e.target.tagName !== "INPUT") {
      const open = e.key === "ArrowRight";
      if (item.kind === "group" && item.open !== open) {
        e.preventDefault();
        onToggleGroup(item.key);
      } else if (item.kind === "run" && item.childCount > 0 && item.open !== open) {
        e.preventDefault();
        onToggleRun(table.runId[item.i]);
      }
    }
  };

  const gridTemplate = columns.map((c) => c.width + "px").join(" ");
  const totalWidth = columns.reduce((s, c) => s + c.width, 0);
  const visible = Math.ceil(viewHeight / ROW_HEIGHT) + 1;
  const start = Math.max(0, Math.min(first, items.length) - OVERSCAN);
  const end = Math.min(items.length, first + visible + OVERSCAN);
  const nested = useMemo(
    () => items.some((it) => it.kind === "run" && (it.childCount > 0 || it.depth > (groupCol ? 1 : 0))),
    [items, groupCol],
  );

  const ids = table ? table.runId : [];
  let selectedCount = 0;
  for (const id of selected) if (table && table.index.has(id)) selectedCount++;
  const all = ids.length > 0 && selectedCount === ids.length;
  const some = selectedCount > 0 && !all;
  const header = useMemo(() => {
    const selectAll = html`<input type="checkbox" aria-label="Select all runs" checked=${all}
      ref=${(el) => el && (el.indeterminate = some)}
      onClick=${(e) => onSelectAll(e.currentTarget.checked)} />`;
    return columns.map((c) => html`<${HeaderCell} key=${c.id} col=${c} sort=${sort} onSort=${onSort} selectAll=${selectAll} />`);
  }, [columns, sort && sort.col, sort && sort.dir, onSort, all, some, onSelectAll]);

  const ctx = { table, columns, nested, experimentNames, onSelect, onToggleRun, onToggleGroup, groupCol, agg };
  const rows = table ? rowVnodes(ctx, items, start, end, selected) : [];

  return html`<div class="runs-table" data-testid="runs-table" data-ready=${ready ? "true" : "false"}
      data-total=${table ? table.n : 0} data-sort=${sortAttr || undefined}>
    <div class="runs-scroll" ref=${scroller} onScroll=${onScroll} onKeyDown=${onKeyDown}>
      <div class="runs-grid" role="grid" aria-rowcount=${items.length + 1} aria-colcount=${columns.length}
          style=${`--grid-cols:${gridTemplate};width:max(100%, ${totalWidth}px)`}>
        <div class="runs-head" role="row">
          ${header}
        </div>
        <div class="runs-body" role="rowgroup" style=${`height:${items.length * ROW_HEIGHT}px`}>${rows}</div>
        ${table && items.length === 0 ? html`<div class="runs-empty muted">${emptyMessage || "No runs."}</div>` : null}
      </div>
    </div>
  </div>`;
}
