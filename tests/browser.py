"""Helpers for the browser tests (tests/ui): things a test does in the page the way a user does.

The UI's Content-Security-Policy forbids eval, so Playwright predicates must be function
expressions (``"() => ..."``, ``"arg => ..."``), never bare expression strings.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

# As this machine's probe runs Chromium: no sandbox as root, no background networking (the
# closed network refuses those connections). benchmarks/bench_ui.py launches it the same way.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's Chromium (or ``$CAIRN_TEST_CHROMIUM``), if there is one."""
    configured = os.environ.get("CAIRN_TEST_CHROMIUM")
    if configured:
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


def set_theme(page: Any, theme: str) -> None:
    """Switch the UI to ``theme`` ("light" or "dark") with the header toggle."""
    if page.evaluate("document.documentElement.dataset.theme") != theme:
        page.click("#theme-toggle")
    page.wait_for_function("t => document.documentElement.dataset.theme === t", arg=theme)
