// The "Files of" choice above the artifact tree: the run's own artifacts or one of the run's
// logged models (MLflow 3 keeps a model's files at its own location, outside the run's). The
// choice is the `model` query parameter, so a model's files are a shareable link too.

import { html, useAsync, navigate } from "../lib.js";
import { loadModels } from "./run-models.js";

/** Props: run (the page's run), source (the one shown, artifact-source.js). */
export function ArtifactSourcePicker({ run, source }) {
  const runId = run.info.run_id;
  const { data } = useAsync(
    () => loadModels(run).then((models) => models.filter((m) => !m.missing)),
    [runId, JSON.stringify(run.outputs || {})],
  );
  const models = data || [];
  const current = source.kind === "model" ? source.id : "";
  if (!models.length && !current) return html`<span class="muted">Files</span>`;
  // A link may name a model this run does not list (or the list is still loading): keep it.
  const shown = models.find((m) => m.info.model_id === current);
  const title = !current
    ? "The run's artifacts"
    : "Logged model " + (shown && shown.info.name ? `${shown.info.name} (${current})` : current);
  const choose = (ev) => {
    const model = ev.currentTarget.value;
    navigate("/runs/" + encodeURIComponent(runId), { tab: "artifacts", model });
  };
  return html`<label class="artifact-source">
    <span class="muted">Files of</span>
    <select value=${current} onChange=${choose} title=${title} data-testid="artifact-source">
      <option value="">Run artifacts</option>
      <optgroup label="Logged models">
        ${models.map((m) => html`<option key=${m.info.model_id} value=${m.info.model_id}>${m.info.name || m.info.model_id}</option>`)}
        ${current && !shown ? html`<option value=${current}>${current}</option>` : null}
      </optgroup>
    </select>
  </label>`;
}
