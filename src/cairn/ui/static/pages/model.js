// One registered model (#/models/<name>): its description, tags and aliases (all editable), its
// versions page by page, and the audit history of every change; rename and delete behind a
// confirmation dialog (delete goes back to the list).

import { html, useState, useEffect, useLayoutEffect, useRef, useAsync, navigate, href, runHref, formatTime, formatAgo, ErrorBox, Spinner } from "../lib.js";
import { registry } from "../api.js";
import { Section } from "../components/run-common.js";
import { EditableDescription } from "../components/run-description.js";
import { RegistryTags } from "../components/registry-tags.js";
import { AliasEditor } from "../components/registry-aliases.js";
import { HistoryTimeline } from "../components/registry-history.js";
import { Dialog } from "../components/registry-dialog.js";
import {
  usePages,
  LoadMore,
  StageBadge,
  VersionStatus,
  modelPath,
  versionHref,
  versionsOfModel,
} from "../components/registry-common.js";

const VERSIONS_PAGE = 25;

function RenameDialog({ name, onDone, onCancel }) {
  const [draft, setDraft] = useState(name);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const input = useRef(null);
  // After the dialog's own layout effect opened it (a child's runs first): typed keys replace the name.
  useLayoutEffect(() => input.current && input.current.select(), []);
  const next = draft.trim();
  const confirm = async () => {
    setBusy(true);
    try {
      const renamed = await registry.renameModel(name, next);
      onDone((renamed && renamed.name) || next);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<${Dialog} title="Rename model" confirmLabel="Rename" busy=${busy} testid="rename-dialog"
      canConfirm=${!!next && next !== name} onConfirm=${confirm} onCancel=${onCancel}>
    <label class="dialog-field">New name
      <input ref=${input} value=${draft} data-testid="rename-input" aria-label="New model name"
        onInput=${(e) => setDraft(e.currentTarget.value)} /></label>
    <p class="muted">Versions, aliases and tags move with the model.
      Code loading <code>models:/${name}/…</code> must use the new name.</p>
    <${ErrorBox} error=${error} />
  <//>`;
}

function DeleteDialog({ name, versionCount, onDone, onCancel }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const confirm = async () => {
    setBusy(true);
    try {
      await registry.deleteModel(name);
      onDone();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const versions = versionCount === null ? "all its versions" : versionCount === 1 ? "its 1 version" : `its ${versionCount} versions`;
  return html`<${Dialog} title="Delete model" confirmLabel="Delete" danger busy=${busy} testid="delete-dialog"
      onConfirm=${confirm} onCancel=${onCancel}>
    <p>Delete <strong data-testid="delete-name">${name}</strong> with ${versions}, its aliases and tags?
      This cannot be undone.</p>
    <${ErrorBox} error=${error} />
  <//>`;
}

function VersionsTable({ name, pages }) {
  const versions = pages.items;
  return html`<${Section} title="Versions" count=${pages.loaded ? versions.length + (pages.next ? "+" : "") : undefined}
      testid="model-versions" className="registry-versions">
    <${ErrorBox} error=${pages.error} />
    ${!pages.loaded && !pages.error ? html`<${Spinner} label="Loading versions" />` : null}
    ${pages.loaded && !versions.length ? html`<p class="muted">No versions yet.</p>` : null}
    ${versions.length
      ? html`<div class="registry-table-wrap"><table class="grid versions-table">
          <thead><tr>
            <th class="num">Version</th><th>Aliases</th><th>Stage</th><th>Created</th><th>User</th><th>Source run</th><th>Status</th>
          </tr></thead>
          <tbody>${versions.map(
            (v) => html`<tr key=${v.version} data-testid="version-row" data-version=${v.version}>
              <td class="num"><a href=${versionHref(name, v.version)} data-testid="version-link">v${v.version}</a></td>
              <td>${(v.aliases || []).map((a) => html`<span class="badge alias-badge" key=${a}>@${a}</span>`)}</td>
              <td><${StageBadge} stage=${v.current_stage} /></td>
              <td title=${formatTime(v.creation_timestamp)}>${formatTime(v.creation_timestamp)}</td>
              <td>${v.user_id || ""}</td>
              <td>${v.run_id
                ? html`<a href=${runHref(v.run_id)} data-testid="version-run-link"><code>${v.run_id.slice(0, 12)}</code></a>`
                : html`<span class="muted">—</span>`}</td>
              <td><${VersionStatus} status=${v.status} /></td>
            </tr>`,
          )}</tbody>
        </table></div>`
      : null}
    <${LoadMore} pages=${pages} testid="versions-load-more" label="More versions" />
  <//>`;
}

export default function ModelPage({ route }) {
  // Keyed by name: another model's page starts fresh (no half-typed edits carried over).
  const name = route.segments[1];
  return html`<${Model} key=${name} name=${name} />`;
}

function Model({ name }) {
  const [dialog, setDialog] = useState(null); // null | "rename" | "delete"
  const [changes, setChanges] = useState(0);
  const model = useAsync(() => registry.getModel(name), [name]);
  const versions = usePages(
    (token) =>
      registry
        .searchVersions({
          filter: versionsOfModel(name),
          orderBy: ["version_number DESC"],
          maxResults: VERSIONS_PAGE,
          pageToken: token,
        })
        .then((r) => ({ items: r.model_versions || [], next: r.next_page_token })),
    [name],
  );
  useEffect(() => {
    document.title = name + " · Models · cairn";
    return () => {
      document.title = "cairn";
    };
  }, [name]);

  const changed = () => {
    model.reload();
    versions.reload();
    setChanges((n) => n + 1);
  };
  const m = model.data || null; // the page is keyed by name: no other model's data
  const latest = versions.items.length ? versions.items[0].version : null;
  const ready = !!m && versions.loaded && !versions.loading && !model.loading;
  return html`<div class="page registry-page model-page" data-testid="model-page" data-name=${name}
      data-ready=${ready ? "true" : "false"}>
    <nav class="registry-crumbs" aria-label="Breadcrumb"><a href=${href("/models")} data-testid="crumb-models">Models</a></nav>
    <div class="registry-title-row">
      <h1 class="registry-title" data-testid="model-name" title=${name}>${name}</h1>
      ${m
        ? html`<button type="button" class="small" data-testid="model-rename" onClick=${() => setDialog("rename")}>Rename</button>
            <button type="button" class="small danger" data-testid="model-delete" onClick=${() => setDialog("delete")}>Delete</button>`
        : null}
    </div>
    ${!m && model.error ? html`<${ErrorBox} error=${model.error} /><p><a href=${href("/models")}>Back to the registered models</a></p>` : null}
    ${!m && !model.error ? html`<${Spinner} label="Loading model" />` : null}
    ${m
      ? html`<div class="registry-meta muted">
            created <span title=${formatTime(m.creation_timestamp)}>${formatTime(m.creation_timestamp)}</span>
            ${m.user_id ? html` by <span data-testid="model-user">${m.user_id}</span>` : null}${" · "}last modified <span title=${formatTime(m.last_updated_timestamp)}>${formatAgo(m.last_updated_timestamp)}</span>
          </div>
          ${model.error ? html`<${ErrorBox} error=${model.error} />` : null}
          <div class="registry-layout">
            <div class="registry-main">
              <${EditableDescription} text=${m.description || ""} testid="model-description"
                save=${(text) => registry.updateModel(name, text)} onChanged=${changed} />
              <${VersionsTable} name=${name} pages=${versions} />
              <${HistoryTimeline} name=${name} refreshKey=${changes} />
            </div>
            <div class="registry-side">
              <${AliasEditor} name=${name} aliases=${m.aliases || []} onChanged=${changed}
                versionChoices=${versions.items.map((v) => v.version)} defaultVersion=${latest} />
              <${RegistryTags} tags=${m.tags || []} testid="model-tags" onChanged=${changed}
                save=${(key, value) => registry.setModelTag(name, key, value)}
                remove=${(key) => registry.deleteModelTag(name, key)} />
            </div>
          </div>`
      : null}
    ${dialog === "rename"
      ? html`<${RenameDialog} name=${name} onCancel=${() => setDialog(null)}
          onDone=${(newName) => { setDialog(null); navigate(modelPath(newName), null, { replace: true }); }} />`
      : null}
    ${dialog === "delete"
      ? html`<${DeleteDialog} name=${name} versionCount=${versions.next ? null : versions.items.length}
          onCancel=${() => setDialog(null)} onDone=${() => { setDialog(null); navigate("/models", null, { replace: true }); }} />`
      : null}
  </div>`;
}
