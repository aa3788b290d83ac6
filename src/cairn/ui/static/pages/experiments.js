// The experiments list (#/?q=...&deleted=1&sort=...): search by name, run counts and last
// activity, create / rename / delete (confirmed inline) / restore, and several experiments
// ticked at once open one runs table for all of them (#/experiments/1,2).

import {
  html,
  useState,
  useLayoutEffect,
  useMemo,
  useRef,
  useQueryParam,
  useDebouncedDraft,
  useAsync,
  navigate,
  href,
  formatAgo,
  formatTime,
  searchLiteral,
  ErrorBox,
  Spinner,
} from "../lib.js";
import { mlflow, cairn } from "../api.js";

const PAGE_SIZE = 1000;
const MAX_LISTED = 20000;
const SUMMARY_CHUNK = 100;
const SEARCH_DEBOUNCE_MS = 200;

async function searchExperiments(q, showDeleted) {
  const filter = q ? `name ILIKE ${searchLiteral("%" + q + "%")}` : "";
  const found = [];
  let token = null;
  do {
    const page = await mlflow.post("experiments/search", {
      max_results: PAGE_SIZE,
      filter,
      view_type: showDeleted ? "ALL" : "ACTIVE_ONLY",
      page_token: token || undefined,
    });
    found.push(...(page.experiments || []));
    token = page.next_page_token;
  } while (token && found.length < MAX_LISTED);
  return found;
}

async function summaries(ids) {
  const out = {};
  const chunks = [];
  for (let k = 0; k < ids.length; k += SUMMARY_CHUNK) chunks.push(ids.slice(k, k + SUMMARY_CHUNK));
  const answers = await Promise.all(chunks.map((c) => cairn.get("experiments/summary", { experiment_ids: c })));
  for (const a of answers) for (const s of a.experiments || []) out[s.experiment_id] = s;
  return out;
}

const SORTS = {
  name: (e) => e.name.toLowerCase(),
  id: (e) => Number(e.experiment_id),
  runs: (e, s) => (s ? s.run_count : -1),
  activity: (e, s) => (s && s.last_activity) || e.last_update_time || 0,
  created: (e) => e.creation_time || 0,
};
const COLUMNS = [
  ["name", "Name", ""],
  ["id", "ID", "num"],
  ["runs", "Runs", "num"],
  ["activity", "Last activity", ""],
  ["created", "Created", ""],
];

function CreateForm({ onCreated, onCancel }) {
  const [name, setName] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const input = useRef(null);
  useLayoutEffect(() => input.current && input.current.focus(), []);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await mlflow.post("experiments/create", { name: name.trim() });
      onCreated(r.experiment_id);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`<form class="create-form" onSubmit=${submit} onKeyDown=${(e) => e.key === "Escape" && onCancel()}>
    <input ref=${input} value=${name} placeholder="New experiment name" aria-label="New experiment name"
      data-testid="new-experiment-name" onInput=${(e) => setName(e.currentTarget.value)} />
    <button type="submit" class="primary" disabled=${busy || !name.trim()} data-testid="create-experiment-submit">Create</button>
    <button type="button" onClick=${onCancel}>Cancel</button>
    <${ErrorBox} error=${error} />
  </form>`;
}

function RenameForm({ exp, busy, onSave, onCancel }) {
  const [name, setName] = useState(exp.name);
  const input = useRef(null);
  useLayoutEffect(() => {
    input.current.focus();
    input.current.select();
  }, []);
  const submit = (e) => {
    e.preventDefault();
    onSave(name.trim());
  };
  return html`<form class="rename-form" onSubmit=${submit} onKeyDown=${(e) => e.key === "Escape" && onCancel()}>
    <input ref=${input} value=${name} aria-label=${"New name for " + exp.name} data-testid="rename-input"
      onInput=${(e) => setName(e.currentTarget.value)} />
    <button type="submit" class="primary" disabled=${busy} data-testid="rename-save">Save</button>
    <button type="button" onClick=${onCancel}>Cancel</button>
  </form>`;
}

