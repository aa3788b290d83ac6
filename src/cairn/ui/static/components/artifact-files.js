// What kind of preview an artifact gets, and reading its bytes for one: pure helpers shared by
// the artifact tree and the preview pane (no components here).

import { ApiError } from "../api.js";

/** Text previews stop after this many bytes: a 2 GB log must not freeze the tab. */
export const TEXT_LIMIT = 1024 * 1024;

// Extension -> preview kind. Anything not listed is sniffed (text if it decodes cleanly).
// prettier-ignore
const KINDS = {
  text: ["txt", "log", "err", "out", "py", "r", "sh", "bash", "cfg", "conf", "ini", "toml", "rst",
    "js", "ts", "sql", "java", "scala", "c", "h", "cpp", "go", "rs", "xml", "env", "gitignore",
    "properties", "lock", "pyi", "ipynb", "jsonl", "ndjson"],
  markdown: ["md", "markdown"],
  json: ["json"],
  yaml: ["yaml", "yml"],
  table: ["csv", "tsv", "parquet"],
  image: ["png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico"],
  html: ["html", "htm"],
  pdf: ["pdf"],
};
const BY_EXTENSION = Object.fromEntries(
  Object.entries(KINDS).flatMap(([kind, exts]) => exts.map((ext) => [ext, kind])),
);
// Well-known files without a telling extension.
const BY_NAME = {
  MLmodel: "mlmodel",
  MLproject: "yaml",
  Dockerfile: "text",
  LICENSE: "text",
  Makefile: "text",
};

export function baseName(path) {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function parentPath(path) {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/** "a/b/c.txt" -> ["a", "a/b"]: the directories to open to show `path`. */
export function ancestors(path) {
  const parts = (path || "").split("/").filter(Boolean);
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
}

/** The preview kind of `path`: text, markdown, json, yaml, mlmodel, table, image, html, pdf or unknown. */
export function artifactKind(path) {
  const name = baseName(path);
  if (BY_NAME[name]) return BY_NAME[name];
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  return BY_EXTENSION[ext] || "unknown";
}

async function errorOf(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: the status says enough
  }
  return new ApiError(response.status, body.error_code || "", body.message || response.statusText);
}

/**
 * The first `limit` bytes of the file at `url` (a source's `fileUrl`): {bytes, truncated}. Reads
 * the stream and cancels it once it has enough, so it works whether or not the server honours
 * Range requests.
 */
export async function readPrefix(url, limit = TEXT_LIMIT) {
  const response = await fetch(url);
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > limit) {
      truncated = true;
      reader.cancel().catch(() => {});
      break;
    }
  }
  const bytes = new Uint8Array(Math.min(size, limit));
  let offset = 0;
  for (const chunk of chunks) {
    const take = Math.min(chunk.length, bytes.length - offset);
    bytes.set(chunk.subarray(0, take), offset);
    offset += take;
    if (offset >= bytes.length) break;
  }
  return { bytes, truncated };
}

/** Bytes as UTF-8 text; a multi-byte character cut by truncation is dropped, not garbled. */
export function decodeText(bytes, truncated) {
  const text = new TextDecoder("utf-8").decode(bytes);
  return truncated ? text.replace(/\uFFFD+$/, "") : text;
}

/** Whether bytes look like text: no NUL and valid UTF-8 (allowing a cut last character). */
export function looksLikeText(bytes) {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, Math.max(0, bytes.length - 4)));
    return true;
  } catch {
    return false;
  }
}

/**
 * MLmodel's flavors, read from its YAML without a YAML library: the keys under the top-level
 * `flavors:` block and each flavor's scalar settings ({name, settings: [[key, value]]}), plus
 * the top-level scalars (run_id, model_uuid, utc_time_created, ...).
 */
export function mlmodelSummary(text) {
  const top = [];
  const flavors = [];
  let inFlavors = false;
  let flavorIndent = -1;
  let current = null;
  for (const raw of text.split(/\r?\n/)) {
    if (!raw.trim() || raw.trim().startsWith("#")) continue;
    const indent = raw.length - raw.trimStart().length;
    const m = raw.trim().match(/^([^:\s][^:]*):\s*(.*)$/);
    if (indent === 0) {
      inFlavors = m !== null && m[1] === "flavors";
      flavorIndent = -1;
      current = null;
      if (m && !inFlavors && m[2] && !m[2].startsWith("|") && !m[2].startsWith(">")) {
        top.push([m[1], unquote(m[2])]);
      }
      continue;
    }
    if (!inFlavors || !m) continue;
    if (flavorIndent < 0) flavorIndent = indent;
    if (indent === flavorIndent) {
      current = { name: m[1], settings: [] };
      flavors.push(current);
    } else if (current && m[2] && indent <= flavorIndent + 4 && current.settings.length < 6) {
      const value = unquote(m[2]);
      if (!value.startsWith("{") && !value.startsWith("[")) current.settings.push([m[1], value]);
    }
  }
  return { flavors, top };
}

function unquote(value) {
  const v = value.trim();
  if (v.length >= 2 && (v[0] === "'" || v[0] === '"') && v[v.length - 1] === v[0]) {
    return v.slice(1, -1);
  }
  return v;
}
