// The application shell: header, theme, and the router that loads one page module per view.
//
// Views (location hash):
//   #/                                   experiments list            pages/experiments.js
//   #/experiments/<id>[,<id>...]?...     runs table                  pages/runs.js
//   #/runs/<run_id>?tab=...              one run                     pages/run.js
//   #/metric?runs=<id>,<id>&key=<key>    metric chart(s)             pages/metric.js
//   #/compare?runs=<id>,<id>,...         compare runs                pages/compare.js
//   #/models?q=...&sort=...              registered models           pages/models.js
//   #/models/<name>                      one registered model        pages/model.js
//   #/models/<name>/versions/<version>   one model version           pages/model-version.js
//   #/webhooks?webhook=<id>              webhooks, one's delivery log pages/webhooks.js
// (model names are URL-encoded path segments)
// A page module's default export is a component receiving {route} (see lib.currentRoute).

import { html, render, useRoute, useState, useEffect, useAsync, Spinner, ErrorBox, href } from "./lib.js";

const PAGES = [
  { match: (s) => s.length === 0, module: "./pages/experiments.js" },
  { match: (s) => s[0] === "experiments" && s.length === 2, module: "./pages/runs.js" },
  { match: (s) => s[0] === "runs" && s.length === 2, module: "./pages/run.js" },
  { match: (s) => s[0] === "metric" && s.length === 1, module: "./pages/metric.js" },
  { match: (s) => s[0] === "compare" && s.length === 1, module: "./pages/compare.js" },
  { match: (s) => s[0] === "models" && s.length === 1, module: "./pages/models.js" },
  { match: (s) => s[0] === "models" && s.length === 2, module: "./pages/model.js" },
  { match: (s) => s[0] === "models" && s.length === 4 && s[2] === "versions", module: "./pages/model-version.js" },
  { match: (s) => s[0] === "webhooks" && s.length === 1, module: "./pages/webhooks.js" },
];

const THEME_KEY = "cairn.theme";

function initialTheme() {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === "light" || saved === "dark") return saved;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function ThemeToggle() {
  const [theme, setTheme] = useState(initialTheme);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    window.dispatchEvent(new CustomEvent("cairn-theme", { detail: theme }));
  }, [theme]);
  const next = theme === "dark" ? "light" : "dark";
  const toggle = () => {
    localStorage.setItem(THEME_KEY, next);
    setTheme(next);
  };
  return html`<button class="icon-button" id="theme-toggle" onClick=${toggle}
    title=${"Switch to " + next + " theme"} aria-label=${"Switch to " + next + " theme"}>
    ${theme === "dark" ? "☀" : "☾"}</button>`;
}

function Page({ route }) {
  const page = PAGES.find((p) => p.match(route.segments));
  const { data: loaded, error } = useAsync(
    () => (page ? import(page.module).then((m) => ({ path: page.module, m })) : Promise.resolve(null)),
    [page && page.module],
  );
  // Until the new page's module is in, show nothing of the old one: it would render with a
  // route it does not understand (and fetch with it).
  const module = loaded && page && loaded.path === page.module ? loaded.m : null;
  if (!page) {
    return html`<div class="page"><h1>Not found</h1>
      <p>Nothing lives at <code>${route.path}</code>. <a href="#/">Back to the experiments</a>.</p></div>`;
  }
  if (error) return html`<div class="page"><${ErrorBox} error=${error} /></div>`;
  if (!module) return html`<div class="page"><${Spinner} /></div>`;
  const Component = module.default;
  return html`<${Component} route=${route} />`;
}

function App() {
  const route = useRoute();
  return html`
    <header class="topbar">
      <a class="brand" href=${href("/")}><img src="static/favicon.svg" alt="" width="20" height="20" />cairn</a>
      <nav><a href=${href("/")} class=${route.segments.length === 0 ? "active" : ""}>Experiments</a>
        <a href=${href("/models")} class=${route.segments[0] === "models" ? "active" : ""} data-testid="nav-models">Models</a>
        <a href=${href("/webhooks")} class=${route.segments[0] === "webhooks" ? "active" : ""} data-testid="nav-webhooks">Webhooks</a></nav>
      <span class="spacer"></span>
      <${ThemeToggle} />
    </header>
    <main id="main"><${Page} route=${route} /></main>`;
}

document.documentElement.dataset.theme = initialTheme();
render(html`<${App} />`, document.getElementById("app"));
