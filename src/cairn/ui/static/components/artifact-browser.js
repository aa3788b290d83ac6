// The artifacts tab: the tree on the left, the preview of the selected file on the right. The
// selected path lives in the URL query (`?tab=artifacts&path=...`) so a preview can be shared.

import { html, useState, useEffect, useQueryParam } from "../lib.js";
import { ArtifactTree, findEntry, useArtifactDirs } from "./artifact-tree.js";
import { ArtifactPreview } from "./artifact-preview.js";
import { ancestors } from "./artifact-files.js";

/** Mount keyed by `runId`: its state belongs to one run. */
export function ArtifactBrowser({ runId }) {
  const [path, setPath] = useQueryParam("path", "");
  const { dirs, load, refresh } = useArtifactDirs(runId);
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

  const toggle = (dir) => {
    const next = new Set(expanded);
    if (next.has(dir)) next.delete(dir);
    else {
      next.add(dir);
      load(dir);
    }
    setExpanded(next);
  };

  return html`<div class="artifact-browser">
    <aside class="artifact-side">
      <div class="artifact-side-head">
        <span class="muted">Files</span>
        <button type="button" class="small" onClick=${() => refresh(["", ...expanded])}
          title="List the artifacts again" data-testid="artifact-refresh">Refresh</button>
      </div>
      <${ArtifactTree} dirs=${dirs} expanded=${expanded} onToggle=${toggle} selected=${path}
        onSelect=${setPath} />
    </aside>
    <${ArtifactPreview} runId=${runId} path=${path} entry=${path ? findEntry(dirs, path) : undefined} />
  </div>`;
}
