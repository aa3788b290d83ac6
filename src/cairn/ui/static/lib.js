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

/** A link to run `runId`'s page (the id is a path segment: encoded, so any id routes). */
export function runHref(runId, query) {
  return href("/runs/" + encodeURIComponent(runId), query);
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
  const renderedHash = useRef(location.hash);
  // A layout effect, and a catch-up: the listener is there in the commit that mounts the
  // caller, and a change of the hash between its first render and then is not lost (with a
  // plain effect, run after paint, a click in that window left the view on the old route).
  useLayoutEffect(() => {
    const onChange = () => setRoute(currentRoute());
    window.addEventListener("hashchange", onChange);
    if (location.hash !== renderedHash.current) onChange();
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
 * Run `load()` (a promise) whenever `deps` change: {data, error, loading, reload, refetch}.
 * Results of superseded calls are dropped. With `intervalMs` (a number, or a function of the
 * current data answering one, 0 for "not now"), reloads periodically while the page is visible
 * (live views of running runs, a delivery log with pending deliveries). `reload` loads again
 * quietly (`loading` stays false); `refetch` says loading until the answer arrives.
 */
export function useAsync(load, deps, { intervalMs = 0 } = {}) {
  const [state, setState] = useState({ data: undefined, error: undefined, loading: true, owner: null });
  const generation = useRef(0);
  // The polling period as of the last render: 0 once polling stopped.
  const polling = useRef(0);
  // One token per value of `deps`: a result belongs to the deps it was loaded for. In the
  // render where deps change, the effect that starts the new load has not run yet; without the
  // token that render would say "loaded" with the old deps' data.
  const token = useMemo(() => ({}), deps); // eslint-disable-line
  const run = useCallback(
    (quiet, polled = false) => {
      const mine = ++generation.current;
      if (!quiet) setState((s) => ({ ...s, loading: true }));
      const apply = (next) => {
        if (mine !== generation.current) return;
        // A poll answering after polling stopped is dropped: what stopped it (a "load more"
        // below the shown page, say) holds a view the poll's answer would replace. Unless it
        // superseded a load still awaited: then it is the answer.
        if (polled && !polling.current) setState((s) => (s.loading ? next(s) : s));
        else setState(next);
      };
      Promise.resolve()
        .then(load)
        .then(
          (data) => apply(() => ({ data, error: undefined, loading: false, owner: token })),
          (error) => apply((s) => ({ ...s, error, loading: false, owner: token })),
        );
    },
    [token],
  );
  useEffect(() => {
    run(false);
  }, [run]);
  // Apart from the load: starting or stopping the polling must not load again by itself.
  const every = typeof intervalMs === "function" ? intervalMs(state.data) : intervalMs;
  polling.current = every;
  useEffect(() => {
    if (!every) return undefined;
    const timer = setInterval(() => document.visibilityState === "visible" && run(true, true), every);
    return () => clearInterval(timer);
  }, [run, every]);
  return {
    data: state.data,
    error: state.error,
    loading: state.loading || state.owner !== token,
    reload: () => run(true),
    refetch: () => run(false),
  };
}

/**
 * A text box's draft of `value` (a URL query parameter, say) that is written back with
 * `setValue` once typing pauses for `delayMs`: [draft, setDraft]. The draft follows `value`
 * when that changes from outside (back button, a link).
 */
export function useDebouncedDraft(value, setValue, delayMs) {
  const [draft, setDraft] = useState(value);
  // In the commit that shows the new value: after paint, a keystroke typed in between would be
  // overwritten by the value it was typed after.
  useLayoutEffect(() => setDraft(value), [value]);
  useEffect(() => {
    if (draft === value) return undefined;
    const t = setTimeout(() => setValue(draft), delayMs);
    return () => clearTimeout(t);
  }, [draft]); // eslint-disable-line
  return [draft, setDraft];
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

/** The time from `startMs` to `endMs` (or to now while it has no end), as `formatSeconds` shows it. */
export function formatDuration(startMs, endMs) {
  if (!startMs) return "";
  const end = endMs ? Number(endMs) : Date.now();
  return formatSeconds(Math.max(0, (end - Number(startMs)) / 1000));
}

/**
 * "12.3 s" below a minute, "4 min 5 s" below an hour, "2 h 7 min" beyond. The value is rounded
 * to the precision of the unit before the unit is chosen, so 59.96 s reads "1 min 0 s" (not
 * "60.0 s") and two durations that read the same are equal at the precision shown (the compare
 * page highlights differences by this text).
 */
export function formatSeconds(seconds) {
  const s = Math.max(0, Number(seconds) || 0);
  const tenths = Math.round(s * 10);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  const minutes = Math.round(s / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
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

/**
 * `prefix.key` (a column id such as "metrics.my key") as an identifier of the search language
 * (filters and `order_by`): a key with characters outside [A-Za-z0-9_.-/:] is backquoted, its
 * backquotes doubled and backslashes escaped: metrics.`my key`.
 */
export function searchIdentifier(col) {
  const dot = col.indexOf(".");
  if (dot < 0) return col;
  const key = col.slice(dot + 1);
  if (/^[\w.\-/:]+$/.test(key)) return col;
  return col.slice(0, dot + 1) + "`" + key.replace(/\\/g, "\\\\").replace(/`/g, "``") + "`";
}

/**
 * `text` as a string literal of the search language: single-quoted, backslashes escaped and
 * quotes doubled, so any name (quotes, backslashes, unicode) compares as itself.
 */
export function searchLiteral(text) {
  return "'" + String(text).replace(/\\/g, "\\\\").replace(/'/g, "''") + "'";
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
