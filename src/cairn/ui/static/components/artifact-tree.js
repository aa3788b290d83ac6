// The artifact tree of a source (a run's artifacts or a logged model's files, see
// artifact-source.js): directories listed lazily (one listing call when a folder is first
// opened), keyboard navigable as a WAI-ARIA tree (arrows, Home/End, Enter).

import { html, useState, useCallback, useEffect, useRef, formatBytes, ErrorBox } from "../lib.js";
import { baseName, parentPath } from "./artifact-files.js";

function sortEntries(files) {
  return [...files].sort((a, b) =>
    a.is_dir === b.is_dir ? a.path.localeCompare(b.path) : a.is_dir ? -1 : 1,
  );
}

/**
 * Directory listings of `source`, loaded on demand: {dirs, load, refresh}. `dirs[path]` is
 * {loading} | {entries} | {error}; the root is "". Mount it keyed by `source.key`.
 */
export function useArtifactDirs(source) {
  const [dirs, setDirs] = useState({});
  const requested = useRef(new Set());
  const generation = useRef(0);
  const load = useCallback(
    (dir) => {
      if (requested.current.has(dir)) return;
      requested.current.add(dir);
      const mine = generation.current;
      setDirs((d) => ({ ...d, [dir]: { loading: true } }));
      source.list(dir).then(
        (res) => mine === generation.current && setDirs((d) => ({ ...d, [dir]: { entries: sortEntries(res.files || []) } })),
        (error) => {
          if (mine !== generation.current) return;
          requested.current.delete(dir);
          setDirs((d) => ({ ...d, [dir]: { error } }));
        },
      );
    },
    [source],
  );
  /** Forget every listing and reload `open` ones (artifacts appear while a run is running). */
  const refresh = useCallback(
    (open) => {
      generation.current += 1;
      requested.current = new Set();
      setDirs({});
      for (const dir of open) load(dir);
    },
    [load],
  );
  return { dirs, load, refresh };
}

/** The listing entry of `path` if its folder is loaded. */
export function findEntry(dirs, path) {
  const listing = dirs[parentPath(path)];
  return listing && listing.entries ? listing.entries.find((e) => e.path === path) : undefined;
}

function flatten(dirs, expanded, dir, depth, out, emptyText) {
  const listing = dirs[dir];
  if (!listing || listing.loading) {
    out.push({ kind: "note", key: "loading:" + dir, depth, text: "Loading…" });
    return;
  }
  if (listing.error) {
    out.push({ kind: "error", key: "error:" + dir, depth, error: listing.error });
    return;
  }
  if (!listing.entries.length) {
    out.push({ kind: "note", key: "empty:" + dir, depth, text: depth ? "(empty folder)" : emptyText });
  }
  for (const entry of listing.entries) {
    out.push({ kind: "entry", key: entry.path, depth, entry });
    if (entry.is_dir && expanded.has(entry.path)) flatten(dirs, expanded, entry.path, depth + 1, out, emptyText);
  }
}

/**
 * The tree. `expanded` is a Set of open folders, `onToggle(dir)` opens/closes one, `onSelect(path)`
 * picks a file, `selected` is the file shown in the preview; `label` names the tree, `emptyText`
 * stands in for an empty root.
 */
export function ArtifactTree({ dirs, expanded, onToggle, selected, onSelect, label = "Artifacts", emptyText = "No files." }) {
  const rows = [];
  flatten(dirs, expanded, "", 0, rows, emptyText);
  const entries = rows.filter((r) => r.kind === "entry");
  const focusPath = entries.some((r) => r.entry.path === selected) ? selected : entries.length ? entries[0].entry.path : null;
  const container = useRef(null);

  // A shared link: bring the selected file into view once its folder is listed.
  const scrolled = useRef(false);
  useEffect(() => {
    if (scrolled.current || !selected || !container.current) return;
    const el = [...container.current.querySelectorAll('[role="treeitem"]')].find((x) => x.dataset.path === selected);
    if (el) {
      scrolled.current = true;
      el.scrollIntoView({ block: "nearest" });
    }
  });

  const onKeyDown = (ev) => {
    const items = [...ev.currentTarget.querySelectorAll('[role="treeitem"]')];
    const i = items.indexOf(document.activeElement);
    if (i < 0) return;
    const item = items[i];
    const path = item.dataset.path;
    const isDir = item.dataset.dir === "true";
    switch (ev.key) {
      case "ArrowDown":
        if (items[i + 1]) items[i + 1].focus();
        break;
      case "ArrowUp":
        if (items[i - 1]) items[i - 1].focus();
        break;
      case "Home":
        items[0].focus();
        break;
      case "End":
        items[items.length - 1].focus();
        break;
      case "ArrowRight":
        if (isDir && !expanded.has(path)) onToggle(path);
        else if (isDir && items[i + 1]) items[i + 1].focus();
        break;
      case "ArrowLeft": {
        if (isDir && expanded.has(path)) onToggle(path);
        else {
          const parent = items.find((x) => x.dataset.path === parentPath(path));
          if (parent) parent.focus();
        }
        break;
      }
      default:
        return;
    }
    ev.preventDefault();
  };

  return html`<div class="artifact-tree" role="tree" aria-label=${label} ref=${container} onKeyDown=${onKeyDown}>
    ${rows.map((row) => {
      const indent = { paddingLeft: 6 + row.depth * 16 + "px" };
      if (row.kind === "note") return html`<div class="artifact-note muted" key=${row.key} style=${indent}>${row.text}</div>`;
      if (row.kind === "error") return html`<div key=${row.key} style=${indent}><${ErrorBox} error=${row.error} /></div>`;
      const { entry } = row;
      const open = entry.is_dir && expanded.has(entry.path);
      const isSelected = entry.path === selected;
      return html`<button type="button" key=${row.key} role="treeitem" style=${indent}
          class=${"artifact-entry" + (isSelected ? " selected" : "") + (entry.is_dir ? " dir" : "")}
          data-testid="artifact-entry" data-path=${entry.path} data-dir=${entry.is_dir ? "true" : "false"}
          aria-level=${row.depth + 1} aria-expanded=${entry.is_dir ? (open ? "true" : "false") : undefined}
          aria-selected=${isSelected ? "true" : "false"} tabindex=${entry.path === focusPath ? 0 : -1}
          title=${entry.path}
          onClick=${() => (entry.is_dir ? onToggle(entry.path) : onSelect(entry.path))}>
        <span class="artifact-icon" aria-hidden="true">${entry.is_dir ? (open ? "▾" : "▸") : "·"}</span>
        <span class="artifact-entry-name">${baseName(entry.path)}</span>
        ${entry.is_dir ? null : html`<span class="artifact-size muted">${formatBytes(entry.file_size)}</span>`}
      </button>`;
    })}
  </div>`;
}
