// The overview tab of a run in three groups: details, description and tags; metrics and
// parameters; datasets and models. css/run.css lays them out in one, two or three columns.

import { html } from "../lib.js";
import { TAG, tagsOf } from "./run-common.js";
import { RunDetails } from "./run-details.js";
import { RunDescription } from "./run-description.js";
import { TagsEditor } from "./run-tags.js";
import { MetricsTable, ParamsTable } from "./run-data-tables.js";
import { RunDatasets } from "./run-datasets.js";
import { RunModels } from "./run-models.js";

export function RunOverview({ run, live, onChanged }) {
  const id = run.info.run_id;
  const tags = tagsOf(run);
  const data = run.data || {};
  return html`<div class="run-overview" data-testid="run-overview">
    <div class="run-col run-col-a">
      <${RunDetails} run=${run} tags=${tags} live=${live} onChanged=${onChanged} />
      <${RunDescription} runId=${id} text=${tags[TAG.note] || ""} onChanged=${onChanged} />
      <${TagsEditor} runId=${id} tags=${data.tags || []} onChanged=${onChanged} />
    </div>
    <div class="run-col run-col-b">
      <${MetricsTable} runId=${id} metrics=${data.metrics || []} />
      <${ParamsTable} params=${data.params || []} />
    </div>
    <div class="run-col run-col-c">
      <${RunDatasets} inputs=${run.inputs} />
      <${RunModels} run=${run} tags=${tags} />
    </div>
  </div>`;
}
