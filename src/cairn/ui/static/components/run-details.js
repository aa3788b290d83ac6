// The "Details" block of the run overview: status, times, live duration, user, source, git, the
// parent run and child runs, and the run's lifecycle (delete / restore).

import { html, useState, useAsync, formatTime, formatAgo, formatDuration, StatusBadge, ErrorBox, runHref } from "../lib.js";
import { mlflow } from "../api.js";
import { TAG, CopyButton, Section, safeHttpUrl, useNow } from "./run-common.js";

const CHILD_LIMIT = 200;

function Row({ label, children, testid }) {
  return html`<dt>${label}</dt><dd data-testid=${testid}>${children}</dd>`;
}

function RunLink({ runId, name }) {
  return html`<a href=${runHref(runId)} data-run-id=${runId}>${name || runId}</a>`;
}

/** A link to another run, by name once its info has arrived. */
function NamedRunLink({ runId, testid }) {
  const { data } = useAsync(
    () => mlflow.get("runs/get", { run_id: runId }).then((r) => r.run.info),
    [runId],
  );
  return html`<span data-testid=${testid}><${RunLink} runId=${runId} name=${data && data.run_name} /></span>`;
}

/** How a `cairn run` run was made, and the command that makes it again (a sweep's own run
 * is not one command: its trials are reproduced one by one). */
function Project({ info, tags }) {
  const command = tags[TAG.sweep] === "true" ? null : `cairn runs reproduce ${info.run_id}`;
  return html`<span>entry point <code data-testid="run-project-entry-point">${tags[TAG.entryPoint] || "main"}</code>
    ${tags[TAG.projectEnv] ? html` <span class="muted">in a</span> <code data-testid="run-project-env">${tags[TAG.projectEnv]}</code> <span class="muted">environment</span>` : null}
    ${tags[TAG.projectVersion] ? html` <span class="muted">at version</span> <code>${tags[TAG.projectVersion]}</code>` : null}
    ${command
      ? html`<div class="run-project-reproduce"><code data-testid="run-project-reproduce">${command}</code> <${CopyButton} text=${command} label="Copy" /></div>`
      : html` <span class="muted">(a sweep)</span>`}</span>`;
}

/** A sweep's best trial and the value that made it best. */
function SweepBest({ run, tags }) {
  const metric = tags[TAG.sweepMetric];
  const best = ((run.data && run.data.metrics) || []).find((m) => m.key === `best_${metric}`);
  return html`<${NamedRunLink} runId=${tags[TAG.sweepBestRun]} testid="run-sweep-best-link" />
    ${best ? html` <span class="muted">${tags[TAG.sweepGoal] || ""}</span> <code data-testid="run-sweep-best-value">${metric} = ${best.value}</code>` : null}`;
}

