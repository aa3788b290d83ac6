// One model version (#/models/<name>/versions/<version>): its details (source, storage, run,
// logged model, status) with a stage-transition control, description, tags, the aliases on it,
// the lineage graph (datasets → run → logged model → this version) and its audit history.
// "Delete version" (back to the model afterwards) and "Copy to model…" (on to the copy) ask
// first in a dialog.

import { html, useState, useEffect, useLayoutEffect, useRef, useAsync, navigate, href, runHref, formatTime, ErrorBox, Spinner } from "../lib.js";
import { registry } from "../api.js";
import { Section, CopyButton, safeHttpUrl } from "../components/run-common.js";
import { EditableDescription } from "../components/run-description.js";
import { RegistryTags } from "../components/registry-tags.js";
import { AliasEditor } from "../components/registry-aliases.js";
import { HistoryTimeline } from "../components/registry-history.js";
import { LineageGraph } from "../components/registry-lineage.js";
import { Dialog } from "../components/registry-dialog.js";
import { STAGES, StageBadge, VersionStatus, modelHref, modelPath, versionPath } from "../components/registry-common.js";

function DeleteVersionDialog({ v, onDone, onCancel }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const confirm = async () => {
    setBusy(true);
    try {
      await registry.deleteVersion(v.name, v.version);
      onDone();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const aliases = v.aliases || [];
  return html`<${Dialog} title="Delete version" confirmLabel="Delete" danger busy=${busy} testid="delete-version-dialog"
      onConfirm=${confirm} onCancel=${onCancel}>
    <p>Delete version <strong data-testid="delete-version-number">${v.version}</strong> of <strong
      data-testid="delete-version-name">${v.name}</strong>${aliases.length
        ? html` and its ${aliases.length === 1 ? "alias" : "aliases"} ${aliases.map(
            (a, i) => html`${i ? ", " : ""}<code key=${a}>${a}</code>`,
          )}`
        : null}? This cannot be undone.</p>
    <p class="muted">Code loading <code>models:/${v.name}/${v.version}</code> will fail.</p>
    <${ErrorBox} error=${error} />
  <//>`;
}

function CopyVersionDialog({ v, onDone, onCancel }) {
  const [draft, setDraft] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const input = useRef(null);
  useLayoutEffect(() => input.current && input.current.focus(), []);
  const target = draft.trim();
  const confirm = async () => {
    setBusy(true);
    try {
      onDone(await registry.copyVersion(v.name, v.version, target));
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<${Dialog} title="Copy to model" confirmLabel="Copy" busy=${busy} testid="copy-version-dialog"
      canConfirm=${!!target} onConfirm=${confirm} onCancel=${onCancel}>
    <label class="dialog-field">Target model
      <input ref=${input} value=${draft} data-testid="copy-target-input" aria-label="Target model name"
        placeholder=${"e.g. prod." + v.name} onInput=${(e) => setDraft(e.currentTarget.value)} /></label>
    <p class="muted">Adds a new version to the target (created if it does not exist) whose source
      is <code>models:/${v.name}/${v.version}</code>, with this version's run, logged model, tags and description.</p>
    <${ErrorBox} error=${error} />
  <//>`;
}

/** Move the version to another stage, optionally archiving the versions now in that stage. */
function StageControl({ name, version, stage, onChanged }) {
  const [target, setTarget] = useState(stage === "Production" ? "Archived" : stage === "Staging" ? "Production" : "Staging");
  const [archive, setArchive] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const archivable = target === "Staging" || target === "Production";
  const apply = async (ev) => {
    ev.preventDefault();
    setBusy(true);
    try {
      await registry.transitionStage(name, version, target, archivable && archive);
      setError(null);
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="stage-control" onSubmit=${apply} data-testid="stage-control">
    <${StageBadge} stage=${stage} />
    <label class="inline-field">move to
      <select value=${target} data-testid="stage-select" aria-label="New stage" onChange=${(e) => setTarget(e.currentTarget.value)}>
        ${STAGES.map((s) => html`<option key=${s} value=${s} disabled=${s === stage}>${s}</option>`)}
      </select></label>
    <label class="inline-field" title="Move the other versions now in this stage to Archived">
      <input type="checkbox" checked=${archivable && archive} disabled=${!archivable} data-testid="stage-archive"
        onChange=${(e) => setArchive(e.currentTarget.checked)} />
      archive other ${archivable ? target : "Staging/Production"} versions</label>
    <button type="submit" class="small primary" disabled=${busy || target === stage} data-testid="stage-apply">Move</button>
    <${ErrorBox} error=${error} />
  </form>`;
}

function Storage({ name, version }) {
  const { data, error } = useAsync(() => registry.downloadUri(name, version), [name, version]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (data === undefined) return html`<span class="muted">…</span>`;
  return html`<code class="registry-uri" data-testid="version-storage" title=${data}>${data}</code>
    <${CopyButton} text=${data} label="Copy" testid="copy-storage" />`;
}

function Details({ v, lineage, onChanged }) {
  const runLink = safeHttpUrl(v.run_link);
  const runName = lineage && lineage.run_id === v.run_id ? lineage.run_name : null;
  return html`<${Section} title="Details" testid="version-details">
    <dl class="run-facts registry-facts">
      <dt>Model</dt><dd><a href=${modelHref(v.name)} data-testid="version-model-link">${v.name}</a></dd>
      <dt>Version</dt><dd data-testid="version-number">${v.version}</dd>
      <dt>Status</dt><dd><${VersionStatus} status=${v.status} />${v.status_message ? html` <span class="muted">${v.status_message}</span>` : null}</dd>
      <dt>Stage</dt><dd><${StageControl} key=${v.current_stage} name=${v.name} version=${v.version} stage=${v.current_stage || "None"} onChanged=${onChanged} /></dd>
      <dt>Source</dt><dd><code class="registry-uri" data-testid="version-source" title=${v.source}>${v.source}</code></dd>
      <dt>Storage</dt><dd><${Storage} name=${v.name} version=${v.version} /></dd>
      <dt>Run</dt><dd data-testid="version-run">${v.run_id
        ? html`<a href=${runHref(v.run_id)} data-testid="version-run-link">${runName || v.run_id}</a>
            ${runName ? html` <code class="muted">${v.run_id}</code>` : null}`
        : html`<span class="muted">—</span>`}
        ${runLink ? html` <a href=${runLink} rel="noopener noreferrer" target="_blank">external link</a>` : null}</dd>
      <dt>Logged model</dt><dd data-testid="version-model-id">${v.model_id
        ? v.run_id
          ? html`<a href=${runHref(v.run_id, { tab: "artifacts", model: v.model_id })}><code>${v.model_id}</code></a>`
          : html`<code>${v.model_id}</code>`
        : html`<span class="muted">—</span>`}</dd>
      <dt>Created</dt><dd>${formatTime(v.creation_timestamp)}${v.user_id ? html` by <span data-testid="version-user">${v.user_id}</span>` : null}</dd>
      <dt>Last updated</dt><dd>${formatTime(v.last_updated_timestamp)}</dd>
      <dt>Load with</dt><dd><code data-testid="version-uri">models:/${v.name}/${v.version}</code></dd>
    </dl>
  <//>`;
}

function Lineage({ lineage, v }) {
  const { data, error } = lineage;
  return html`<${Section} title="Lineage" testid="version-lineage" className="registry-lineage">
    <${ErrorBox} error=${error} />
    ${data === undefined && !error ? html`<${Spinner} label="Loading lineage" />` : null}
    ${data ? html`<div class="lineage-wrap"><${LineageGraph} lineage=${data} version=${v} /></div>` : null}
  <//>`;
}

export default function ModelVersionPage({ route }) {
  const name = route.segments[1];
  const version = route.segments[3];
  return html`<${ModelVersion} key=${name + "\u0000" + version} name=${name} version=${version} />`;
}

function ModelVersion({ name, version }) {
  const [changes, setChanges] = useState(0);
  const [dialog, setDialog] = useState(null); // null | "delete" | "copy"
  const mv = useAsync(() => registry.getVersion(name, version), [name, version]);
  const lineage = useAsync(() => registry.lineage(name, version), [name, version]);
  useEffect(() => {
    document.title = `${name} v${version} · Models · cairn`;
    return () => {
      document.title = "cairn";
    };
  }, [name, version]);
  const changed = () => {
    mv.reload();
    setChanges((n) => n + 1);
  };
  const v = mv.data;
  // Ready once the version and its lineage are in: the details name the run from the lineage.
  const ready = !!v && !mv.loading && !lineage.loading;
  return html`<div class="page registry-page version-page" data-testid="version-page" data-name=${name}
      data-version=${version} data-ready=${ready ? "true" : "false"}>
    <nav class="registry-crumbs" aria-label="Breadcrumb">
      <a href=${href("/models")}>Models</a><span class="muted" aria-hidden="true"> / </span>
      <a href=${modelHref(name)} data-testid="crumb-model">${name}</a>
    </nav>
    <div class="registry-title-row">
      <h1 class="registry-title" title=${name}>${name} <span class="muted">version ${version}</span></h1>
      ${v ? (v.aliases || []).map((a) => html`<span class="badge alias-badge" key=${a}>@${a}</span>`) : null}
      ${v
        ? html`<button type="button" class="small" data-testid="version-copy" onClick=${() => setDialog("copy")}>Copy to model…</button>
            <button type="button" class="small danger" data-testid="version-delete" onClick=${() => setDialog("delete")}>Delete version</button>`
        : null}
    </div>
    ${!v && mv.error ? html`<${ErrorBox} error=${mv.error} /><p><a href=${modelHref(name)}>Back to the model</a></p>` : null}
    ${!v && !mv.error ? html`<${Spinner} label="Loading version" />` : null}
    ${v
      ? html`${mv.error ? html`<${ErrorBox} error=${mv.error} />` : null}
          <div class="registry-layout">
            <div class="registry-main">
              <${Details} v=${v} lineage=${lineage.data} onChanged=${changed} />
              <${Lineage} lineage=${lineage} v=${v} />
              <${EditableDescription} text=${v.description || ""} testid="version-description"
                save=${(text) => registry.updateVersion(name, version, text)} onChanged=${changed} />
              <${HistoryTimeline} name=${name} version=${version} refreshKey=${changes} testid="version-history" />
            </div>
            <div class="registry-side">
              <${AliasEditor} name=${name} version=${version} onChanged=${changed}
                aliases=${(v.aliases || []).map((a) => ({ alias: a, version: v.version }))} />
              <${RegistryTags} tags=${v.tags || []} testid="version-tags" onChanged=${changed}
                save=${(key, value) => registry.setVersionTag(name, version, key, value)}
                remove=${(key) => registry.deleteVersionTag(name, version, key)} />
            </div>
          </div>`
      : null}
    ${v && dialog === "delete"
      ? html`<${DeleteVersionDialog} v=${v} onCancel=${() => setDialog(null)}
          onDone=${() => { setDialog(null); navigate(modelPath(name), null, { replace: true }); }} />`
      : null}
    ${v && dialog === "copy"
      ? html`<${CopyVersionDialog} v=${v} onCancel=${() => setDialog(null)}
          onDone=${(copy) => { setDialog(null); navigate(versionPath(copy.name, copy.version)); }} />`
      : null}
  </div>`;
}
