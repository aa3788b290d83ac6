// The preview pane of the artifacts tab: one viewer per kind of file (text, markdown, JSON, YAML,
// MLmodel, tables, images, HTML, PDF), a download button for every file.
//
// Safety: text is rendered as text; markdown goes through lib.js `Markdown` (sanitized); HTML is
// shown only in an iframe with an empty `sandbox` (no scripts, opaque origin), and the server adds
// `Content-Security-Policy: sandbox` to it as well; SVG only as <img>, where scripts never run.

import { html, useState, useAsync, formatBytes, ErrorBox, Spinner, Markdown } from "../lib.js";
import {
  TEXT_LIMIT,
  artifactKind,
  baseName,
  decodeText,
  looksLikeText,
  mlmodelSummary,
  readPrefix,
} from "./artifact-files.js";

const TABLE_ROWS = 100;
const TEXTUAL = new Set(["text", "markdown", "json", "yaml", "mlmodel", "unknown"]);
const KIND_LABEL = {
  text: "text",
  markdown: "markdown",
  json: "JSON",
  yaml: "YAML",
  mlmodel: "MLmodel",
  table: "table",
  image: "image",
  html: "HTML",
  pdf: "PDF",
  unknown: "file",
};

/**
 * The pane for `path`, a file of `source` (artifact-source.js: a run's or a logged model's);
 * `entry` is its listing ({is_dir, file_size}) if known.
 */
export function ArtifactPreview({ source, path, entry }) {
  if (!path) {
    return html`<section class="artifact-preview empty" data-testid="artifact-preview">
      <p class="muted">Select a file to preview it.</p></section>`;
  }
  if (entry && entry.is_dir) {
    return html`<section class="artifact-preview empty" data-testid="artifact-preview" data-path=${path}>
      <p class="muted">Folder <code>${path}</code>: open it in the tree to see its files.</p></section>`;
  }
  const kind = artifactKind(path);
  return html`<section class="artifact-preview" data-testid="artifact-preview" data-path=${path}
      data-kind=${kind} aria-label=${"Preview of " + path}>
    <header class="artifact-preview-head">
      <div class="artifact-preview-title">
        <strong class="artifact-name" title=${path}>${baseName(path)}</strong>
        <span class="muted artifact-path">${path}</span>
      </div>
      <span class="muted">${KIND_LABEL[kind]}${entry && entry.file_size != null ? " · " + formatBytes(entry.file_size) : ""}</span>
      <a class="button" href=${source.fileUrl(path)} target="_blank" rel="noopener noreferrer"
        data-testid="artifact-open">Open</a>
      <a class="button primary" href=${source.downloadUrl(path)} download=${baseName(path)}
        data-testid="artifact-download">Download</a>
    </header>
    <div class="artifact-preview-body">
      ${TEXTUAL.has(kind)
        ? html`<${TextualPreview} key=${path} source=${source} path=${path} kind=${kind} />`
        : html`<${MediaPreview} key=${path} source=${source} path=${path} kind=${kind} />`}
    </div>
  </section>`;
}

function MediaPreview({ source, path, kind }) {
  const src = source.fileUrl(path);
  if (kind === "table") {
    return source.table
      ? html`<${TableView} source=${source} path=${path} />`
      : html`<${TableFallback} source=${source} path=${path} />`;
  }
  if (kind === "image") {
    return html`<div class="artifact-image" data-ready="true">
      <img src=${src} alt=${baseName(path)} data-testid="artifact-image" /></div>`;
  }
  if (kind === "html") {
    // `sandbox` comes before `src` so the frame never loads without it.
    return html`<iframe class="artifact-frame" sandbox="" src=${src} title=${"HTML artifact " + path}
      referrerpolicy="no-referrer" data-testid="artifact-html" data-ready="true"></iframe>`;
  }
  return html`<iframe class="artifact-frame" src=${src} title=${"PDF artifact " + path}
    data-testid="artifact-pdf" data-ready="true"></iframe>`;
}

