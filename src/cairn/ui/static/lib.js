// Shared building blocks of the UI: the `html` template tag (htm bound to Preact), the hash
// router, formatting helpers and a few hooks. Pages import from here rather than from the
// libraries, so a library swap touches one file.
//
// Escaping: `html` templates escape every interpolated value (Preact sets text, never HTML).
// Never use dangerouslySetInnerHTML except through `renderMarkdown`, which sanitizes.

import { h, render, Fragment } from "preact";
import { useState, useEffect, useMemo, useRef, useCallback, useLayoutEffect } from "preact/hooks";
import htm from "htm";

export const html = htm.bind(h);
export { h, render, Fragment, useState, useEffect, useMemo, useRef, useCallback, useLayoutEffect };

// ---------------------------------------------------------------------------------------------
// Routing: the location hash is `#/path/segments?query=string`. The query holds a view's state
// (filter, columns, sort, ...) so that a view can be shared as a link.

/** The current route: {path: "/experiments/1", segments: ["experiments", "1"], query: URLSearchParams}. */
export function currentRoute() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const qi = raw.indexOf("?");
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const query = new URLSearchParams(qi < 0 ? "" : raw.slice(qi + 1));
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { path, segments, query };
}

/** A hash link to `path` with `query` (an object or URLSearchParams; empty values dropped). */
export function href(path, query) {
  const q = new URLSearchParams();
  if (query) {
    const entries = query instanceof URLSearchParams ? query.entries() : Object.entries(query);
    for (const [k, v] of entries) {
      if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
    }
  }
  const qs = q.toString();
  return "#" + path + (qs ? "?" + qs : "");
}

/** Go to `path`; with `replace`, the browser's back button skips the current state. */
export function navigate(path, query, { replace = false } = {}) {
  const target = href(path, query);
  if (replace) history.replaceState(null, "", target);
  else history.pushState(null, "", target);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

/** The route, re-rendering the caller when the hash changes. */
export function useRoute() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const onChange = () => setRoute(currentRoute());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

/**
 * One piece of view state kept in the URL query: [value, setValue]. setValue replaces the
 * history entry (typing in a filter box should not fill the back button).
 */
export function useQueryParam(name, fallback = "") {
  const route = useRoute();
  const value = route.query.has(name) ? route.query.get(name) : fallback;
  const set = useCallback(
    (next) => {
      const r = currentRoute();
      if (next === fallback || next === "" || next == null) r.query.delete(name);
      else r.query.set(name, String(next));
      navigate(r.path, r.query, { replace: true });
    },
    [name, fallback],
  );
  return [value, set];
}

// ---------------------------------------------------------------------------------------------
// Data loading.

/**
 * Run `load()` (a promise) whenever `deps` change: {data, error, loading, reload}. Results of
 * superseded calls are dropped. With `intervalMs`, reloads periodically while the page is
 * visible (live views of running runs).
 */
export function useAsync(load, deps, { intervalMs = 0 } = {}) {
  const [state, setState] = useState({ data: undefined, error: undefined, loading: true });
  const generation = useRef(0);
  const run = useCallback(
    (quiet) => {
      const mine = ++generation.current;
      if (!quiet) setState((s) => ({ ...s, loading: true }));
      Promise.resolve()
        .then(load)
        .then(
          (data) => mine === generation.current && setState({ data, error: undefined, loading: false }),
          (error) => mine === generation.current && setState((s) => ({ ...s, error, loading: false })),
        );
    },
    deps, // eslint-disable-line
  );
  useEffect(() => {
    run(false);
    if (!intervalMs) return undefined;
    const timer = setInterval(() => document.visibilityState === "visible" && run(true), intervalMs);
    return () => clearInterval(timer);
  }, [run, intervalMs]);
  return { ...state, reload: () => run(true) };
}

// ---------------------------------------------------------------------------------------------
// Formatting.

export function formatTime(ms) {
  if (ms === null || ms === undefined || ms === "" || Number(ms) <= 0) return "";
  const d = new Date(Number(ms));
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "3 min ago" for times within a week, else the date. */
export function formatAgo(ms) {
  if (!ms) return "";
  const s = (Date.now() - Number(ms)) / 1000;
  if (s < 0) return formatTime(ms);
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 7 * 86400) return `${Math.floor(s / 86400)} d ago`;
  return formatTime(ms).slice(0, 10);
}

export function formatDuration(startMs, endMs) {
  if (!startMs) return "";
  const end = endMs ? Number(endMs) : Date.now();
  let s = Math.max(0, (end - Number(startMs)) / 1000);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s = Math.floor(s - m * 60);
  return h ? `${h} h ${m} min` : `${m} min ${s} s`;
}

/** Numbers with up to 6 significant digits; everything else as given. */
export function formatValue(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-4 || a >= 1e9)) return v.toExponential(4);
    return String(Number(v.toPrecision(6)));
  }
  return String(v);
}

export function formatBytes(n) {
  if (n === null || n === undefined || n === "") return "";
  n = Number(n);
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return i ? `${n.toFixed(1)} ${units[i]}` : `${n} B`;
}

/** A stable color per run id (the same run has the same color in every chart and table). */
const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#3b5ba5", "#e8a33d", "#4c9f70", "#c44e52", "#8172b3", "#64b5cd",
];
export function runColor(runId) {
  let hash = 2166136261;
  for (let i = 0; i < runId.length; i++) {
    hash ^= runId.charCodeAt(i);
    hash = Math.imul(hash, 16777619);
  }
  return PALETTE[(hash >>> 0) % PALETTE.length];
}

// ---------------------------------------------------------------------------------------------
// Small shared components.

export function StatusBadge({ status }) {
  const s = (status || "").toUpperCase();
  return html`<span class=${"badge status-" + s.toLowerCase()} title=${s}>${s.toLowerCase()}</span>`;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  const code = error.errorCode ? html`<code>${error.errorCode}</code> ` : "";
  return html`<div class="error-box" role="alert">${code}${error.message || String(error)}</div>`;
}

export function Spinner({ label = "Loading" }) {
  return html`<div class="spinner" role="status" aria-live="polite">${label}…</div>`;
}

/** Markdown rendered to sanitized HTML (scripts, event handlers and javascript: URLs removed). */
export async function renderMarkdown(text) {
  const [{ marked }, { default: DOMPurify }] = await Promise.all([
    import("marked"),
    import("dompurify"),
  ]);
  return DOMPurify.sanitize(marked.parse(text || "", { gfm: true, breaks: true }));
}

export function Markdown({ text }) {
  const { data } = useAsync(() => renderMarkdown(text), [text]);
  return html`<div class="markdown" dangerouslySetInnerHTML=${{ __html: data || "" }}></div>`;
}
