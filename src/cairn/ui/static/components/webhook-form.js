// The "new webhook" form: name, URL, optional description and secret, and the events it
// subscribes to as checkboxes (every event of api.WEBHOOK_EVENTS, grouped). The server checks
// every rule again; its refusal (a bad URL, a taken name) is shown as it says it.

import { html, useState, useLayoutEffect, useRef, ErrorBox } from "../lib.js";
import { webhooks, WEBHOOK_EVENTS } from "../api.js";

const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$/i; // the server's rule (webhooks/rules.py)

/** The events in three groups, in the server's order. */
const GROUPS = [
  { title: "Registered models", test: (e) => e.startsWith("registered_model") },
  { title: "Model versions", test: (e) => e.startsWith("model_version") },
  { title: "Prompts", test: (e) => e.startsWith("prompt"), note: "cairn has no prompts yet: these never fire." },
].map((g) => ({ ...g, events: WEBHOOK_EVENTS.filter(g.test) }));

function EventGroup({ group, chosen, toggle, setMany }) {
  const all = group.events.every((e) => chosen.has(e));
  return html`<fieldset class="webhook-events-group" data-testid="webhook-event-group">
    <legend>${group.title}
      <button type="button" class="link-button" onClick=${() => setMany(group.events, !all)}
        data-testid="webhook-event-group-toggle">${all ? "none" : "all"}</button></legend>
    ${group.note ? html`<p class="muted webhook-events-note">${group.note}</p>` : null}
    ${group.events.map(
      (e) => html`<label key=${e} class="webhook-event-choice">
        <input type="checkbox" value=${e} checked=${chosen.has(e)} data-testid="webhook-event"
          onChange=${() => toggle(e)} /><code>${e}</code></label>`,
    )}
  </fieldset>`;
}

/** Calls `onCreated(webhook)` once the server has it; `onCancel` closes the form. */
export function WebhookForm({ onCreated, onCancel }) {
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [secret, setSecret] = useState("");
  const [chosen, setChosen] = useState(() => new Set(["model_version.created"]));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const first = useRef(null);
  useLayoutEffect(() => first.current && first.current.focus(), []);

  const toggle = (event) =>
    setChosen((s) => {
      const next = new Set(s);
      if (next.has(event)) next.delete(event);
      else next.add(event);
      return next;
    });
  const setMany = (events, on) =>
    setChosen((s) => {
      const next = new Set(s);
      events.forEach((e) => (on ? next.add(e) : next.delete(e)));
      return next;
    });
  const nameProblem = name.trim() && !NAME_PATTERN.test(name.trim())
    ? "1 to 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit."
    : "";
  const events = WEBHOOK_EVENTS.filter((e) => chosen.has(e));
  const ready = name.trim() && url.trim() && events.length && !busy;

  const submit = async (ev) => {
    ev.preventDefault();
    if (!ready) return;
    setBusy(true);
    try {
      const created = await webhooks.create({ name: name.trim(), url: url.trim(), events, secret, description: description.trim() });
      setError(null);
      onCreated(created);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="webhook-form" data-testid="webhook-form" onSubmit=${submit} autocomplete="off">
    <h2>New webhook</h2>
    <div class="webhook-form-fields">
      <label class="dialog-field">Name
        <input ref=${first} value=${name} data-testid="webhook-name-input" maxlength="63" spellcheck="false"
          class=${nameProblem ? "invalid" : ""} placeholder="e.g. ci-deploy" onInput=${(e) => setName(e.currentTarget.value)} />
        ${nameProblem ? html`<span class="field-problem" role="status">${nameProblem}</span>` : null}</label>
      <label class="dialog-field">URL
        <input type="text" inputmode="url" value=${url} data-testid="webhook-url-input" spellcheck="false"
          placeholder="https://ci.example.com/hooks/registry" onInput=${(e) => setUrl(e.currentTarget.value)} /></label>
      <label class="dialog-field">Description <span class="muted">(optional)</span>
        <input value=${description} data-testid="webhook-description-input" maxlength="5000"
          onInput=${(e) => setDescription(e.currentTarget.value)} /></label>
      <label class="dialog-field">Secret <span class="muted">(optional)</span>
        <input type="password" value=${secret} data-testid="webhook-secret-input" autocomplete="new-password"
          placeholder="signs each delivery; never shown again"
          onInput=${(e) => setSecret(e.currentTarget.value)} /></label>
    </div>
    <div class="webhook-events" role="group" aria-label="Events">
      ${GROUPS.map((g) => html`<${EventGroup} key=${g.title} group=${g} chosen=${chosen} toggle=${toggle} setMany=${setMany} />`)}
    </div>
    <${ErrorBox} error=${error} />
    <div class="registry-dialog-actions">
      <span class="muted webhook-event-count">${events.length} event${events.length === 1 ? "" : "s"}</span>
      <span class="spacer"></span>
      <button type="button" onClick=${onCancel} data-testid="webhook-form-cancel">Cancel</button>
      <button type="submit" class="primary" disabled=${!ready} data-testid="webhook-create">
        ${busy ? "Creating…" : "Create webhook"}</button>
    </div>
  </form>`;
}