function TextualPreview({ source, path, kind }) {
  const { data, error } = useAsync(() => readPrefix(source.fileUrl(path)), [source, path]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Spinner} />`;
  const { bytes, truncated } = data;
  if (kind === "unknown" && !looksLikeText(bytes.subarray(0, 65536))) {
    return html`<p class="muted" data-ready="true">No preview for this type of file: download it instead.</p>`;
  }
  const text = decodeText(bytes, truncated);
  const note = truncated
    ? html`<p class="artifact-truncated" role="note" data-testid="artifact-truncated">
        Truncated: showing the first ${formatBytes(TEXT_LIMIT)}. Download the file for all of it.</p>`
    : null;
  let body;
  if (kind === "markdown") body = html`<${MarkdownView} text=${text} />`;
  else if (kind === "json") body = html`<${JsonView} source=${source} path=${path} text=${text} truncated=${truncated} />`;
  else if (kind === "mlmodel") body = html`<${MlmodelView} text=${text} />`;
  else body = html`<${TextBlock} text=${text} />`;
  return html`${note}${body}`;
}

function TextBlock({ text }) {
  return html`<pre class="artifact-text" tabindex="0" data-testid="artifact-text" data-ready="true">${text}</pre>`;
}

/** Buttons choosing one of several views of the same file. */
function ViewSwitch({ views, value, onChange }) {
  return html`<div class="artifact-views" role="group" aria-label="View">
    ${views.map(
      ([id, label]) => html`<button type="button" key=${id} aria-pressed=${value === id ? "true" : "false"}
        class=${value === id ? "active" : ""} onClick=${() => onChange(id)}>${label}</button>`,
    )}
  </div>`;
}

function MarkdownView({ text }) {
  const [view, setView] = useState("rendered");
  return html`<${ViewSwitch} views=${[["rendered", "Rendered"], ["source", "Source"]]} value=${view} onChange=${setView} />
    ${view === "rendered"
      ? html`<div class="artifact-markdown" data-testid="artifact-markdown" data-ready="true"><${Markdown} text=${text} /></div>`
      : html`<${TextBlock} text=${text} />`}`;
}

/** Records (`[{...}, ...]`) or split (`{columns, data}`) JSON: shown as a table by default. */
function isTabular(value) {
  if (Array.isArray(value)) {
    return value.length > 0 && value.every((r) => r !== null && typeof r === "object" && !Array.isArray(r));
  }
  return value !== null && typeof value === "object" && Array.isArray(value.columns) && Array.isArray(value.data);
}

function JsonView({ source, path, text, truncated }) {
  let parsed;
  let parseError = null;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    parseError = e;
  }
  const tabular = Boolean(source.table) && !truncated && !parseError && isTabular(parsed);
  const [view, setView] = useState(tabular ? "table" : "json");
  if (parseError) {
    return html`<p class="muted">${truncated ? "Partial JSON (truncated)" : "Not valid JSON: " + parseError.message}; shown as text.</p>
      <${TextBlock} text=${text} />`;
  }
  return html`${tabular
      ? html`<${ViewSwitch} views=${[["table", "Table"], ["json", "JSON"]]} value=${view} onChange=${setView} />`
      : null}
    ${view === "table" && tabular
      ? html`<${TableView} source=${source} path=${path} />`
      : html`<pre class="artifact-text artifact-json" tabindex="0" data-testid="artifact-json" data-ready="true">${JSON.stringify(parsed, null, 2)}</pre>`}`;
}

function MlmodelView({ text }) {
  const { flavors, top } = mlmodelSummary(text);
  return html`<div class="mlmodel-summary" data-testid="mlmodel-summary">
      <div class="mlmodel-flavors">
        <span class="muted">Flavors</span>
        ${flavors.length
          ? flavors.map((f) => html`<span class="badge flavor" key=${f.name} data-testid="mlmodel-flavor">${f.name}</span>`)
          : html`<span class="muted">none listed</span>`}
      </div>
      ${flavors.some((f) => f.settings.length)
        ? html`<dl class="mlmodel-settings">
            ${flavors.filter((f) => f.settings.length).map(
              (f) => html`<dt key=${"t" + f.name}>${f.name}</dt>
                <dd key=${"d" + f.name}>${f.settings.map(([k, v]) => html`<span class="kv" key=${k}><span class="muted">${k}</span> ${v}</span>`)}</dd>`,
            )}
          </dl>`
        : null}
      ${top.length
        ? html`<div class="mlmodel-top">${top.map(([k, v]) => html`<span class="kv" key=${k}><span class="muted">${k}</span> ${v}</span>`)}</div>`
        : null}
    </div>
    <${TextBlock} text=${text} />`;
}

function cellText(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v); // exact, as in the file
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^(NaN|-?Infinity)$/;

/** Columns whose every cell is a number (or, from CSV, a number's text): aligned right. */
function numericColumns(columns, rows) {
  return columns.map((_, i) => {
    let seen = false;
    for (const row of rows) {
      const v = row[i];
      if (v === null || v === undefined || v === "") continue;
      if (typeof v !== "number" && !(typeof v === "string" && NUMBER.test(v))) return false;
      seen = true;
    }
    return seen;
  });
}

/**
 * A table file of a source the server's tabular reader cannot read (a logged model's): CSV and
 * TSV as their text, parquet (binary) to download.
 */
function TableFallback({ source, path }) {
  if (/\.(csv|tsv)$/i.test(path)) {
    return html`<p class="muted artifact-table-note">Shown as text: tables are read as tables for run artifacts only.</p>
      <${TextualPreview} source=${source} path=${path} kind="text" />`;
  }
  return html`<p class="muted" data-ready="true" data-testid="artifact-no-preview">
    No preview for this file of a logged model: download it to view it.</p>`;
}

/** CSV, TSV, parquet and tabular JSON through the server's `artifacts/table` reader (runs only). */
function TableView({ source, path }) {
  const { data, error } = useAsync(() => source.table(path, TABLE_ROWS), [source, path]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Spinner} />`;
  const { columns = [], rows = [], total_rows: total, truncated } = data;
  const numeric = numericColumns(columns, rows);
  const shown = rows.length;
  const of = total === null || total === undefined ? (truncated ? "more" : String(shown)) : String(total);
  return html`<p class="muted artifact-table-note">
      ${columns.length} column${columns.length === 1 ? "" : "s"}; ${shown} of ${of} row${of === "1" ? "" : "s"}${truncated ? " (first " + shown + " shown)" : ""}</p>
    <div class="artifact-table-wrap" tabindex="0">
      <table class="grid artifact-table" data-testid="artifact-table" data-ready="true">
        <thead><tr><th class="num rownum">#</th>${columns.map((c, i) => html`<th key=${i} title=${c} class=${numeric[i] ? "num" : ""}>${c}</th>`)}</tr></thead>
        <tbody>
          ${rows.map(
            (row, r) => html`<tr key=${r}><td class="num rownum muted">${r + 1}</td>
              ${row.map((v, i) => html`<td key=${i} class=${numeric[i] ? "num" : ""} title=${cellText(v)}>${cellText(v)}</td>`)}</tr>`,
          )}
        </tbody>
      </table>
    </div>`;
}
