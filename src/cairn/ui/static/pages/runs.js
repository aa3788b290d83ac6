// The runs table of one or several experiments (#/experiments/1,2?filter=...&cols=...&sort=...).
//
// Every piece of view state that makes a view worth sharing (experiments, filter, columns,
// sort, group-by and its aggregate, active/deleted view) lives in the URL query; selection and
// which parents/groups are open are per-visit state. All rows of a query (up to MAX_ROWS) come
// in one columnar `runs/table` call, so sorting, grouping and nesting happen here without a
// round trip; only when the server truncated the rows does a sort go back to the server.

import {
  html,
  useState,
  useEffect,
  useMemo,
  useRef,
  useQueryParam,
  useAsync,
  navigate,
  href,
  searchIdentifier,
  ErrorBox,
  Spinner,
} from "../lib.js";
import { mlflow, cairn } from "../api.js";
import { normalizeTable, sortOrder, buildItems, splitColumn, hasColumn, CLIENT_ONLY_COLUMNS } from "../components/runs-model.js";
import { RunsTable, buildColumns } from "../components/runs-table.js";
import { FilterBox } from "../components/filter-box.js";
import { ColumnPicker } from "../components/column-picker.js";

const MAX_ROWS = 50000; // the server's cap per request
const KEYS_CACHE = "cairn.keys.";
const KEYS_CACHE_MAX_CHARS = 200_000;
const LIVE_INTERVAL_MS = 3000;
const DEFAULT_METRICS = 10;
const DEFAULT_PARAMS = 10;
const VIEW_TYPES = { active: "ACTIVE_ONLY", deleted: "DELETED_ONLY", all: "ALL" };
const NO_COLUMNS = "none";
const COLUMN_PREFIXES = ["metrics.", "params.", "tags."];

/** "metrics.loss:desc" -> {col, dir}; anything malformed -> null. */
function parseSort(text) {
  if (!text) return null;
  const cut = text.lastIndexOf(":");
  const col = cut < 0 ? text : text.slice(0, cut);
  const dir = cut < 0 ? "asc" : text.slice(cut + 1);
  if (!col || (dir !== "asc" && dir !== "desc")) return null;
  return { col, dir };
}

function defaultColumns(keys) {
  if (!keys) return null;
  return [
    ...keys.metrics.slice(0, DEFAULT_METRICS).map((k) => "metrics." + k),
    ...keys.params.slice(0, DEFAULT_PARAMS).map((k) => "params." + k),
  ];
}

/**
 * The keys last seen for these experiments (localStorage): the table's default columns follow
 * from the keys, so with a cached list the table request need not wait for the keys request.
 * A stale list only means the default columns change once the fresh one arrives.
 */
function cachedKeys(idsKey) {
  try {
    const keys = JSON.parse(localStorage.getItem(KEYS_CACHE + idsKey) || "null");
    return keys && Array.isArray(keys.metrics) && Array.isArray(keys.params) && Array.isArray(keys.tags) ? keys : null;
  } catch {
    return null;
  }
}

function rememberKeys(idsKey, keys) {
  try {
    const text = JSON.stringify(keys);
    if (text.length <= KEYS_CACHE_MAX_CHARS) localStorage.setItem(KEYS_CACHE + idsKey, text);
  } catch {
    // Storage full or disabled: the cache is an optimisation only.
  }
}

/** Run `fn` over `items` with at most `limit` calls in flight. */
async function inBatches(items, limit, fn) {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    while (queue.length) await fn(queue.shift());
  });
  await Promise.all(workers);
}

function PageHeader({ ids, experiments }) {
  const names = ids.map((id) => (experiments && experiments[id] ? experiments[id].name : id));
  const title = ids.length === 1 ? names[0] : `${ids.length} experiments`;
  return html`<div class="runs-header">
    <nav class="crumbs" aria-label="Breadcrumb"><a href=${href("/")}>Experiments</a> <span aria-hidden="true">/</span></nav>
    <h1 title=${names.join(", ")}>${title}</h1>
    ${ids.length === 1
      ? html`<span class="muted">ID ${ids[0]}</span>`
      : html`<span class="muted exp-list">${names.join(", ")}</span>`}
  </div>`;
}

