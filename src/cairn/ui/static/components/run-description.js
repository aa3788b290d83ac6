// The run's description: markdown kept in the `mlflow.note.content` tag, rendered sanitized by
// lib.js `Markdown`, edited in a textarea beside a live preview. `EditableDescription` takes its
// own save call, so the registry pages edit their descriptions with it too.

import { html, useState, useLayoutEffect, useRef, Markdown, ErrorBox } from "../lib.js";
import { mlflow } from "../api.js";
import { TAG, Section } from "./run-common.js";

export function RunDescription({ runId, text, onChanged }) {
  const save = (value) => mlflow.post("runs/set-tag", { run_id: runId, key: TAG.note, value });
  return html`<${EditableDescription} text=${text} save=${save} onChanged=${onChanged} testid="run-description" />`;
}

/** Markdown `text` shown, and edited with `save(text)` (a promise). */
export function EditableDescription({ text, save: saveText, onChanged, testid }) {
  const [draft, setDraft] = useState(null); // null: not editing
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState(null);
  const area = useRef(null);
  const editing = draft !== null;
  useLayoutEffect(() => {
    if (editing && area.current) area.current.focus();
  }, [editing]);

  const save = async (ev) => {
    if (ev) ev.preventDefault();
    setSaving(true);
    try {
      await saveText(draft);
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
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) save(ev);
    else if (ev.key === "Escape") setDraft(null);
  };

  const actions = editing
    ? null
    : html`<button type="button" class="small" data-testid="description-edit" onClick=${() => setDraft(text || "")}>
        ${text ? "Edit" : "Add description"}</button>`;
  return html`<${Section} title="Description" actions=${actions} className="run-description" testid=${testid}>
    ${editing
      ? html`<form class="description-editor" onSubmit=${save}>
          <div class="description-panes">
            <label class="description-pane">
              <span class="muted">Markdown</span>
              <textarea ref=${area} value=${draft} rows="10" data-testid="description-input"
                onInput=${(e) => setDraft(e.currentTarget.value)} onKeyDown=${onKeyDown}></textarea>
            </label>
            <div class="description-pane">
              <span class="muted">Preview</span>
              <div class="description-preview" data-testid="description-preview"><${Markdown} text=${draft} /></div>
            </div>
          </div>
          <div class="toolbar">
            <button type="submit" class="primary" disabled=${saving} data-testid="description-save">Save</button>
            <button type="button" onClick=${() => setDraft(null)}>Cancel</button>
            <span class="muted">Ctrl+Enter saves, Escape cancels.</span>
          </div>
          <${ErrorBox} error=${error} />
        </form>`
      : text
        ? html`<div class="description-view" data-testid="description-view"><${Markdown} text=${text} /></div>`
        : html`<p class="muted">No description.</p>`}
  <//>`;
}
