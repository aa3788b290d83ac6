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
