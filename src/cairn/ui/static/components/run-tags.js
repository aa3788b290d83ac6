// The run's tags: the user's own (add, edit the value, delete: runs/set-tag, runs/delete-tag) and
// the system `mlflow.*` tags, read-only and collapsed. `EditableTags` (the table and the add form)
// takes its own save/remove calls, so the registry pages edit their tags with it too.

import { html, useState, useLayoutEffect, useRef, ErrorBox } from "../lib.js";
import { mlflow } from "../api.js";
import { Section } from "./run-common.js";

/** A system tag (`mlflow.*`): set by the client libraries, shown apart and read-only. */
export function isSystem(key) {
  return key.startsWith("mlflow.");
}

/** `action()` with a busy flag and the error it threw, for a form's buttons. */
function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (action) => {
    setBusy(true);
    try {
      await action();
      setError(null);
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(null) };
}

function TagRow({ tag, save: saveTag, remove: removeTag, onChanged }) {
  const [draft, setDraft] = useState(null);
  const { busy, error, run } = useAction();
  const input = useRef(null);
  const editing = draft !== null;
  useLayoutEffect(() => {
    if (editing && input.current) input.current.focus();
  }, [editing]);

  const save = async (ev) => {
    ev.preventDefault();
    const ok = await run(() => saveTag(tag.key, draft));
    if (ok) {
      setDraft(null);
      onChanged();
    }
  };
  const remove = async () => {
    if (await run(() => removeTag(tag.key))) onChanged();
  };
  return html`<tr data-testid="tag-row" data-key=${tag.key}>
    <td class="kv-key" title=${tag.key}>${tag.key}</td>
    <td class="kv-value">
      ${editing
        ? html`<form class="tag-edit-form" onSubmit=${save}>
            <input ref=${input} value=${draft} aria-label=${"Value of tag " + tag.key} data-testid="tag-value-input"
              onInput=${(e) => setDraft(e.currentTarget.value)}
              onKeyDown=${(e) => e.key === "Escape" && setDraft(null)} />
            <button type="submit" class="small primary" disabled=${busy} data-testid="tag-save">Save</button>
            <button type="button" class="small" onClick=${() => setDraft(null)}>Cancel</button>
          </form>`
        : tag.value}
      <${ErrorBox} error=${error} />
    </td>
    <td class="tag-actions">
      ${editing
        ? null
        : html`<button type="button" class="small" data-testid="tag-edit" onClick=${() => setDraft(tag.value)}
              aria-label=${"Edit tag " + tag.key}>Edit</button>
            <button type="button" class="small danger" data-testid="tag-delete" disabled=${busy} onClick=${remove}
              aria-label=${"Delete tag " + tag.key}>Delete</button>`}
    </td>
  </tr>`;
}

function AddTag({ save, onChanged }) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const { busy, error, run } = useAction();
  const keyInput = useRef(null);
  const add = async (ev) => {
    ev.preventDefault();
    const k = key.trim();
    if (!k) return;
    if (await run(() => save(k, value))) {
      setKey("");
      setValue("");
      onChanged();
      if (keyInput.current) keyInput.current.focus();
    }
  };
  return html`<form class="tag-add-form" onSubmit=${add} data-testid="tag-add-form">
      <input ref=${keyInput} placeholder="Key" aria-label="New tag key" value=${key} data-testid="tag-add-key"
        onInput=${(e) => setKey(e.currentTarget.value)} maxlength="250" />
      <input placeholder="Value" aria-label="New tag value" value=${value} data-testid="tag-add-value"
        onInput=${(e) => setValue(e.currentTarget.value)} />
      <button type="submit" class="small primary" disabled=${busy || !key.trim()} data-testid="tag-add">Add tag</button>
    </form>
    <${ErrorBox} error=${error} />`;
}

function byKey(a, b) {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Editable [{key, value}] tags: `save(key, value)` and `remove(key)` return promises. */
export function EditableTags({ tags, save, remove, onChanged }) {
  const sorted = [...tags].sort(byKey);
  return html`${sorted.length
      ? html`<div class="run-table-wrap"><table class="grid run-kv run-tags-table">
          <thead><tr><th scope="col">Key</th><th scope="col">Value</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>${sorted.map((t) => html`<${TagRow} key=${t.key} tag=${t} save=${save} remove=${remove} onChanged=${onChanged} />`)}</tbody>
        </table></div>`
      : html`<p class="muted">No tags yet.</p>`}
    <${AddTag} save=${save} onChanged=${onChanged} />`;
}

export function TagsEditor({ runId, tags, onChanged }) {
  const sorted = [...tags].sort(byKey);
  const user = sorted.filter((t) => !isSystem(t.key));
  const system = sorted.filter((t) => isSystem(t.key));
  const save = (key, value) => mlflow.post("runs/set-tag", { run_id: runId, key, value });
  const remove = (key) => mlflow.post("runs/delete-tag", { run_id: runId, key });
  return html`<${Section} title="Tags" count=${user.length} testid="run-tags">
    <${EditableTags} tags=${user} save=${save} remove=${remove} onChanged=${onChanged} />
    ${system.length
      ? html`<details class="run-system-tags" data-testid="system-tags">
          <summary>System tags (${system.length})</summary>
          <div class="run-table-wrap"><table class="grid run-kv">
            <tbody>${system.map((t) => html`<tr key=${t.key} data-testid="system-tag-row" data-key=${t.key}>
              <td class="kv-key" title=${t.key}>${t.key}</td><td class="kv-value"><div class="kv-clamp">${t.value}</div></td></tr>`)}</tbody>
          </table></div>
        </details>`
      : null}
  <//>`;
}
