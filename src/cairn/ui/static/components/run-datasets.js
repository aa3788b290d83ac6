// The run's inputs: each dataset with its digest, source, context tag, and schema/profile if any.

import { html } from "../lib.js";
import { TAG, Section } from "./run-common.js";

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** MLflow's `{"mlflow_colspec": [{name, type}]}` schemas as "name: type" chips; else pretty JSON. */
function Schema({ text }) {
  const parsed = parseJson(text);
  const cols = parsed && Array.isArray(parsed.mlflow_colspec) ? parsed.mlflow_colspec : null;
  if (cols) {
    return html`<ul class="dataset-schema">
      ${cols.map((c, i) => html`<li key=${i}><code>${String(c.name ?? "")}</code> <span class="muted">${String(c.type ?? "")}</span></li>`)}
    </ul>`;
  }
  return html`<pre>${parsed === undefined ? text : JSON.stringify(parsed, null, 2)}</pre>`;
}

function DatasetCard({ input }) {
  const ds = input.dataset || {};
  const tags = Object.fromEntries((input.tags || []).map((t) => [t.key, t.value]));
  const context = tags[TAG.datasetContext];
  const otherTags = Object.entries(tags).filter(([k]) => k !== TAG.datasetContext);
  return html`<li class="dataset" data-testid="dataset" data-name=${ds.name}>
    <div class="dataset-head">
      <strong class="dataset-name">${ds.name}</strong>
      ${context ? html`<span class="badge" data-testid="dataset-context">${context}</span>` : null}
      <span class="muted">${ds.source_type}</span>
    </div>
    <div class="dataset-meta muted">digest <code>${ds.digest}</code></div>
    ${ds.source ? html`<div class="dataset-meta muted" title=${ds.source}>source <code class="dataset-source">${ds.source}</code></div>` : null}
    ${otherTags.length
      ? html`<div class="dataset-meta muted">${otherTags.map(([k, v]) => html`<span class="kv" key=${k}>${k}=${v}</span>`)}</div>`
      : null}
    ${ds.schema ? html`<details><summary>Schema</summary><${Schema} text=${ds.schema} /></details>` : null}
    ${ds.profile ? html`<details><summary>Profile</summary><${Schema} text=${ds.profile} /></details>` : null}
  </li>`;
}

export function RunDatasets({ inputs }) {
  const datasets = (inputs && inputs.dataset_inputs) || [];
  return html`<${Section} title="Datasets" count=${datasets.length} testid="run-datasets">
    ${datasets.length
      ? html`<ul class="dataset-list">${datasets.map((d, i) => html`<${DatasetCard} key=${i} input=${d} />`)}</ul>`
      : html`<p class="muted">No dataset inputs.</p>`}
  <//>`;
}