function ExperimentRow({ exp, summary, checked, onCheck, onChanged }) {
  const [mode, setMode] = useState("view"); // view | rename | confirm-delete
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const id = exp.experiment_id;
  const deleted = exp.lifecycle_stage === "deleted";

  const call = async (endpoint, body) => {
    setBusy(true);
    setError(null);
    try {
      await mlflow.post(endpoint, body);
      setMode("view");
      onChanged();
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  const saveName = (newName) => {
    if (newName && newName !== exp.name) call("experiments/update", { experiment_id: id, new_name: newName });
    else setMode("view");
  };
  const activity = summary ? summary.last_activity : exp.last_update_time;

  let nameCell;
  if (mode === "rename") {
    nameCell = html`<${RenameForm} exp=${exp} busy=${busy} onSave=${saveName} onCancel=${() => setMode("view")} />`;
  } else {
    nameCell = html`<a href=${href("/experiments/" + id)} class="exp-name" title=${exp.name}>${exp.name}</a>
      ${deleted ? html` <span class="badge deleted-badge">deleted</span>` : null}`;
  }

  let actions;
  if (mode === "confirm-delete") {
    actions = html`<span class="confirm" role="alert">Delete “${exp.name}”?
      <button type="button" class="danger" data-testid="confirm-delete" disabled=${busy}
        onClick=${() => call("experiments/delete", { experiment_id: id })}>Delete</button>
      <button type="button" onClick=${() => setMode("view")}>Cancel</button></span>`;
  } else if (deleted) {
    actions = html`<button type="button" data-testid="restore-experiment" disabled=${busy}
      onClick=${() => call("experiments/restore", { experiment_id: id })}>Restore</button>`;
  } else if (mode === "view") {
    actions = html`<button type="button" data-testid="rename-experiment" onClick=${() => setMode("rename")}
        aria-label=${"Rename " + exp.name}>Rename</button>
      <button type="button" class="danger" data-testid="delete-experiment" onClick=${() => setMode("confirm-delete")}
        aria-label=${"Delete " + exp.name}>Delete</button>`;
  }

  return html`<tr data-testid="experiment-row" data-experiment-id=${id} class=${(checked ? "selected" : "") + (deleted ? " deleted" : "")}>
    <td class="check"><input type="checkbox" data-testid="experiment-select" checked=${checked} disabled=${deleted}
      aria-label=${"Select " + exp.name} onChange=${(e) => onCheck(id, e.currentTarget.checked)} /></td>
    <td class="name">${nameCell}${error ? html`<${ErrorBox} error=${error} />` : null}</td>
    <td class="num">${id}</td>
    <td class="num" data-testid="run-count">${summary ? summary.run_count.toLocaleString() : ""}</td>
    <td title=${formatTime(activity)}>${formatAgo(activity)}</td>
    <td title=${formatTime(exp.creation_time)}>${formatTime(exp.creation_time).slice(0, 10)}</td>
    <td class="actions">${actions}</td>
  </tr>`;
}

export default function ExperimentsPage() {
  const [q, setQ] = useQueryParam("q", "");
  const [deletedParam, setDeleted] = useQueryParam("deleted", "");
  const [sortParam, setSort] = useQueryParam("sort", "");
  const showDeleted = deletedParam === "1";
  const [draft, setDraft] = useDebouncedDraft(q, setQ, SEARCH_DEBOUNCE_MS);
  const [creating, setCreating] = useState(false);
  const [checked, setChecked] = useState(() => new Set());

  const list = useAsync(() => searchExperiments(q, showDeleted), [q, showDeleted]);
  const ids = (list.data || []).map((e) => e.experiment_id);
  const summary = useAsync(() => (ids.length ? summaries(ids) : Promise.resolve({})), [ids.join(",")]);

  const [sortKey, sortDir] = (sortParam || ":").split(":");
  const rows = useMemo(() => {
    const data = list.data || [];
    const keyOf = SORTS[sortKey];
    if (!keyOf) return data;
    const s = summary.data || {};
    const sign = sortDir === "desc" ? -1 : 1;
    return [...data].sort((a, b) => {
      const ka = keyOf(a, s[a.experiment_id]);
      const kb = keyOf(b, s[b.experiment_id]);
      return (ka < kb ? -1 : ka > kb ? 1 : 0) * sign;
    });
  }, [list.data, summary.data, sortKey, sortDir]);

  const reload = () => {
    list.reload();
    summary.reload();
  };
  const onCheck = (id, on) => {
    const next = new Set(checked);
    if (on) next.add(id);
    else next.delete(id);
    setChecked(next);
  };
  const chosen = rows.filter((e) => checked.has(e.experiment_id)).map((e) => e.experiment_id);
  const onSort = (key) => setSort(`${key}:${sortKey === key && sortDir === "asc" ? "desc" : "asc"}`);

  return html`<div class="page experiments-page" data-testid="experiments-page"
      data-ready=${list.loading || summary.loading ? "false" : "true"}>
    <div class="toolbar">
      <h1>Experiments</h1>
      <span class="spacer"></span>
      <input type="search" class="exp-search" value=${draft} placeholder="Search by name" aria-label="Search experiments by name"
        data-testid="experiment-search" onInput=${(e) => setDraft(e.currentTarget.value)}
        onKeyDown=${(e) => e.key === "Enter" && setQ(draft)} />
      <label class="inline-field"><input type="checkbox" checked=${showDeleted} data-testid="show-deleted"
        onChange=${(e) => setDeleted(e.currentTarget.checked ? "1" : "")} /> Show deleted</label>
      <button type="button" disabled=${chosen.length < 1} data-testid="open-selected"
        title="One runs table for the ticked experiments"
        onClick=${() => navigate("/experiments/" + chosen.join(","))}>
        Open runs${chosen.length ? ` of ${chosen.length}` : ""}</button>
      <button type="button" class="primary" data-testid="create-experiment" onClick=${() => setCreating(true)}>New experiment</button>
    </div>
    ${creating
      ? html`<${CreateForm} onCancel=${() => setCreating(false)}
          onCreated=${() => { setCreating(false); reload(); }} />`
      : null}
    <${ErrorBox} error=${list.error} />
    <${ErrorBox} error=${summary.error} />
    ${list.data
      ? html`<table class="grid experiments-table">
          <thead><tr>
            <th class="check"><span class="visually-hidden">Select</span></th>
            ${COLUMNS.map(([key, label, cls]) => {
              const active = sortKey === key;
              return html`<th class=${cls} key=${key} aria-sort=${active ? (sortDir === "asc" ? "ascending" : "descending") : "none"}>
                <button type="button" class="head-button" onClick=${() => onSort(key)}><span>${label}</span
                  ><span class="sort-arrow" aria-hidden="true">${active ? (sortDir === "asc" ? "▲" : "▼") : ""}</span></button></th>`;
            })}
            <th class="actions"><span class="visually-hidden">Actions</span></th>
          </tr></thead>
          <tbody>
            ${rows.map(
              (exp) => html`<${ExperimentRow} key=${exp.experiment_id} exp=${exp}
                summary=${summary.data && summary.data[exp.experiment_id]}
                checked=${checked.has(exp.experiment_id)} onCheck=${onCheck} onChanged=${reload} />`,
            )}
          </tbody>
        </table>
        ${rows.length === 0
          ? html`<p class="muted">${q ? `No experiment name contains “${q}”.` : "No experiments."}</p>`
          : null}`
      : list.error
        ? null
        : html`<${Spinner} label="Loading experiments" />`}
  </div>`;
}