function ChildRuns({ run, live }) {
  const id = run.info.run_id;
  const { data, error } = useAsync(
    () =>
      /^[\w-]+$/.test(id)
        ? mlflow
            .post("runs/search", {
              experiment_ids: [run.info.experiment_id],
              filter: `tags.${TAG.parent} = '${id}'`,
              max_results: CHILD_LIMIT,
              order_by: ["attributes.start_time ASC"],
            })
            .then((r) => r.runs || [])
        : Promise.resolve([]),
    [id, run.info.experiment_id],
    { intervalMs: live ? 5000 : 0 },
  );
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<span class="muted">…</span>`;
  if (!data.length) return html`<span class="muted">none</span>`;
  return html`<ul class="run-children" data-testid="run-children">
    ${data.map(
      (child) => html`<li key=${child.info.run_id}>
        <${RunLink} runId=${child.info.run_id} name=${child.info.run_name} />
        <${StatusBadge} status=${child.info.status} /></li>`,
    )}
    ${data.length >= CHILD_LIMIT ? html`<li class="muted">first ${CHILD_LIMIT} shown</li>` : null}
  </ul>`;
}

function Lifecycle({ info, onChanged }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState(null);
  const act = async (endpoint) => {
    try {
      await mlflow.post(endpoint, { run_id: info.run_id });
      setError(null);
      setConfirming(false);
      onChanged();
    } catch (e) {
      setError(e);
    }
  };
  if (info.lifecycle_stage === "deleted") {
    return html`<span class="badge run-deleted run-lifecycle-state">deleted</span>
      <button type="button" class="small" data-testid="run-restore" onClick=${() => act("runs/restore")}>Restore</button>
      <${ErrorBox} error=${error} />`;
  }
  return html`<span class="run-lifecycle-state">active</span>
    ${confirming
      ? html`<span class="run-confirm">Delete this run?
          <button type="button" class="small danger" data-testid="run-delete-confirm" onClick=${() => act("runs/delete")}>Delete</button>
          <button type="button" class="small" onClick=${() => setConfirming(false)}>Cancel</button></span>`
      : html`<button type="button" class="small danger" data-testid="run-delete" onClick=${() => setConfirming(true)}>Delete…</button>`}
    <${ErrorBox} error=${error} />`;
}

function Git({ tags }) {
  const commit = tags[TAG.gitCommit];
  const repo = tags[TAG.gitRepo];
  const repoHref = repo ? safeHttpUrl(repo) : null;
  return html`<code title=${commit} data-testid="run-git-commit">${commit.slice(0, 12)}</code>
    <${CopyButton} text=${commit} label="Copy" />
    ${tags[TAG.gitBranch] ? html` <span class="muted">on</span> <code data-testid="run-git-branch">${tags[TAG.gitBranch]}</code>` : null}
    ${repo
      ? html`<div class="run-git-repo" data-testid="run-git-repo">${repoHref
          ? html`<a href=${repoHref} target="_blank" rel="noopener noreferrer">${repo}</a>`
          : html`<span>${repo}</span>`}</div>`
      : null}`;
}

export function RunDetails({ run, tags, live, onChanged }) {
  const info = run.info;
  const running = info.status === "RUNNING";
  const now = useNow(running);
  const duration = info.end_time
    ? formatDuration(info.start_time, info.end_time)
    : running && info.start_time
      ? formatDuration(info.start_time, Math.max(now, Number(info.start_time)))
      : "";
  const source = tags[TAG.sourceName];
  return html`<${Section} title="Details" className="run-details" testid="run-details">
    <dl class="run-facts">
      <${Row} label="Status" testid="run-status"><${StatusBadge} status=${info.status} /><//>
      <${Row} label="Started" testid="run-start">${info.start_time
        ? html`${formatTime(info.start_time)} <span class="muted">(${formatAgo(info.start_time)})</span>`
        : html`<span class="muted">not started</span>`}<//>
      <${Row} label="Ended" testid="run-end">${info.end_time ? formatTime(info.end_time) : html`<span class="muted">${running ? "running" : "—"}</span>`}<//>
      <${Row} label="Duration" testid="run-duration">${duration || html`<span class="muted">—</span>`}${running && duration ? html` <span class="muted">(so far)</span>` : null}<//>
      <${Row} label="User" testid="run-user">${info.user_id || html`<span class="muted">—</span>`}<//>
      <${Row} label="Source" testid="run-source">${source
        ? html`<span class="run-source" title=${source}>${source}</span>${tags[TAG.sourceType] ? html` <span class="muted">(${tags[TAG.sourceType].toLowerCase()})</span>` : null}`
        : html`<span class="muted">—</span>`}<//>
      ${tags[TAG.sourceType] === "PROJECT" ? html`<${Row} label="Project" testid="run-project"><${Project} info=${info} tags=${tags} /><//>` : null}
      ${tags[TAG.gitCommit] ? html`<${Row} label="Git commit"><${Git} tags=${tags} /><//>` : null}
      ${tags[TAG.reproduces] ? html`<${Row} label="Reproduces"><${NamedRunLink} runId=${tags[TAG.reproduces]} testid="run-reproduces" /><//>` : null}
      ${tags[TAG.sweepBestRun] ? html`<${Row} label="Best trial" testid="run-sweep-best"><${SweepBest} run=${run} tags=${tags} /><//>` : null}
      ${tags[TAG.parent] ? html`<${Row} label="Parent run"><${NamedRunLink} runId=${tags[TAG.parent]} testid="run-parent" /><//>` : null}
      <${Row} label="Child runs"><${ChildRuns} run=${run} live=${live} /><//>
      <${Row} label="Lifecycle" testid="run-lifecycle"><${Lifecycle} info=${info} onChanged=${onChanged} /><//>
      <${Row} label="Artifacts at"><code class="run-artifact-uri" title=${info.artifact_uri}>${info.artifact_uri}</code><//>
    </dl>
  <//>`;
}
