// The run's models: MLflow 3 logged models (logged-models/search by source run, plus the run's
// `outputs`) and MLflow 2's `mlflow.log-model.history` records, each linked to its files in the
// artifacts tab (a logged model's own files: `?tab=artifacts&model=<id>`).

import { html, useAsync, formatTime, ErrorBox, Spinner, runHref } from "../lib.js";
import { mlflow } from "../api.js";
import { TAG, Section } from "./run-common.js";

const STATUS_CLASS = { READY: "finished", PENDING: "scheduled", FAILED: "failed", UPLOAD_FAILED: "failed" };

/** The run's logged models: by source run, then the run's model outputs (`missing` if gone). */
export async function loadModels(run) {
  const id = run.info.run_id;
  const found = /^[\w-]+$/.test(id)
    ? ((
        await mlflow.post("logged-models/search", {
          experiment_ids: [run.info.experiment_id],
          filter: `source_run_id = '${id}'`,
          max_results: 100,
        })
      ).models || [])
    : [];
  const known = new Set(found.map((m) => m.info.model_id));
  const outputs = ((run.outputs && run.outputs.model_outputs) || []).filter((o) => !known.has(o.model_id));
  const more = await Promise.all(
    outputs.map((o) =>
      mlflow.get("logged-models/" + encodeURIComponent(o.model_id)).then(
        (r) => r.model,
        () => ({ info: { model_id: o.model_id, name: "", status: "", artifact_uri: "" }, missing: true }),
      ),
    ),
  );
  return [...found, ...more];
}

/** A path inside the run's own artifacts, if `uri` is one (MLflow 2 style models). */
function runRelative(runArtifactUri, uri) {
  const root = (runArtifactUri || "").replace(/\/+$/, "") + "/";
  return uri && uri.startsWith(root) ? uri.slice(root.length) : null;
}

function LoggedModelCard({ model, run }) {
  const info = model.info;
  const status = String(info.status || "").replace(/^LOGGED_MODEL_/, "");
  const inRun = runRelative(run.info.artifact_uri, info.artifact_uri);
  return html`<li class="model" data-testid="logged-model" data-model-id=${info.model_id}>
    <div class="model-head">
      <strong>${info.name || info.model_id}</strong>
      ${status ? html`<span class=${"badge status-" + (STATUS_CLASS[status] || "scheduled")}>${status.toLowerCase().replace("_", " ")}</span>` : null}
      ${info.model_type ? html`<span class="muted">${info.model_type}</span>` : null}
      ${model.missing ? html`<span class="muted">(not found)</span>` : null}
    </div>
    <div class="model-meta muted">model id <code>${info.model_id}</code>
      ${info.creation_timestamp_ms ? html` · created ${formatTime(info.creation_timestamp_ms)}` : null}</div>
    ${info.artifact_uri
      ? html`<div class="model-meta muted">artifacts <code class="model-uri" title=${info.artifact_uri}>${info.artifact_uri}</code>
          ${inRun !== null
            ? html` <a href=${runHref(run.info.run_id, { tab: "artifacts", path: inRun + "/MLmodel" })}>Browse</a>`
            : model.missing
              ? null
              : html` <a href=${runHref(run.info.run_id, { tab: "artifacts", model: info.model_id })}
                  data-testid="model-files-link">Browse files</a>`}</div>`
      : null}
  </li>`;
}

function parseHistory(text) {
  try {
    const list = JSON.parse(text || "[]");
    return Array.isArray(list) ? list.filter((m) => m && typeof m === "object") : [];
  } catch {
    return [];
  }
}

function HistoryModel({ model, runId }) {
  const path = typeof model.artifact_path === "string" ? model.artifact_path : "";
  const flavors = model.flavors && typeof model.flavors === "object" ? Object.keys(model.flavors) : [];
  return html`<li class="model" data-testid="history-model">
    <div class="model-head">
      <strong>${path || "(model)"}</strong>
      ${flavors.map((f) => html`<span class="badge flavor" key=${f}>${f}</span>`)}
    </div>
    <div class="model-meta muted">
      ${model.utc_time_created ? html`logged ${String(model.utc_time_created)} UTC` : null}
      ${model.model_uuid ? html` · uuid <code>${String(model.model_uuid)}</code>` : null}
      ${path ? html` · <a href=${runHref(runId, { tab: "artifacts", path: path + "/MLmodel" })}>Browse</a>` : null}
    </div>
  </li>`;
}

export function RunModels({ run, tags }) {
  const { data, error } = useAsync(() => loadModels(run), [run.info.run_id, JSON.stringify(run.outputs || {})]);
  const history = parseHistory(tags[TAG.modelHistory]);
  const count = (data ? data.length : 0) + history.length;
  return html`<${Section} title="Models" count=${data ? count : undefined} testid="run-models">
    <${ErrorBox} error=${error} />
    ${!data && !error ? html`<${Spinner} />` : null}
    ${data && count === 0 ? html`<p class="muted">No logged models.</p>` : null}
    ${data && data.length
      ? html`<ul class="model-list">${data.map((m) => html`<${LoggedModelCard} key=${m.info.model_id} model=${m} run=${run} />`)}</ul>`
      : null}
    ${history.length
      ? html`<h3 class="run-subhead">Logged with log_model</h3>
          <ul class="model-list">${history.map((m, i) => html`<${HistoryModel} key=${i} model=${m} runId=${run.info.run_id} />`)}</ul>`
      : null}
  <//>`;
}
