// The run page's "Registered versions": the model versions made from this run
// (model-versions/search by run_id), each linking to its version page.

import { html, useAsync, searchLiteral, formatTime, ErrorBox, Spinner } from "../lib.js";
import { registry } from "../api.js";
import { Section } from "./run-common.js";
import { versionHref, modelHref, StageBadge } from "./registry-common.js";

const LIMIT = 200;

export function RunRegisteredVersions({ runId }) {
  const { data, error } = useAsync(
    () =>
      registry
        .searchVersions({ filter: "run_id = " + searchLiteral(runId), maxResults: LIMIT })
        .then((r) => r.model_versions || []),
    [runId],
  );
  const versions = data || [];
  return html`<${Section} title="Registered versions" count=${data ? versions.length : undefined}
      testid="run-registered-versions" className="run-registered-versions">
    <${ErrorBox} error=${error} />
    ${!data && !error ? html`<${Spinner} />` : null}
    ${data && !versions.length
      ? html`<p class="muted">Not registered. <code>cairn.register_model("runs:/${runId}/model", "name")</code> makes a version.</p>`
      : null}
    ${versions.length
      ? html`<ul class="registered-versions">${versions.map(
          (v) => html`<li key=${v.name + "/" + v.version} data-testid="run-registered-version"
              data-name=${v.name} data-version=${v.version}>
            <a href=${modelHref(v.name)} class="rv-model">${v.name}</a>
            <a href=${versionHref(v.name, v.version)} data-testid="run-version-link">version ${v.version}</a>
            ${(v.aliases || []).map((a) => html`<span class="badge alias-badge" key=${a}>@${a}</span>`)}
            ${v.current_stage && v.current_stage !== "None" ? html`<${StageBadge} stage=${v.current_stage} />` : null}
            <span class="muted" title=${formatTime(v.creation_timestamp)}>${formatTime(v.creation_timestamp).slice(0, 10)}</span>
          </li>`,
        )}</ul>
        ${versions.length >= LIMIT ? html`<p class="muted">First ${LIMIT} shown.</p>` : null}`
      : null}
  <//>`;
}