function SelectionActions({ selectedIds, view, metricKeys, defaultMetric, onDone, table }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [metric, setMetric] = useState("");
  const n = selectedIds.length;
  const chosenMetric = metric && metricKeys.includes(metric) ? metric : defaultMetric || metricKeys[0] || "";
  const deletedSel = selectedIds.filter((id) => table && table.lifecycleStage[table.index.get(id)] === "deleted");
  const activeSel = selectedIds.filter((id) => !deletedSel.includes(id));

  const act = async (endpoint, ids) => {
    setBusy(true);
    setError(null);
    try {
      await inBatches(ids, 8, (id) => mlflow.post(endpoint, { run_id: id }));
    } catch (e) {
      setError(e);
    }
    setBusy(false);
    setConfirming(false);
    onDone();
  };

  return html`<div class="selection-actions" role="group" aria-label="Selected runs">
    <span class="muted sel-count" aria-live="polite">${n} selected</span>
    <button type="button" data-testid="compare-button" class=${n >= 2 ? "primary" : ""} disabled=${n < 2}
      title="Compare the selected runs" onClick=${() => navigate("/compare", { runs: selectedIds.join(",") })}>
      Compare${n ? ` (${n})` : ""}</button>
    <span class="chart-pick">
      <select aria-label="Metric to chart" value=${chosenMetric} disabled=${!metricKeys.length}
          onChange=${(e) => setMetric(e.currentTarget.value)} data-testid="chart-metric">
        ${metricKeys.map((k) => html`<option value=${k} key=${k}>${k}</option>`)}
      </select>
      <button type="button" data-testid="chart-button" disabled=${n < 1 || !chosenMetric}
        title="Chart this metric for the selected runs"
        onClick=${() => navigate("/metric", { runs: selectedIds.join(","), key: chosenMetric })}>Chart</button>
    </span>
    ${view !== "deleted" && !confirming
      ? html`<button type="button" class="danger" data-testid="delete-runs" disabled=${!activeSel.length || busy}
          onClick=${() => setConfirming(true)}>Delete</button>`
      : null}
    ${confirming
      ? html`<span class="confirm" role="alert">Delete ${activeSel.length} run${activeSel.length === 1 ? "" : "s"}?
          <button type="button" class="danger" data-testid="confirm-delete" disabled=${busy}
            onClick=${() => act("runs/delete", activeSel)}>Delete</button>
          <button type="button" onClick=${() => setConfirming(false)}>Cancel</button></span>`
      : null}
    ${view !== "active"
      ? html`<button type="button" data-testid="restore-runs" disabled=${!deletedSel.length || busy}
          onClick=${() => act("runs/restore", deletedSel)}>Restore${deletedSel.length ? ` (${deletedSel.length})` : ""}</button>`
      : null}
    <${ErrorBox} error=${error} />
  </div>`;
}

