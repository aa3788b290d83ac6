// Whose files the artifact browser shows: a run's artifacts, or (MLflow 3) a logged model's,
// which live at the model's own artifact_location outside the run's. The tree and the preview
// read files only through a source, so one browser serves both.
//
// A source: {kind, id, key, label, emptyText, list(dir) -> {files}, fileUrl(path),
// downloadUrl(path), table(path, maxRows) | null}. `table` is the server's tabular reader
// (`artifacts/table`), which reads run artifacts only: null for a model.

import { mlflow, cairn, artifactUrl, modelArtifactUrl } from "../api.js";

export function runSource(runId) {
  return {
    kind: "run",
    id: runId,
    key: "run:" + runId,
    label: "Run artifacts",
    emptyText: "This run has no artifacts.",
    list: (dir) => mlflow.get("artifacts/list", { run_id: runId, path: dir || undefined }),
    fileUrl: (path) => artifactUrl(runId, path),
    downloadUrl: (path) => artifactUrl(runId, path) + "&download=1",
    table: (path, maxRows) => cairn.get("artifacts/table", { run_id: runId, path, max_rows: maxRows }),
  };
}

export function modelSource(modelId) {
  const base = "logged-models/" + encodeURIComponent(modelId) + "/artifacts/";
  return {
    kind: "model",
    id: modelId,
    key: "model:" + modelId,
    label: "Logged model " + modelId,
    emptyText: "This model has no files.",
    list: (dir) => mlflow.get(base + "directories", { artifact_directory_path: dir || undefined }),
    fileUrl: (path) => modelArtifactUrl(modelId, path),
    downloadUrl: (path) => modelArtifactUrl(modelId, path, { download: true }),
    table: null,
  };
}
