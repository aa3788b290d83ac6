// The run page (#/runs/<run_id>?tab=overview|artifacts[&model=<model_id>][&path=...]): a header,
// then the overview or the artifacts browser (of the run's artifacts, or of one of its logged
// models' files with `model`). While the run is RUNNING it re-reads the run every 3 s, so status,
// metrics and duration stay live without a reload.

import { html, useState, useEffect, useMemo, useAsync, useQueryParam, ErrorBox, Spinner, runHref } from "../lib.js";
import { mlflow } from "../api.js";
import { RunHeader } from "../components/run-header.js";
import { RunOverview } from "../components/run-overview.js";
import { ArtifactBrowser } from "../components/artifact-browser.js";
import { runSource, modelSource } from "../components/artifact-source.js";
import { RunRegisteredVersions } from "../components/registry-run-versions.js";

const LIVE_MS = 3000;
const TABS = [
  ["overview", "Overview"],
  ["artifacts", "Artifacts"],
];

function Tabs({ runId, tab, path, model }) {
  return html`<nav class="tabs run-tabs" aria-label="Run sections">
    ${TABS.map(
      ([id, label]) => html`<a key=${id} href=${runHref(runId, id === "artifacts" ? { tab: id, model, path } : { tab: id })}
        class=${tab === id ? "active" : ""} aria-current=${tab === id ? "page" : undefined}
        data-testid=${"tab-" + id}>${label}</a>`,
    )}
  </nav>`;
}

export default function RunPage({ route }) {
  const runId = route.segments[1];
  const [tab] = useQueryParam("tab", "overview");
  const [path] = useQueryParam("path", "");
  const [modelId] = useQueryParam("model", "");
  const source = useMemo(() => (modelId ? modelSource(modelId) : runSource(runId)), [runId, modelId]);
  const [live, setLive] = useState(false);
  const { data: run, error, reload } = useAsync(
    () => mlflow.get("runs/get", { run_id: runId }).then((r) => r.run),
    [runId],
    { intervalMs: live ? LIVE_MS : 0 },
  );
  const status = run && run.info.run_id === runId ? run.info.status : null;
  useEffect(() => setLive(status === "RUNNING"), [status]);
  const experimentId = run ? run.info.experiment_id : null;
  const { data: experiment } = useAsync(
    () => (experimentId ? mlflow.get("experiments/get", { experiment_id: experimentId }).then((r) => r.experiment) : null),
    [experimentId],
  );
  useEffect(() => {
    if (run) document.title = (run.info.run_name || run.info.run_id) + " · cairn";
    return () => {
      document.title = "cairn";
    };
  }, [run && run.info.run_name]);

  const current = run && run.info.run_id === runId ? run : null;
  const activeTab = TABS.some(([id]) => id === tab) ? tab : "overview";
  return html`<div class="page run-page" data-testid="run-page" data-run-id=${runId}
      data-status=${current ? current.info.status : undefined} data-ready=${current ? "true" : "false"}>
    ${!current && error ? html`<h1>Run ${runId}</h1><${ErrorBox} error=${error} />` : null}
    ${!current && !error ? html`<${Spinner} label="Loading run" />` : null}
    ${current
      ? html`<${RunHeader} run=${current} experiment=${experiment} onChanged=${reload}
            live=${live} liveSeconds=${LIVE_MS / 1000} />
          ${current && error ? html`<${ErrorBox} error=${error} />` : null}
          <${Tabs} runId=${runId} tab=${activeTab} path=${path} model=${modelId} />
          ${activeTab === "overview"
            ? html`<${RunOverview} run=${current} live=${live} onChanged=${reload} />
                <${RunRegisteredVersions} runId=${runId} />`
            : html`<${ArtifactBrowser} key=${source.key} source=${source} run=${current} />`}`
      : null}
  </div>`;
}