export default function RunsPage({ route }) {
  const ids = useMemo(() => route.segments[1].split(",").filter(Boolean), [route.segments[1]]);
  const idsKey = ids.join(",");
  const [filter, setFilter] = useQueryParam("filter", "");
  const [colsParam, setColsParam] = useQueryParam("cols", "");
  const [sortParam, setSortParam] = useQueryParam("sort", "");
  const [groupCol, setGroupCol] = useQueryParam("group", "");
  const [agg, setAgg] = useQueryParam("agg", "mean");
  const [view, setView] = useQueryParam("view", "active");
  const [limitParam, setLimit] = useQueryParam("limit", "");
  const limit = Math.min(MAX_ROWS, Math.max(1, Math.floor(Number(limitParam)) || MAX_ROWS));
  const viewType = VIEW_TYPES[view] ? view : "active";

  const [selected, setSelected] = useState(() => new Set());
  const [expanded, setExpanded] = useState(() => new Set());
  const [collapsedGroups, setCollapsedGroups] = useState(() => new Set());
  const lastClicked = useRef(null);
  const truncatedFor = useRef("");
  const [live, setLive] = useState(false);
  // Another set of experiments (same page instance): start a fresh selection.
  useEffect(() => {
    setSelected(new Set());
    setExpanded(new Set());
    setCollapsedGroups(new Set());
  }, [idsKey]);

  const experiments = useAsync(async () => {
    const found = await Promise.all(ids.map((id) => mlflow.get("experiments/get", { experiment_id: id })));
    return Object.fromEntries(found.map((r) => [r.experiment.experiment_id, r.experiment]));
  }, [idsKey]);
  const keysState = useAsync(async () => {
    const fresh = await cairn.get("experiments/keys", { experiment_ids: ids });
    rememberKeys(idsKey, fresh);
    return fresh;
  }, [idsKey]);
  const staleKeys = useMemo(() => cachedKeys(idsKey), [idsKey]);
  const keys = keysState.data || staleKeys;

  const chosen = useMemo(() => {
    if (!colsParam) return defaultColumns(keys);
    if (colsParam === NO_COLUMNS) return [];
    return [...new Set(colsParam.split(",").filter((c) => COLUMN_PREFIXES.some((p) => c.startsWith(p))))];
  }, [colsParam, keys]);
  const setChosen = (cols) => setColsParam(cols.length ? cols.join(",") : NO_COLUMNS);

  const sort = parseSort(sortParam);
  const requested = chosen ? [...new Set([...chosen, ...(groupCol ? [groupCol] : [])])] : null;
  const baseKey = JSON.stringify([idsKey, filter, requested, viewType, limit]);
  // The server orders rows only when it could not send them all; otherwise sorting is local.
  const serverSort = truncatedFor.current === baseKey && sort && !CLIENT_ONLY_COLUMNS.has(sort.col) ? sortParam : "";
  const queryKey = baseKey + "|" + serverSort;

  const tableState = useAsync(
    async () => {
      if (!requested) return null;
      const body = {
        experiment_ids: ids,
        filter,
        // Keys such as "my key" must be backquoted in the search language.
        order_by:
          sort && !CLIENT_ONLY_COLUMNS.has(sort.col) ? [`${searchIdentifier(sort.col)} ${sort.dir.toUpperCase()}`] : [],
        run_view_type: VIEW_TYPES[viewType],
        columns: requested,
        max_results: limit,
      };
      const resp = await cairn.post("runs/table", body);
      const table = normalizeTable(resp, requested);
      if (table.truncated) truncatedFor.current = baseKey;
      return { key: queryKey, sortedBy: body.order_by.length ? sortParam : "", table };
    },
    [queryKey],
    { intervalMs: live ? LIVE_INTERVAL_MS : 0 },
  );
  const result = tableState.data;
  const table = result ? result.table : null;
  const running = Boolean(table && table.status.includes("RUNNING"));
  // Live view: while a shown run is running, refresh quietly (rows update in place).
  useEffect(() => setLive(running), [running]);

  const serverOrdered = Boolean(table && table.truncated && sort && result.sortedBy === sortParam);
  const order = useMemo(() => {
    if (!table) return new Uint32Array(0);
    if (!sort || serverOrdered) return sortOrder(table, null, "asc");
    return sortOrder(table, sort.col, sort.dir);
  }, [table, sort && sort.col, sort && sort.dir, serverOrdered]);

  const metricCols = (chosen || []).filter((c) => c.startsWith("metrics."));
  // Group once the rows carry the group column: the table loaded before the choice would show
  // every run in the "no value" group for a moment.
  const groupBy = groupCol && table && hasColumn(table, groupCol) ? groupCol : null;
  const items = useMemo(
    () =>
      table
        ? buildItems(table, order, {
            groupCol: groupBy,
            expanded,
            collapsedGroups,
            agg,
            metricCols,
          })
        : [],
    [table, order, groupBy, expanded, collapsedGroups, agg, metricCols.join(",")],
  );

  const columns = useMemo(() => buildColumns(chosen || [], { showExperiment: ids.length > 1 }), [chosen, ids.length]);
  const experimentNames = useMemo(() => {
    const out = {};
    for (const [id, e] of Object.entries(experiments.data || {})) out[id] = e.name;
    return out;
  }, [experiments.data]);

  const ready = Boolean(result && result.key === queryKey && !tableState.loading);
  // data-sort: set once rows in that order are what is drawn (locally sorted, or the server's
  // order when it truncated; a computed column sorts the loaded rows either way).
  const sortedHere = table && (!table.truncated || serverOrdered || CLIENT_ONLY_COLUMNS.has(sort?.col));
  const sortAttr = sort && sortedHere ? `${sort.col}:${sort.dir}` : "";

  const onSort = (col) => {
    const dir = sort && sort.col === col && sort.dir === "asc" ? "desc" : "asc";
    setSortParam(`${col}:${dir}`);
  };
  const onSelect = (id, checked, shift) => {
    const next = new Set(selected);
    const here = items.findIndex((it) => it.kind === "run" && table.runId[it.i] === id);
    if (shift && lastClicked.current !== null && here >= 0) {
      const [a, b] = [Math.min(lastClicked.current, here), Math.max(lastClicked.current, here)];
      for (let k = a; k <= b; k++) {
        const it = items[k];
        if (it && it.kind === "run") {
          if (checked) next.add(table.runId[it.i]);
          else next.delete(table.runId[it.i]);
        }
      }
    } else if (checked) next.add(id);
    else next.delete(id);
    lastClicked.current = here >= 0 ? here : null;
    setSelected(next);
  };
  const onSelectAll = (checked) => setSelected(checked && table ? new Set(table.runId) : new Set());
  const toggleIn = (setter) => (key) =>
    setter((prev) => {
      const next = new Set(prev);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const selectedIds = table ? [...selected].filter((id) => table.index.has(id)) : [];
  const groupOptions = keys ? [...keys.params.map((k) => "params." + k), ...keys.tags.map((k) => "tags." + k)] : [];
  // The search language's errors ("Invalid filter '...': ... at position n") go under the box.
  const filterError =
    tableState.error && tableState.error.status === 400 && /filter/i.test(tableState.error.message)
      ? tableState.error.message
      : null;
  const otherError = tableState.error && !filterError ? tableState.error : null;
  const defaultMetric = metricCols.length ? splitColumn(metricCols[0])[1] : "";

  return html`<div class="page runs-page">
    <${PageHeader} ids=${ids} experiments=${experiments.data} />
    <${ErrorBox} error=${experiments.error} />
    <${ErrorBox} error=${keysState.error} />
    <${FilterBox} value=${filter} onApply=${setFilter} keys=${keys} error=${filterError}
      busy=${tableState.loading} />
    <div class="toolbar runs-toolbar">
      <${ColumnPicker} keys=${keys || { params: [], metrics: [], tags: [] }} chosen=${chosen || []} onChange=${setChosen} />
      <label class="inline-field">Group by
        <select value=${groupCol} data-testid="group-by" onChange=${(e) => { setCollapsedGroups(new Set()); setGroupCol(e.currentTarget.value); }}>
          <option value="">none</option>
          ${groupCol && !groupOptions.includes(groupCol) ? html`<option value=${groupCol}>${groupCol}</option>` : null}
          ${groupOptions.map((c) => html`<option value=${c} key=${c}>${c}</option>`)}
        </select>
      </label>
      ${groupCol
        ? html`<label class="inline-field">Aggregate
            <select value=${agg} data-testid="group-agg" onChange=${(e) => setAgg(e.currentTarget.value)}>
              <option value="mean">mean</option><option value="min">min</option><option value="max">max</option>
            </select></label>`
        : null}
      <label class="inline-field">Show
        <select value=${viewType} data-testid="view-type" onChange=${(e) => { setSelected(new Set()); setView(e.currentTarget.value); }}>
          <option value="active">active runs</option>
          <option value="deleted">deleted runs</option>
          <option value="all">active and deleted</option>
        </select>
      </label>
      <span class="spacer"></span>
      <${SelectionActions} selectedIds=${selectedIds} view=${viewType} table=${table}
        metricKeys=${keys ? keys.metrics : []} defaultMetric=${defaultMetric}
        onDone=${() => { setSelected(new Set()); tableState.reload(); }} />
    </div>
    <div class="runs-status muted" aria-live="polite">
      ${table
        ? html`<span data-testid="run-count">${table.n.toLocaleString()} run${table.n === 1 ? "" : "s"}</span>
            ${table.truncated
              ? html` <span class="warn-text">(the first ${table.n.toLocaleString()}; sorting asks the server)</span>
                  ${limit < MAX_ROWS
                    ? html` <button type="button" class="link-button" data-testid="load-all"
                        onClick=${() => setLimit("")}>load up to ${MAX_ROWS.toLocaleString()}</button>`
                    : html` <span class="warn-text">narrow the filter to see the rest</span>`}`
              : null}
            ${running ? html` <span class="live-dot" title="Live: refreshing while runs are running">live</span>` : null}
            ${tableState.loading ? html` <span>updating…</span>` : null}`
        : null}
    </div>
    <${ErrorBox} error=${otherError} />
    ${table
      ? html`<${RunsTable} table=${table} items=${items} columns=${columns} sort=${sort} onSort=${onSort}
          selected=${selected} onSelect=${onSelect} onSelectAll=${onSelectAll}
          onToggleRun=${toggleIn(setExpanded)} onToggleGroup=${toggleIn(setCollapsedGroups)}
          groupCol=${groupBy} agg=${agg} experimentNames=${experimentNames}
          ready=${ready} sortAttr=${sortAttr}
          emptyMessage=${filter ? "No runs match the filter." : "No runs yet."} />`
      : tableState.error || keysState.error
        ? null
        : html`<div data-testid="runs-table" data-ready="false"><${Spinner} label="Loading runs" /></div>`}
  </div>`;
}
