// The run page (#/runs/<run_id>?tab=overview|artifacts[&path=...]): a header, then the overview
// or the artifacts browser. While the run is RUNNING it re-reads the run every 3 s, so status,
// metrics and duration stay live without a reload.

import { html, useState, useEffect, useAsync, useQueryParam, href, ErrorBox, Spinner } from "../lib.js";
import { mlflow } from "../api.js";
import { RunHeader } from "../components/run-header.js";
import { RunOverview } from "../components/run-overview.js";
import { ArtifactBrowser } from "../components/artifact-browser.js";

const LIVE_MS = 3000;
const TABS = [
  ["overview", "Overview"],
  ["artifacts", "Artifacts"],
];

function Tabs({ runId, tab, path }) {
  return html`<nav class="tabs run-tabs" aria-label="Run sections">
    ${TABS.map(
      ([id, label]) => html`<a key=${id} href=${href("/runs/" + runId, { tab: id, path: id === "artifacts" ? path : "" })}
        class=${tab === id ? "active" : ""} aria-current=${tab === id ? "page" : undefined}
        data-testid=${"tab-" + id}>${label}</a>`,
    )}
  </nav>`;
}

export default function RunPage({ route }) {
  const runId = route.segments[1];
  const [tab] = useQueryParam("tab", "overview");
  const [path] = useQueryParam("path", "");
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
          <${Tabs} runId=${runId} tab=${activeTab} path=${path} />
          ${activeTab === "overview"
            ? html`<${RunOverview} run=${current} live=${live} onChanged=${reload} />`
            : html`<${ArtifactBrowser} key=${runId} runId=${runId} />`}`
      : null}
  </div>`;
}
