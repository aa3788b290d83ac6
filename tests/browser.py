"""Helpers for the browser tests (tests/ui): things a test does in the page the way a user does.

The UI's Content-Security-Policy forbids eval, so Playwright predicates must be function
expressions (``"() => ..."``, ``"arg => ..."``), never bare expression strings.
"""

from __future__ import annotations

from typing import Any


def set_theme(page: Any, theme: str) -> None:
    """Switch the UI to ``theme`` ("light" or "dark") with the header toggle."""
    if page.evaluate("document.documentElement.dataset.theme") != theme:
        page.click("#theme-toggle")
    page.wait_for_function("t => document.documentElement.dataset.theme === t", arg=theme)
