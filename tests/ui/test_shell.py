"""The UI shell: served with a strict CSP, loads its libraries, routes, switches themes."""

from __future__ import annotations

from typing import Any

import httpx

from browser import set_theme
from rest_server import CairnServer


def test_index_is_served_with_a_csp_allowing_only_its_own_scripts(ui_server: CairnServer) -> None:
    response = httpx.get(ui_server.url + "/")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_static_files_are_confined_to_the_ui_directory(ui_server: CairnServer) -> None:
    assert httpx.get(ui_server.url + "/static/app.js").status_code == 200
    for path in ("/static/../__init__.py", "/static/%2e%2e/__init__.py", "/static/nope.js"):
        assert httpx.get(ui_server.url + path).status_code == 404, path


def test_unknown_view_says_not_found_and_theme_toggles(page: Any, ui_server: CairnServer) -> None:
    page.goto(ui_server.url + "/#/no/such/view")
    page.wait_for_selector("text=Not found")
    assert "/no/such/view" in page.inner_text("main")
    set_theme(page, "dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    set_theme(page, "light")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != background
    # The choice survives a reload.
    set_theme(page, "dark")
    page.reload()
    page.wait_for_selector("text=Not found")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
