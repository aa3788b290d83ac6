// Aliases ("champion → v3"): shown as chips with a remove button, and set with a small form
// (registered-models/alias POST and DELETE). On a model page the form asks for the version; on a
// version page the version is that page's.

import { html, useState, ErrorBox } from "../lib.js";
import { registry } from "../api.js";
import { Section } from "./run-common.js";
import { AliasChip } from "./registry-common.js";

const ALIAS_PATTERN = /^[\w-]+$/;

/** Why `alias` cannot be used, as MLflow's rules say (checked again by the server), or "". */
function aliasProblem(alias) {
  if (!alias) return "";
  if (!ALIAS_PATTERN.test(alias)) return "Letters, digits, _ and - only.";
  if (alias.toLowerCase() === "latest" || /^v\d+$/i.test(alias)) return `“${alias}” is reserved.`;
  return "";
}

/**
 * `aliases` [{alias, version}] of model `name`. `version` fixes the version new aliases point
 * to; without it the form asks, offering `versionChoices` and starting at `defaultVersion`.
 */
export function AliasEditor({ name, aliases, version, versionChoices, defaultVersion, onChanged, testid = "alias-editor" }) {
  const [alias, setAlias] = useState("");
  const [target, setTarget] = useState(null); // null: defaultVersion
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const chosen = version !== undefined && version !== null ? String(version) : (target ?? String(defaultVersion ?? "")).trim();
  const problem = aliasProblem(alias.trim());

  const act = async (call) => {
    setBusy(true);
    try {
      await call();
      setError(null);
      onChanged();
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const add = async (ev) => {
    ev.preventDefault();
    const a = alias.trim();
    if (!a || problem || !chosen) return;
    if (await act(() => registry.setAlias(name, a, chosen))) {
      setAlias("");
      setTarget(null);
    }
  };
  const sorted = [...(aliases || [])].sort((a, b) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0));
  const listId = testid + "-versions";
  return html`<${Section} title="Aliases" count=${sorted.length} testid=${testid} className="registry-aliases">
    ${sorted.length
      ? html`<div class="alias-chips">${sorted.map(
          (a) => html`<${AliasChip} key=${a.alias} name=${name} alias=${a.alias} version=${a.version} busy=${busy}
            onRemove=${() => act(() => registry.deleteAlias(name, a.alias))} />`,
        )}</div>`
      : html`<p class="muted">No aliases. An alias names a version for loading: <code>models:/${name}@champion</code>.</p>`}
    <form class="alias-add-form" onSubmit=${add} data-testid="alias-add-form">
      <input value=${alias} placeholder="Alias, e.g. champion" aria-label="New alias" data-testid="alias-input"
        class=${problem ? "invalid" : ""} maxlength="255" onInput=${(e) => setAlias(e.currentTarget.value)} />
      ${version !== undefined && version !== null
        ? html`<span class="muted">→ version ${version}</span>`
        : html`<label class="inline-field">→ version
            <input class="alias-version" value=${chosen} list=${listId} inputmode="numeric" size="6"
              aria-label="Version the alias points to" data-testid="alias-version-input"
              onInput=${(e) => setTarget(e.currentTarget.value)} />
            <datalist id=${listId}>${(versionChoices || []).map((v) => html`<option key=${v} value=${v} />`)}</datalist>
          </label>`}
      <button type="submit" class="small primary" data-testid="alias-add" disabled=${busy || !alias.trim() || !!problem || !chosen}>
        Set alias</button>
      ${problem ? html`<span class="field-problem" role="status">${problem}</span>` : null}
    </form>
    <${ErrorBox} error=${error} />
  <//>`;
}
