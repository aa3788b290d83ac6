// The run page's header: the name (renamed in place through runs/update), status, experiment link
// and the run id with a copy button.

import { html, useState, useLayoutEffect, useRef, href, StatusBadge, ErrorBox } from "../lib.js";
import { mlflow } from "../api.js";
import { CopyButton } from "./run-common.js";

/** `live`: the page re-reads the run every `liveSeconds` (it is running). */
export function RunHeader({ run, experiment, onChanged, live, liveSeconds }) {
  const info = run.info;
  const [draft, setDraft] = useState(null); // null: not editing
  const [error, setError] = useState(null);
  const [saving, setSaving] = useState(false);
  const input = useRef(null);
  const editing = draft !== null;
  useLayoutEffect(() => {
    if (editing && input.current) input.current.select();
  }, [editing]);

  const save = async (ev) => {
    ev.preventDefault();
    const name = draft.trim();
    if (!name || name === info.run_name) {
      setDraft(null);
      return;
    }
    setSaving(true);
    try {
      await mlflow.post("runs/update", { run_id: info.run_id, run_name: name });
      setDraft(null);
      setError(null);
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setSaving(false);
    }
  };
  const onKeyDown = (ev) => {
    if (ev.key === "Escape") {
      setDraft(null);
      setError(null);
    }
  };

  const experimentName = experiment ? experiment.name : "experiment " + info.experiment_id;
  return html`<header class="run-header">
    <nav class="run-crumbs" aria-label="Breadcrumb">
      <a href=${href("/")}>Experiments</a><span class="muted" aria-hidden="true"> / </span>
      <a href=${href("/experiments/" + info.experiment_id)} data-testid="run-experiment-link">${experimentName}</a>
    </nav>
    <div class="run-title-row">
      ${draft === null
        ? html`<h1 class="run-title" data-testid="run-name" title=${info.run_name}>${info.run_name || info.run_id}</h1>
            <button type="button" class="small" data-testid="run-rename"
              onClick=${() => setDraft(info.run_name || "")} aria-label="Rename run">Rename</button>`
        : html`<form class="run-rename-form" onSubmit=${save}>
            <input data-testid="run-name-input" aria-label="Run name" value=${draft} ref=${input}
              onInput=${(e) => setDraft(e.currentTarget.value)} onKeyDown=${onKeyDown} maxlength="250" />
            <button type="submit" class="primary small" disabled=${saving || !draft.trim()}>Save</button>
            <button type="button" class="small" onClick=${() => setDraft(null)}>Cancel</button>
          </form>`}
      <${StatusBadge} status=${info.status} />
      ${live
        ? html`<span class="run-live muted" role="status" data-testid="run-live"
            title=${"Refreshing every " + liveSeconds + " s"}><span class="run-live-dot" aria-hidden="true"></span>live</span>`
        : null}
      ${info.lifecycle_stage === "deleted" ? html`<span class="badge run-deleted" data-testid="run-deleted">deleted</span>` : null}
    </div>
    <${ErrorBox} error=${error} />
    <div class="run-id-row muted">
      Run ID <code data-testid="run-id">${info.run_id}</code>
      <${CopyButton} text=${info.run_id} testid="copy-run-id" label="Copy" />
    </div>
  </header>`;
}
