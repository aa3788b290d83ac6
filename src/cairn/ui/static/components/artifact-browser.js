// The artifacts tab: the tree on the left, the preview of the selected file on the right. What
// it browses is a source (artifact-source.js): the run's artifacts, or one of its logged models'
// files. Source and selected path live in the URL query (`?tab=artifacts[&model=<id>]&path=...`)
// so a preview can be shared.

import { html, useState, useEffect, useQueryParam } from "../lib.js";
import { ArtifactTree, findEntry, useArtifactDirs } from "./artifact-tree.js";
import { ArtifactPreview } from "./artifact-preview.js";
import { ArtifactSourcePicker } from "./artifact-source-picker.js";
import { ancestors } from "./artifact-files.js";

/** A model's descriptor file: what a model's files open on when no file is chosen. */
const MODEL_FILE = "MLmodel";

/** Mount keyed by `source.key`: its state belongs to one source. `run` is the page's run. */
export function ArtifactBrowser({ source, run }) {
  const [path, setPath] = useQueryParam("path", "");
  const { dirs, load, refresh } = useArtifactDirs(source);
  const [expanded, setExpanded] = useState(() => new Set(ancestors(path)));

  useEffect(() => {
    load("");
    for (const dir of expanded) load(dir);
  }, []); // eslint-disable-line

  // A path from the URL (a shared link, the back button): open the folders that hold it.
  useEffect(() => {
    const missing = ancestors(path).filter((dir) => !expanded.has(dir));
    if (!missing.length) return;
    missing.forEach(load);
    setExpanded(new Set([...expanded, ...missing]));
  }, [path]); // eslint-disable-line

  // A model opened without a file shows its MLmodel (flavors, signature) if it has one.
  const root = dirs[""];
  useEffect(() => {
    if (source.kind !== "model" || path || !root || !root.entries) return;
    if (root.entries.some((e) => e.path === MODEL_FILE && !e.is_dir)) setPath(MODEL_FILE);
  }, [root]); // eslint-disable-line

  const toggle = (dir) => {
    const next = new Set(expanded);
    if (next.has(dir)) next.delete(dir);
    else {
      next.add(dir);
      load(dir);
    }
    setExpanded(next);
  };

  return html`<div class="artifact-browser" data-testid="artifact-browser" data-source=${source.key}>
    <aside class="artifact-side">
      <div class="artifact-side-head">
        <${ArtifactSourcePicker} run=${run} source=${source} />
        <button type="button" class="small" onClick=${() => refresh(["", ...expanded])}
          title="List the files again" data-testid="artifact-refresh">Refresh</button>
      </div>
      <${ArtifactTree} dirs=${dirs} expanded=${expanded} onToggle=${toggle} selected=${path}
        onSelect=${setPath} label=${source.label} emptyText=${source.emptyText} />
    </aside>
    <${ArtifactPreview} source=${source} path=${path} entry=${path ? findEntry(dirs, path) : undefined} />
  </div>`;
}
