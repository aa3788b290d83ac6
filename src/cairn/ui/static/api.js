// The UI's only way to the data: MLflow's REST API (under /ajax-api/2.0/mlflow) and cairn's
// UI read endpoints (under /ajax-api/2.0/cairn), the same stores every client uses.

const BASE = new URL(".", document.baseURI);

export class ApiError extends Error {
  constructor(status, errorCode, message) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
  }
}

function url(path, params) {
  const u = new URL(path.replace(/^\//, ""), BASE);
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) v.forEach((item) => u.searchParams.append(k, String(item)));
      else u.searchParams.set(k, String(v));
    }
  }
  return u;
}

async function request(method, path, { params, body, signal } = {}) {
  const init = { method, headers: {}, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url(path, params), init);
  const text = await response.text();
  let data = {};
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text };
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, data.error_code || "", data.message || response.statusText);
  }
  return data;
}

/** MLflow's REST API: mlflow.get("experiments/search", {...}), mlflow.post("runs/set-tag", {...}). */
export const mlflow = {
  get: (endpoint, params) => request("GET", "ajax-api/2.0/mlflow/" + endpoint, { params }),
  post: (endpoint, body) => request("POST", "ajax-api/2.0/mlflow/" + endpoint, { body: body || {} }),
  patch: (endpoint, body) => request("PATCH", "ajax-api/2.0/mlflow/" + endpoint, { body: body || {} }),
  // MLflow's registry DELETEs carry JSON bodies, as its client sends them.
  delete: (endpoint, body) => request("DELETE", "ajax-api/2.0/mlflow/" + endpoint, { body: body || {} }),
};

/**
 * cairn's UI read endpoints (downsampled histories, the columnar runs table, key lists).
 * `options.signal` (an AbortSignal) cancels a request a newer one superseded (chart zooms).
 */
export const cairn = {
  get: (endpoint, params, options = {}) =>
    request("GET", "ajax-api/2.0/cairn/" + endpoint, { params, signal: options.signal }),
  post: (endpoint, body, options = {}) =>
    request("POST", "ajax-api/2.0/cairn/" + endpoint, { body: body || {}, signal: options.signal }),
};

/** URL of an artifact's bytes (for <img>, downloads and previews). */
export function artifactUrl(runId, path) {
  return url("get-artifact", { run_uuid: runId, path }).toString();
}

/** URL of a logged model's file (MLflow's `logged-models/<id>/artifacts/files`). */
export function modelArtifactUrl(modelId, path, { download = false } = {}) {
  const endpoint = "ajax-api/2.0/mlflow/logged-models/" + encodeURIComponent(modelId) + "/artifacts/files";
  return url(endpoint, { artifact_file_path: path, download: download ? "1" : undefined }).toString();
}

// ---------------------------------------------------------------------------------------------
// Model registry: MLflow's registered-models / model-versions endpoints and cairn's registry
// history and lineage. Versions travel as strings; the registry's wire messages are returned
// as the server sends them (tags [{key, value}], model aliases [{alias, version}], version
// aliases [string]).

