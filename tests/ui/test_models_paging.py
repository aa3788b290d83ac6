"""Paging of the registry pages in Chromium: the models list, a model's versions and its history
load page by page from the server ("load more"), and an empty registry explains how to register
a model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from browser import set_theme
from rest_server import CairnServer

MODELS = 57  # more than the list's page of 50
VERSIONS = 30  # more than the versions table's page of 25
BIG = "bulk-000"


@pytest.fixture(scope="module")
def bulk(ui_client: Any) -> list[str]:
    names = [f"bulk-{i:03d}" for i in range(MODELS)]
    for name in names:
        ui_client.create_registered_model(
            name, tags={"batch": "odd" if int(name[-3:]) % 2 else "even"}
        )
    exp = ui_client.create_experiment("bulk")
    run = ui_client.create_run(exp).info.run_id
    for _ in range(VERSIONS):
        ui_client.create_model_version(BIG, f"runs:/{run}/model", run_id=run)
    return names


def rows(page: Any, testid: str, attr: str) -> list[str]:
    return page.eval_on_selector_all(
        f'[data-testid="{testid}"]', f"rows => rows.map(r => r.dataset.{attr})"
    )


def wait_count(page: Any, testid: str, n: int) -> None:
    page.wait_for_function(
        '([t, n]) => document.querySelectorAll(`[data-testid="${t}"]`).length === n',
        arg=[testid, n],
    )


def test_the_models_list_loads_more_pages(
    page: Any, ui_server: CairnServer, bulk: list[str]
) -> None:
    page.goto(f"{ui_server.url}/#/models")
    page.wait_for_selector('[data-testid="models-page"][data-ready="true"]')
    assert rows(page, "model-row", "name") == bulk[:50]
    assert "more to load" in page.inner_text('[data-testid="models-count"]')
    page.click('[data-testid="models-load-more"]')
    wait_count(page, "model-row", MODELS)
    assert rows(page, "model-row", "name") == bulk
    page.wait_for_selector('[data-testid="models-load-more"]', state="detached")

    # A filtered search pages too, and starts again from its first page.
    page.fill('[data-testid="models-search"]', "tags.batch = 'even'")
    page.press('[data-testid="models-search"]', "Enter")
    wait_count(page, "model-row", 29)
    assert rows(page, "model-row", "name") == bulk[::2]
    assert page.query_selector('[data-testid="models-load-more"]') is None


def test_versions_and_history_load_more_pages(
    page: Any, ui_server: CairnServer, bulk: list[str]
) -> None:
    page.goto(f"{ui_server.url}/#/models/{quote(BIG)}")
    page.wait_for_selector('[data-testid="model-page"][data-ready="true"]')
    assert rows(page, "version-row", "version") == [str(v) for v in range(VERSIONS, 5, -1)]
    page.click('[data-testid="versions-load-more"]')
    wait_count(page, "version-row", VERSIONS)
    assert rows(page, "version-row", "version") == [str(v) for v in range(VERSIONS, 0, -1)]

    # 31 events (the creation, 30 versions): a page of 25, then the rest.
    page.wait_for_selector('[data-testid="history-body"][data-ready="true"]')
    wait_count(page, "history-event", 25)
    page.click('[data-testid="history-load-more"]')
    wait_count(page, "history-event", VERSIONS + 1)
    events = rows(page, "history-event", "event")
    assert events[-1] == "registered_model.created"
    assert events[:-1] == ["model_version.created"] * VERSIONS


@pytest.fixture
def empty_server(tmp_path: Path) -> Iterator[CairnServer]:
    server = CairnServer(tmp_path / "empty")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_an_empty_registry_explains_how_to_register(
    page: Any, empty_server: CairnServer, screenshot: Callable[[Any, str], Any]
) -> None:
    page.goto(f"{empty_server.url}/#/models")
    empty = page.wait_for_selector('[data-testid="models-empty"]')
    assert "cairn.register_model(" in empty.inner_text()
    assert page.query_selector('[data-testid="models-table"]') is None
    set_theme(page, "light")
    screenshot(page, "models-empty-light")
    set_theme(page, "dark")
    screenshot(page, "models-empty-dark")
