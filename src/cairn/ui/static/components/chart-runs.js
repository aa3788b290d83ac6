// Runs named in a chart or compare URL, loaded with as few requests as the API allows, and the
// small accessors the chart pages read them through.

import { mlflow } from "../api.js";

const IN_CHUNK = 200; // ids per `attributes.run_id IN (...)` filter
const SAFE_ID = /^[A-Za-z0-9_-]+$/; // ids that can be quoted into a filter as they are

/** The run ids of a `runs=a,b,c` query value, in order, without repeats or blanks. */
export function parseRunIds(value) {
  return [...new Set(String(value || "").split(",").map((s) => s.trim()).filter(Boolean))];
}

async function searchIn(experimentId, ids) {
  const found = [];
  for (let i = 0; i < ids.length; i += IN_CHUNK) {
    const chunk = ids.slice(i, i + IN_CHUNK);
    const filter = `attributes.run_id IN (${chunk.map((id) => `'${id}'`).join(", ")})`;
    let token = null;
    do {
      const body = { experiment_ids: [experimentId], filter, run_view_type: "ALL", max_results: 1000 };
      if (token) body.page_token = token;
      const page = await mlflow.post("runs/search", body);
      found.push(...(page.runs || []));
      token = page.next_page_token || null;
    } while (token);
  }
  return found;
}

/**
 * The runs with these ids: {runs (in the given order), missing (ids that do not exist)}.
 *
 * runs/search needs experiment ids, which a compare link does not carry: one runs/get finds an
 * experiment, one search per experiment fetches every other requested run in it. Runs of one
 * experiment (the usual case) therefore cost two requests however many there are.
 */
export async function loadRuns(runIds) {
  const found = new Map();
  const missing = [];
  const searched = new Set();
  let pending = [...runIds];
  while (pending.length) {
    const id = pending[0];
    let run = null;
    try {
      run = (await mlflow.get("runs/get", { run_id: id })).run;
    } catch (error) {
      if (error.status !== 404 && error.status !== 400) throw error;
    }
    if (run) {
      found.set(id, run);
      const experimentId = run.info.experiment_id;
      if (!searched.has(experimentId)) {
        searched.add(experimentId);
        const rest = pending.slice(1).filter((r) => SAFE_ID.test(r));
        for (const other of await searchIn(experimentId, rest)) {
          found.set(other.info.run_id, other);
        }
      }
    } else {
      missing.push(id);
    }
    pending = pending.filter((r) => !found.has(r) && !missing.includes(r));
  }
  return { runs: runIds.filter((id) => found.has(id)).map((id) => found.get(id)), missing };
}

function toObject(list) {
  const out = {};
  for (const { key, value } of list || []) out[key] = value;
  return out;
}

/** A metric value as a number ("NaN"/"Infinity" strings from the JSON included). */
export function metricNumber(value) {
  if (typeof value === "number") return value;
  const n = Number(value);
  return Number.isNaN(n) && value !== "NaN" ? null : n;
}

/** {params, metrics (latest values, numbers), tags} of a run as plain objects. */
export function runFields(run) {
  const metrics = {};
  for (const m of run.data?.metrics || []) metrics[m.key] = metricNumber(m.value);
  return { params: toObject(run.data?.params), metrics, tags: toObject(run.data?.tags) };
}

/** The name a person knows the run by. */
export function runName(run) {
  const info = run.info || {};
  if (info.run_name) return info.run_name;
  const tag = (run.data?.tags || []).find((t) => t.key === "mlflow.runName");
  return tag ? tag.value : String(info.run_id || "").slice(0, 8);
}

/** A string as a number when it is one (params are strings), else null. */
export function asNumber(value) {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string" || value.trim() === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/**
 * The params and latest metrics of `entries` ([{runId, fields}]) as plot dimensions:
 * {key ("params.lr"), label, kind, values (Map runId -> number or string), numeric}. A param is
 * numeric when every value it has is a number; metric values that are not finite are left out.
 */
export function dimensionsOf(entries) {
  const dims = [];
  const collect = (kind, pick) => {
    const keys = new Set();
    for (const e of entries) for (const k of Object.keys(pick(e))) keys.add(k);
    for (const key of [...keys].sort()) {
      const values = new Map();
      let numeric = true;
      for (const e of entries) {
        const raw = pick(e)[key];
        if (raw === undefined || raw === null) continue;
        const n = asNumber(raw);
        if (kind === "metric") {
          if (n !== null) values.set(e.runId, n);
          continue;
        }
        if (n === null) numeric = false;
        values.set(e.runId, raw);
      }
      if (numeric) for (const [id, v] of values) values.set(id, asNumber(v));
      const prefix = kind === "param" ? "params." : "metrics.";
      dims.push({ key: prefix + key, label: key, kind, values, numeric: numeric && values.size > 0 });
    }
  };
  collect("param", (e) => e.fields.params);
  collect("metric", (e) => e.fields.metrics);
  return dims;
}