export const registry = {
  /** One page of registered models: {registered_models, next_page_token}. */
  searchModels: ({ filter, orderBy, maxResults, pageToken } = {}) =>
    mlflow.get("registered-models/search", {
      filter: filter || undefined,
      order_by: orderBy && orderBy.length ? orderBy : undefined,
      max_results: maxResults,
      page_token: pageToken || undefined,
    }),
  getModel: (name) => mlflow.get("registered-models/get", { name }).then((r) => r.registered_model),
  updateModel: (name, description) => mlflow.patch("registered-models/update", { name, description }),
  renameModel: (name, newName) =>
    mlflow.post("registered-models/rename", { name, new_name: newName }).then((r) => r.registered_model),
  deleteModel: (name) => mlflow.delete("registered-models/delete", { name }),
  setModelTag: (name, key, value) => mlflow.post("registered-models/set-tag", { name, key, value }),
  deleteModelTag: (name, key) => mlflow.delete("registered-models/delete-tag", { name, key }),
  setAlias: (name, alias, version) =>
    mlflow.post("registered-models/alias", { name, alias, version: String(version) }),
  deleteAlias: (name, alias) => mlflow.delete("registered-models/alias", { name, alias }),

  /** One page of model versions: {model_versions, next_page_token}. */
  searchVersions: ({ filter, orderBy, maxResults, pageToken } = {}) =>
    mlflow.get("model-versions/search", {
      filter: filter || undefined,
      order_by: orderBy && orderBy.length ? orderBy : undefined,
      max_results: maxResults,
      page_token: pageToken || undefined,
    }),
  getVersion: (name, version) =>
    mlflow.get("model-versions/get", { name, version: String(version) }).then((r) => r.model_version),
  updateVersion: (name, version, description) =>
    mlflow.patch("model-versions/update", { name, version: String(version), description }),
  transitionStage: (name, version, stage, archiveExisting) =>
    mlflow
      .post("model-versions/transition-stage", {
        name,
        version: String(version),
        stage,
        archive_existing_versions: Boolean(archiveExisting),
      })
      .then((r) => r.model_version),
  setVersionTag: (name, version, key, value) =>
    mlflow.post("model-versions/set-tag", { name, version: String(version), key, value }),
  deleteVersionTag: (name, version, key) =>
    mlflow.delete("model-versions/delete-tag", { name, version: String(version), key }),
  createModel: (name) => mlflow.post("registered-models/create", { name }).then((r) => r.registered_model),
  createVersion: (name, fields) => mlflow.post("model-versions/create", { name, ...fields }).then((r) => r.model_version),
  /**
   * A new version of `dstName` (created if missing) copied from version `version` of `name`:
   * source `models:/<name>/<version>`, the source's run, logged model, tags and description.
   * The server does it with the store's copy (cairn's registry/copy-version).
   */
  copyVersion: (name, version, dstName) =>
    cairn.post("registry/copy-version", { name, version: String(version), dst_name: dstName }).then((r) => r.model_version),
  deleteVersion: (name, version) => mlflow.delete("model-versions/delete", { name, version: String(version) }),
  downloadUri: (name, version) =>
    mlflow.get("model-versions/get-download-uri", { name, version: String(version) }).then((r) => r.artifact_uri),

  /** Audit events, newest first: {events: [{event_id, timestamp, user_id, event, name, version, before, after}], next_page_token}. */
  history: ({ name, version, maxResults, pageToken }) =>
    cairn.get("registry/history", {
      name,
      version: version === undefined || version === null ? undefined : String(version),
      max_results: maxResults,
      page_token: pageToken || undefined,
    }),
  /** Where a version came from: {name, version, source, run_id, run_name, experiment_id, git_commit, model_id, model_name, datasets}. */
  lineage: (name, version) => cairn.get("registry/lineage", { name, version: String(version) }).then((r) => r.lineage),
};

// ---------------------------------------------------------------------------------------------
// Webhooks: MLflow's /webhooks endpoints (answers add cairn's `cairn_events` and `has_secret`)
// and cairn's delivery log. Events travel as cairn's "entity.action" names, which the server
// accepts beside MLflow's {entity, action} objects.

/**
 * Every event a webhook may subscribe to, in the server's order. Mirrors WEBHOOK_EVENTS in
 * src/cairn/entities/webhook.py (tests/ui/test_webhooks_page.py checks that the two agree).
 */
export const WEBHOOK_EVENTS = [
  "registered_model.created",
  "registered_model.updated",
  "registered_model.renamed",
  "registered_model.deleted",
  "registered_model_tag.set",
  "registered_model_tag.deleted",
  "model_version.created",
  "model_version.updated",
  "model_version.stage_changed",
  "model_version.deleted",
  "model_version_tag.set",
  "model_version_tag.deleted",
  "model_version_alias.created",
  "model_version_alias.deleted",
  "prompt.created",
  "prompt_version.created",
  "prompt_tag.set",
  "prompt_tag.deleted",
  "prompt_version_tag.set",
  "prompt_version_tag.deleted",
  "prompt_alias.created",
  "prompt_alias.deleted",
];

const webhookPath = (id) => "webhooks/" + encodeURIComponent(id);

export const webhooks = {
  /** One page: {webhooks: [{webhook_id, name, url, status, cairn_events, has_secret, ...}], next_page_token}. */
  list: ({ maxResults, pageToken } = {}) =>
    mlflow.get("webhooks", { max_results: maxResults, page_token: pageToken || undefined }),
  /** `events` as "entity.action" names; an empty secret means none. Resolves the webhook. */
  create: ({ name, url, events, secret, description }) =>
    mlflow
      .post("webhooks", { name, url, events, secret: secret || undefined, description: description || undefined })
      .then((r) => r.webhook),
  get: (id) => mlflow.get(webhookPath(id)).then((r) => r.webhook),
  setStatus: (id, status) => mlflow.patch(webhookPath(id), { status }).then((r) => r.webhook),
  delete: (id) => mlflow.delete(webhookPath(id)),
  /** Send one example event now: {result: {success, response_status, error_message}, delivery}. */
  test: (id) => mlflow.post(webhookPath(id) + "/test"),
  /** The delivery log, newest first: {deliveries: [...], next_page_token}. */
  deliveries: ({ webhookId, maxResults, pageToken }) =>
    cairn.get("webhooks/deliveries", {
      webhook_id: webhookId,
      max_results: maxResults,
      page_token: pageToken || undefined,
    }),
};
