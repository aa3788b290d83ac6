"""How the shell loads: the modules every page needs are preloaded from index.html, so the
browser fetches them alongside app.js instead of discovering them one import at a time."""

from __future__ import annotations

import re
from typing import Any

import httpx

from rest_server import CairnServer

PRELOADED = (
    "static/lib.js",
    "static/api.js",
    "static/vendor/preact.module.js",
    "static/vendor/preact-hooks.module.js",
    "static/vendor/htm.module.js",
)


def test_index_preloads_the_shared_modules_after_the_import_map(ui_server: CairnServer) -> None:
    body = httpx.get(ui_server.url + "/").text
    links = re.findall(r'<link rel="modulepreload" href="([^"]+)">', body)
    assert links == list(PRELOADED)
    # An import map must be known before any module is fetched: it comes first.
    assert body.index('<script type="importmap">') < body.index('rel="modulepreload"')
    assert body.index('rel="modulepreload"') < body.index('src="static/app.js"')
    for href in links:
        assert httpx.get(f"{ui_server.url}/{href}").status_code == 200, href


def test_shared_modules_are_fetched_by_the_preload_not_the_import_chain(
    page: Any, ui_server: CairnServer
) -> None:
    page.goto(ui_server.url + "/#/")
    page.wait_for_selector('[data-testid="create-experiment"]')  # the experiments page is up
    entries = page.evaluate(
        """() => performance.getEntriesByType("resource").map((e) => ({
          path: new URL(e.name).pathname, initiator: e.initiatorType,
          start: e.startTime, end: e.responseEnd }))"""
    )
    by_path = {e["path"]: e for e in entries}
    app = by_path["/static/app.js"]
    for href in PRELOADED:
        entry = by_path["/" + href]
        # Not discovered by an import ("script"; Chromium reports a modulepreload as "other"),
        # and requested before app.js had even arrived: in parallel with it.
        assert entry["initiator"] != "script", entry
        assert entry["start"] <= app["end"], (entry, app)
    # Each is fetched once: the imports reuse the preloaded modules.
    paths = [e["path"] for e in entries]
    assert all(paths.count("/" + href) == 1 for href in PRELOADED)
    # The page works with them (no console errors is checked by the `page` fixture).
    assert page.evaluate("() => document.documentElement.dataset.theme") in ("light", "dark")
