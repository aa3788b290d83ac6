"""Browser tests of the web UI: real headless Chromium (Debian's ``chromium``) driven by
Playwright through ``executable_path`` (Playwright's own browser download is not used).

Fixtures:

* ``ui_server``: a ``cairn server`` subprocess on a fresh SQLite store, one per test module;
  ``ui_client`` a :class:`TrackingClient` talking to it, to seed data.
* ``page``: a fresh 1280x720 browser page. It fails the test if the page logged a JavaScript
  error or an uncaught exception: a UI that "works" while throwing is not working.
  With ``CAIRN_TEST_UI_JITTER_MS=<ms>`` every ``fetch`` of the page is delayed by up to that
  long before it is sent and again before its answer is seen, so parallel requests answer in
  any order: a race between them (a page saying "ready" before all it shows is in, a test
  reading before it waited) shows up in a few runs instead of once a week in CI.
* ``screenshot(page, name)``: saves ``test-artifacts/screenshots/<name>.png`` for a human to
  look at (CI keeps the directory).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser import CHROMIUM_ARGS, chromium_path
from rest_server import CairnServer

SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 720}
# Waits as long as the pages' default (below): `expect(...)` assertions retry until the page
# shows what they ask for, and a loaded CI machine is slow, not wrong.
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)
# A random delay (0..max ms) before each fetch is sent and before its answer is seen.
JITTER_SCRIPT = """(() => {
  const max = %d;
  const send = window.fetch.bind(window);
  const pause = () => new Promise((done) => setTimeout(done, Math.random() * max));
  window.fetch = async (...args) => {
    await pause();
    const response = await send(...args);
    await pause();
    return response;
  };
})();"""


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have Chromium: .ci/run installs Debian's `chromium` package")
        pytest.skip(
            "no Chromium: install Debian's `chromium` package (`.ci/run` does it in CI) "
            "or point CAIRN_TEST_CHROMIUM at a Chromium binary"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CairnServer]:
    server = CairnServer(tmp_path_factory.mktemp("ui-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ui_client(ui_server: CairnServer) -> Any:
    from cairn.tracking.client import TrackingClient

    return TrackingClient(ui_server.url)


class PageErrors:
    """JavaScript errors and uncaught exceptions a page reported."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def on_console(self, message: Any) -> None:
        if message.type == "error":
            self.messages.append(f"console.error: {message.text}")

    def on_page_error(self, error: Any) -> None:
        self.messages.append(f"uncaught: {error}")


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def page(browser: Any, page_errors: PageErrors, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    jitter_ms = int(os.environ.get("CAIRN_TEST_UI_JITTER_MS") or 0)
    if jitter_ms > 0:
        context.add_init_script(script=JITTER_SCRIPT % jitter_ms)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", page_errors.on_console)
    page.on("pageerror", page_errors.on_page_error)
    yield page
    context.close()
    allowed = getattr(request.node, "allowed_console_errors", ())
    unexpected = [m for m in page_errors.messages if not any(a in m for a in allowed)]
    assert not unexpected, "the page reported errors:\n" + "\n".join(unexpected)


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    def take(page: Any, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return take


@pytest.fixture(scope="module")
def registry_store(ui_server: CairnServer) -> Any:
    """The SQL registry store of ``ui_server``'s database: what the UI's changes must reach
    (read directly, not through the server the UI talks to)."""
    from cairn.store.registry import get_registry_store

    return get_registry_store(ui_server.backend_store_uri)
