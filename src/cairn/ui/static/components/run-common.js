// Small pieces the run page's sections share: reading a run message's tags, a ticking clock for
// live durations, a copy button and the section frame.

import { html, useState, useEffect } from "../lib.js";

export const TAG = {
  runName: "mlflow.runName",
  note: "mlflow.note.content",
  parent: "mlflow.parentRunId",
  user: "mlflow.user",
  sourceName: "mlflow.source.name",
  sourceType: "mlflow.source.type",
  gitCommit: "mlflow.source.git.commit",
  gitBranch: "mlflow.source.git.branch",
  gitRepo: "mlflow.source.git.repoURL",
  modelHistory: "mlflow.log-model.history",
  datasetContext: "mlflow.data.context",
  entryPoint: "mlflow.project.entryPoint",
  projectEnv: "mlflow.project.env",
  projectVersion: "cairn.project.version",
  reproduces: "cairn.reproduces",
  sweep: "cairn.sweep",
  sweepBestRun: "cairn.sweep.best_run_id",
  sweepMetric: "cairn.sweep.metric",
  sweepGoal: "cairn.sweep.goal",
};

/** A run message's tags as an object (key -> value). */
export function tagsOf(run) {
  const out = {};
  for (const t of (run.data && run.data.tags) || []) out[t.key] = t.value;
  return out;
}

/** Date.now(), re-rendering the caller every `ms` while `active` (live durations). */
export function useNow(active, ms = 1000) {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
  return now;
}

/** Only http(s) URLs become links: a tag's `javascript:` URL must never be clickable. */
export function safeHttpUrl(value) {
  try {
    const u = new URL(String(value));
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

export function CopyButton({ text, label = "Copy", testid }) {
  const [state, setState] = useState("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState("Copied");
    } catch {
      setState("Copy failed: select and press Ctrl+C");
    }
    setTimeout(() => setState(""), 2000);
  };
  return html`<button type="button" class="small" onClick=${copy} data-testid=${testid}
    aria-label=${label + " " + text}>${state || label}</button>`;
}

/** A titled block of the overview; `actions` go to the right of the title. */
export function Section({ title, actions, children, className = "", testid, count }) {
  return html`<section class=${"run-section " + className} data-testid=${testid}>
    <div class="run-section-head">
      <h2>${title}${count !== undefined ? html` <span class="count muted">${count}</span>` : null}</h2>
      <span class="spacer"></span>${actions}
    </div>
    ${children}
  </section>`;
}
