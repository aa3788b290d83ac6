// The runs table's data model: the columnar `runs/table` answer turned into what the table
// draws. Pure functions, no DOM: sorting (an index permutation over typed-array keys, so sorting
// 10,000 runs costs milliseconds and never copies the columns), nesting of child runs under
// their parent, grouping by a param or tag with aggregated metrics.
//
// A row is always an index into the columns; the display list ("items") holds run rows and
// group rows in the order they are drawn.

const NON_FINITE = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

/** Attributes the table shows as fixed columns; their ids double as `order_by` names. */
export const ATTRIBUTE_COLUMNS = {
  "attributes.status": "status",
  "attributes.run_name": "run_name",
  "attributes.start_time": "start_time",
  "attributes.end_time": "end_time",
  "attributes.user_id": "user_id",
  "attributes.experiment_id": "experiment_id",
};
/** Columns the server cannot order by (computed here). */
export const CLIENT_ONLY_COLUMNS = new Set(["duration"]);

/** "metrics.loss" -> ["metrics", "loss"]; attribute ids -> ["attributes", name]. */
export function splitColumn(col) {
  const dot = col.indexOf(".");
  return dot < 0 ? ["", col] : [col.slice(0, dot), col.slice(dot + 1)];
}

/**
 * The server's columnar answer with metric values as numbers (non-finite values arrive as the
 * strings "NaN", "Infinity", "-Infinity") and an id -> row index map.
 */
export function normalizeTable(resp, columns) {
  const n = resp.run_id.length;
  const cols = {};
  const given = resp.columns || {};
  for (const col of columns) {
    const raw = given[col];
    if (!raw) {
      cols[col] = new Array(n).fill(null);
    } else if (col.startsWith("metrics.")) {
      cols[col] = raw.map((v) => (typeof v === "string" ? (NON_FINITE[v] ?? Number(v)) : v));
    } else {
      cols[col] = raw;
    }
  }
  const index = new Map();
  resp.run_id.forEach((id, i) => index.set(id, i));
  return {
    n,
    runId: resp.run_id,
    runName: resp.run_name,
    experimentId: resp.experiment_id,
    status: resp.status,
    startTime: resp.start_time,
    endTime: resp.end_time,
    userId: resp.user_id,
    parentRunId: resp.parent_run_id || new Array(n).fill(null),
    lifecycleStage: resp.lifecycle_stage,
    columns: cols,
    index,
    truncated: Boolean(resp.next_page_token),
    nextPageToken: resp.next_page_token || null,
  };
}

/** Duration in ms (running runs: until now), or null. */
export function durationOf(table, i, now = Date.now()) {
  const start = table.startTime[i];
  if (!start) return null;
  const end = table.endTime[i];
  if (end) return Math.max(0, end - start);
  return table.status[i] === "RUNNING" ? Math.max(0, now - start) : null;
}

/** Whether `table` holds column `col` (one requested before it was loaded does not). */
export function hasColumn(table, col) {
  return col === "duration" || col in ATTRIBUTE_COLUMNS || col in table.columns;
}

/** The raw values of a column id, one per row. */
export function columnValues(table, col) {
  if (col === "duration") {
    const now = Date.now();
    return Array.from({ length: table.n }, (_, i) => durationOf(table, i, now));
  }
  const attr = ATTRIBUTE_COLUMNS[col];
  if (attr) {
    return {
      status: table.status,
      run_name: table.runName,
      start_time: table.startTime,
      end_time: table.endTime,
      user_id: table.userId,
      experiment_id: table.experimentId,
    }[attr];
  }
  return table.columns[col] || new Array(table.n).fill(null);
}

const NUMBER_TEXT = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/**
 * Sort keys of a column: a Float64Array with NaN for "no value" (sorted last). Numbers sort
 * numerically; strings sort numerically when every value reads as a number (params such as
 * "0.01"), else by their rank in natural (collated, digit-aware) order.
 */
export function sortKeys(values) {
  const n = values.length;
  const keys = new Float64Array(n);
  let allNumeric = true;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined || v === "") continue;
    if (typeof v !== "number" && !NUMBER_TEXT.test(v)) {
      allNumeric = false;
      break;
    }
  }
  if (allNumeric) {
    for (let i = 0; i < n; i++) {
      const v = values[i];
      keys[i] = v === null || v === undefined || v === "" ? NaN : Number(v);
    }
    return keys;
  }
  const distinct = [...new Set(values.filter((v) => v !== null && v !== undefined))].map(String);
  distinct.sort(collator.compare);
  const rank = new Map(distinct.map((v, r) => [v, r]));
  for (let i = 0; i < n; i++) {
    const v = values[i];
    keys[i] = v === null || v === undefined ? NaN : rank.get(String(v));
  }
  return keys;
}

