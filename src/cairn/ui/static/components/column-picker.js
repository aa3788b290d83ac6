// The column picker: every param, metric and tag key of the shown experiments (from
// `experiments/keys`), grouped by kind, with a search box. Ticking a key adds its column at the
// end; unticking removes it. The chosen list lives in the page's URL, not here.

import { html, useState, useEffect, useRef } from "../lib.js";

const GROUPS = [
  ["metrics", "Metrics"],
  ["params", "Params"],
  ["tags", "Tags"],
];
const MAX_LISTED = 300;

export function ColumnPicker({ keys, chosen, onChange }) {
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState("");
  const root = useRef(null);
  const button = useRef(null);
  const search = useRef(null);

  useEffect(() => {
    if (!open) return undefined;
    search.current && search.current.focus();
    const onDown = (e) => root.current && !root.current.contains(e.target) && setOpen(false);
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [open]);

  const chosenSet = new Set(chosen);
  const toggle = (col, on) => onChange(on ? [...chosen, col] : chosen.filter((c) => c !== col));
  const setKind = (kind, on) => {
    const cols = (keys[kind] || []).map((k) => kind + "." + k);
    if (on) onChange([...chosen, ...cols.filter((c) => !chosenSet.has(c))]);
    else onChange(chosen.filter((c) => !c.startsWith(kind + ".")));
  };
  const close = () => {
    setOpen(false);
    button.current && button.current.focus();
  };
  const q = query.trim().toLowerCase();

  return html`<div class="column-picker" ref=${root}
      onKeyDown=${(e) => e.key === "Escape" && open && (e.preventDefault(), close())}>
    <button type="button" data-testid="column-picker" ref=${button} aria-expanded=${open}
        aria-controls="column-picker-panel" aria-haspopup="dialog" onClick=${() => setOpen(!open)}>
      Columns <span class="badge">${chosen.length}</span>
    </button>
    ${open
      ? html`<div class="picker-panel" id="column-picker-panel" role="dialog" aria-label="Choose columns">
          <div class="picker-top">
            <input type="search" ref=${search} value=${query} placeholder="Search keys"
              aria-label="Search keys" data-testid="column-search"
              onInput=${(e) => setQuery(e.currentTarget.value)} />
            <button type="button" onClick=${() => onChange([])}>None</button>
            <button type="button" onClick=${close}>Done</button>
          </div>
          <div class="picker-groups">
            ${GROUPS.map(([kind, title]) => {
              const all = keys[kind] || [];
              const matching = q ? all.filter((k) => k.toLowerCase().includes(q)) : all;
              const shown = matching.slice(0, MAX_LISTED);
              const allOn = all.length > 0 && all.every((k) => chosenSet.has(kind + "." + k));
              return html`<section class="picker-group" aria-label=${title} key=${kind}>
                <div class="picker-group-head">
                  <h3>${title} <span class="muted">${all.length}</span></h3>
                  ${all.length
                    ? html`<button type="button" class="link-button" onClick=${() => setKind(kind, !allOn)}>
                        ${allOn ? "none" : "all"}</button>`
                    : null}
                </div>
                ${shown.length === 0 ? html`<div class="muted picker-empty">${all.length ? "No match" : "None logged"}</div>` : null}
                <ul>
                  ${shown.map((k) => {
                    const col = kind + "." + k;
                    return html`<li key=${col}><label title=${col}>
                      <input type="checkbox" data-col=${col} checked=${chosenSet.has(col)}
                        onChange=${(e) => toggle(col, e.currentTarget.checked)} />
                      <span>${k}</span></label></li>`;
                  })}
                </ul>
                ${matching.length > shown.length
                  ? html`<div class="muted picker-more">${matching.length - shown.length} more: refine the search</div>`
                  : null}
              </section>`;
            })}
          </div>
        </div>`
      : null}
  </div>`;
}
