// The filter box: the search language (`metrics.loss < 0.5 and params.model = 'cnn'`) with
// autocomplete of the prefixes and, after a prefix, of the experiment's keys. Enter applies
// (unless a suggestion is being accepted); ArrowUp/ArrowDown move through the suggestions,
// Enter or Tab accepts one, Escape closes the list. A filter the server rejects is shown with
// the server's message under the box; the table keeps its last good rows.

import { html, useState, useLayoutEffect, useRef, searchIdentifier } from "../lib.js";

const PREFIXES = ["metrics.", "params.", "tags.", "attributes."];
const PREFIX_KIND = {
  metrics: "metrics", metric: "metrics",
  params: "params", param: "params",
  tags: "tags", tag: "tags",
  attributes: "attributes", attribute: "attributes", attr: "attributes", run: "attributes",
};
const ATTRIBUTES = [
  "run_id", "run_name", "status", "user_id", "start_time", "end_time", "artifact_uri", "lifecycle_stage",
];
const IDENT_CHAR = /[\w.\-/:`"]/;
const MAX_SUGGESTIONS = 50;

/** The identifier being typed before the caret: {start, word}, or null inside a string. */
export function wordAt(text, caret) {
  const before = text.slice(0, caret);
  // Inside a quoted value: an odd number of single quotes before the caret.
  const quotes = (before.match(/'/g) || []).length;
  if (quotes % 2 === 1) return null;
  let start = caret;
  while (start > 0 && IDENT_CHAR.test(before[start - 1])) start--;
  return { start, word: before.slice(start) };
}

/** Suggestions for `word`: [{label, insert, hint}] (insert replaces the word). */
export function suggest(word, keys) {
  if (!word || !/^[A-Za-z]/.test(word)) return [];
  const dot = word.indexOf(".");
  if (dot < 0) {
    const low = word.toLowerCase();
    return PREFIXES.filter((p) => p.startsWith(low) && p !== low).map((p) => ({
      label: p,
      insert: p,
      hint: "prefix",
      keepOpen: true,
    }));
  }
  const prefix = word.slice(0, dot);
  const kind = PREFIX_KIND[prefix.toLowerCase()];
  if (!kind) return [];
  const typed = word.slice(dot + 1).replace(/^[`"]/, "").toLowerCase();
  const pool = kind === "attributes" ? ATTRIBUTES : (keys && keys[kind]) || [];
  const starts = [];
  const contains = [];
  for (const key of pool) {
    const low = key.toLowerCase();
    if (low === typed) continue;
    if (low.startsWith(typed)) starts.push(key);
    else if (typed && low.includes(typed)) contains.push(key);
    if (starts.length >= MAX_SUGGESTIONS) break;
  }
  return [...starts, ...contains].slice(0, MAX_SUGGESTIONS).map((key) => ({
    label: prefix + "." + key,
    insert: searchIdentifier(prefix + "." + key) + " ",
    hint: kind.replace(/s$/, ""),
  }));
}

export function FilterBox({ value, onApply, keys, error, busy }) {
  const [draft, setDraft] = useState(value);
  const [list, setList] = useState({ items: [], active: 0, start: 0, end: 0 });
  const input = useRef(null);
  const pendingCaret = useRef(null);

  useLayoutEffect(() => setDraft(value), [value]); // as lib.useDebouncedDraft: no keystroke lost
  useLayoutEffect(() => {
    if (pendingCaret.current !== null && input.current) {
      input.current.setSelectionRange(pendingCaret.current, pendingCaret.current);
      pendingCaret.current = null;
    }
  });

  const refresh = (text, caret) => {
    const at = wordAt(text, caret);
    const items = at ? suggest(at.word, keys) : [];
    setList({ items, active: 0, start: at ? at.start : 0, end: caret });
  };
  const close = () => setList({ items: [], active: 0, start: 0, end: 0 });

  const accept = (item) => {
    const text = draft.slice(0, list.start) + item.insert + draft.slice(list.end);
    const caret = list.start + item.insert.length;
    setDraft(text);
    pendingCaret.current = caret;
    if (item.keepOpen) refresh(text, caret);
    else close();
    input.current && input.current.focus();
  };

  const onKeyDown = (e) => {
    const open = list.items.length > 0;
    if (open && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      const n = list.items.length;
      setList({ ...list, active: (list.active + step + n) % n });
    } else if (open && (e.key === "Enter" || e.key === "Tab")) {
      e.preventDefault();
      accept(list.items[list.active]);
    } else if (e.key === "Escape") {
      if (open) {
        e.preventDefault();
        close();
      }
    } else if (e.key === "Enter") {
      e.preventDefault();
      onApply(draft.trim());
    }
  };

  const listId = "filter-suggestions";
  const open = list.items.length > 0;
  return html`<div class="filter-box">
    <div class="filter-row">
      <input type="text" class=${"filter-input" + (error ? " invalid" : "")} data-testid="filter-input"
        ref=${input} value=${draft} spellcheck="false" autocomplete="off"
        placeholder="Filter runs: metrics.loss < 0.5 and params.model = 'cnn'"
        aria-label="Filter runs (search language; Enter applies)" role="combobox"
        aria-expanded=${open} aria-controls=${listId} aria-autocomplete="list"
        aria-activedescendant=${open ? `${listId}-${list.active}` : undefined}
        aria-invalid=${error ? "true" : "false"} aria-describedby=${error ? "filter-error" : undefined}
        onInput=${(e) => {
          setDraft(e.currentTarget.value);
          refresh(e.currentTarget.value, e.currentTarget.selectionStart);
        }}
        onKeyDown=${onKeyDown} onBlur=${() => setTimeout(close, 150)} />
      <button type="button" onClick=${() => onApply(draft.trim())} disabled=${busy}>Apply</button>
      ${value ? html`<button type="button" onClick=${() => { setDraft(""); onApply(""); }} title="Clear the filter">Clear</button>` : null}
    </div>
    ${open
      ? html`<ul class="suggestions" id=${listId} role="listbox" aria-label="Suggestions">
          ${list.items.map(
            (item, k) => html`<li id=${`${listId}-${k}`} role="option" aria-selected=${k === list.active}
                class=${k === list.active ? "active" : ""}
                onMouseDown=${(e) => { e.preventDefault(); accept(item); }}>
              <span class="suggestion-label">${item.label}</span><span class="muted suggestion-hint">${item.hint}</span>
            </li>`,
          )}
        </ul>`
      : null}
    ${error ? html`<div class="filter-error" id="filter-error" data-testid="filter-error" role="alert">${error}</div>` : null}
  </div>`;
}