/**
 * Row order for sorting by `col` in `dir` ("asc"|"desc"): a Uint32Array permutation. Rows
 * without a value (and NaN metrics) go last either way; ties keep the server's order.
 */
export function sortOrder(table, col, dir) {
  const n = table.n;
  if (!col) return Uint32Array.from({ length: n }, (_, i) => i);
  const keys = sortKeys(columnValues(table, col));
  const valued = new Uint32Array(n);
  const empty = new Uint32Array(n);
  let nv = 0;
  let ne = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(keys[i])) empty[ne++] = i;
    else valued[nv++] = i;
  }
  const head = valued.subarray(0, nv);
  const sign = dir === "desc" ? -1 : 1;
  head.sort((a, b) => {
    const d = keys[a] - keys[b];
    // Infinity - Infinity is NaN: equal keys.
    return (d > 0 ? sign : d < 0 ? -sign : 0) || a - b;
  });
  const order = new Uint32Array(n);
  order.set(head, 0);
  order.set(empty.subarray(0, ne), nv);
  return order;
}

/** Index of each run's parent among the loaded rows, or -1. */
function parentIndexes(table) {
  const parent = new Int32Array(table.n).fill(-1);
  for (let i = 0; i < table.n; i++) {
    const p = table.parentRunId[i];
    if (p) {
      const j = table.index.get(p);
      if (j !== undefined && j !== i) parent[i] = j;
    }
  }
  return parent;
}

/** mean/min/max of the finite numbers in `values` at `rows`, or null. */
export function aggregate(values, rows, how) {
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const i of rows) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isFinite(v)) continue;
    count++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!count) return null;
  if (how === "min") return min;
  if (how === "max") return max;
  return sum / count;
}

/**
 * Emit `members` (row indexes, in display order) as run items, each child under its parent
 * (children shown only when the parent is in `expanded`). A parent outside `members` makes a
 * run a root; a cycle in parent links is broken where it is first met.
 */
function nestRuns(table, members, parent, expanded, items, extraDepth) {
  const inSet = new Uint8Array(table.n);
  for (const i of members) inSet[i] = 1;
  const children = new Map();
  const roots = [];
  for (const i of members) {
    const p = parent[i];
    if (p >= 0 && inSet[p]) {
      let list = children.get(p);
      if (!list) children.set(p, (list = []));
      list.push(i);
    } else {
      roots.push(i);
    }
  }
  const seen = new Uint8Array(table.n);
  const emit = (start) => {
    const stack = [[start, 0]];
    while (stack.length) {
      const [i, depth] = stack.pop();
      if (seen[i]) continue;
      seen[i] = 1;
      const kids = children.get(i) || [];
      const open = kids.length > 0 && expanded.has(table.runId[i]);
      items.push({ kind: "run", i, depth: depth + extraDepth, childCount: kids.length, open });
      if (open) for (let k = kids.length - 1; k >= 0; k--) stack.push([kids[k], depth + 1]);
    }
  };
  for (const r of roots) emit(r);
  // Runs only reachable through a cycle: show them as roots rather than lose them.
  if (roots.length < members.length) {
    const reach = new Uint8Array(table.n);
    const mark = (start) => {
      const stack = [start];
      while (stack.length) {
        const i = stack.pop();
        if (reach[i]) continue;
        reach[i] = 1;
        for (const k of children.get(i) || []) stack.push(k);
      }
    };
    roots.forEach(mark);
    for (const i of members) {
      if (!reach[i]) {
        mark(i);
        emit(i);
      }
    }
  }
}

/**
 * The display list: run items `{kind: "run", i, depth, childCount, open}` and, when grouping,
 * group items `{kind: "group", key, value, count, open, aggs: {col: number|null}}` before
 * their runs. Groups are ordered by value (digit-aware), runs without the value last.
 */
export function buildItems(table, order, { groupCol, expanded, collapsedGroups, agg, metricCols }) {
  const parent = parentIndexes(table);
  const items = [];
  if (!groupCol) {
    nestRuns(table, order, parent, expanded, items, 0);
    return items;
  }
  const values = columnValues(table, groupCol);
  const groups = new Map();
  for (const i of order) {
    const v = values[i];
    const key = v === null || v === undefined ? "\u0000none" : "=" + v;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, value: v ?? null, rows: [] }));
    g.rows.push(i);
  }
  const sorted = [...groups.values()].sort((a, b) => {
    if (a.value === null) return b.value === null ? 0 : 1;
    if (b.value === null) return -1;
    return collator.compare(String(a.value), String(b.value));
  });
  for (const g of sorted) {
    const aggs = {};
    for (const col of metricCols) aggs[col] = aggregate(table.columns[col] || [], g.rows, agg);
    const open = !collapsedGroups.has(g.key);
    items.push({ kind: "group", key: g.key, value: g.value, count: g.rows.length, open, aggs });
    if (open) nestRuns(table, g.rows, parent, expanded, items, 1);
  }
  return items;
}
