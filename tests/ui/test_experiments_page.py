"""The experiments list (``#/``): run counts, search by name, create / rename / delete /
restore, and several experiments opened in one runs table. Real Chromium, real server."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from browser import set_theme
from rest_server import CairnServer

XSS_NAME = "<img src=x onerror=alert(1)> <script>alert(2)</script>"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def row(page: Any, experiment_id: str) -> Any:
    return page.locator(f'[data-testid="experiment-row"][data-experiment-id="{experiment_id}"]')


def open_list(page: Any, server: CairnServer, query: str = "") -> None:
    page.goto(f"{server.url}/#/{query}")
    page.wait_for_selector('[data-testid="experiments-page"][data-ready="true"]')


def seed(client: Any, name: str, n_runs: int) -> str:
    experiment_id = client.create_experiment(name)
    for i in range(n_runs):
        run = client.create_run(experiment_id, run_name=f"run-{i}")
        client.set_terminated(run.info.run_id)
    return experiment_id


def test_list_shows_experiments_with_run_counts_and_links(
    page: Any, ui_server: CairnServer, ui_client: Any
) -> None:
    busy = seed(ui_client, unique("busy"), 3)
    empty = seed(ui_client, unique("empty"), 0)
    deleted_run = ui_client.create_run(busy, run_name="gone")
    ui_client.delete_run(deleted_run.info.run_id)  # deleted runs are not counted

    open_list(page, ui_server)
    assert row(page, busy).locator('[data-testid="run-count"]').inner_text() == "3"
    assert row(page, empty).locator('[data-testid="run-count"]').inner_text() == "0"
    # Last activity: the runs just made are seconds old.
    assert "ago" in row(page, busy).inner_text()
    row(page, busy).get_by_role("link").click()
    page.wait_for_selector('[data-testid="runs-table"][data-ready="true"]')
    assert page.evaluate("() => location.hash") == f"#/experiments/{busy}"


def test_search_box_filters_by_name(page: Any, ui_server: CairnServer, ui_client: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    cats = seed(ui_client, f"cats-{tag}", 0)
    dogs = seed(ui_client, f"dogs-{tag}", 0)
    quoted = seed(ui_client, f"it's-{tag}", 0)

    open_list(page, ui_server)
    page.fill('[data-testid="experiment-search"]', f"CATS-{tag}")  # case-insensitive
    page.wait_for_function(
        "() => location.hash.includes('q=')"
        " && document.querySelectorAll('[data-testid=experiment-row]').length === 1"
    )
    assert row(page, cats).count() == 1
    assert row(page, dogs).count() == 0
    # A quote in the search text is part of the name, not the filter's syntax.
    page.fill('[data-testid="experiment-search"]', f"it's-{tag}")
    page.wait_for_function(
        "id => document.querySelectorAll('[data-testid=experiment-row]').length === 1"
        ' && document.querySelector(`[data-experiment-id="${id}"]`)',
        arg=quoted,
    )
    # The search is in the URL: a reload keeps it.
    page.reload()
    page.wait_for_selector('[data-testid="experiments-page"][data-ready="true"]')
    assert page.input_value('[data-testid="experiment-search"]') == f"it's-{tag}"
    assert page.locator('[data-testid="experiment-row"]').count() == 1


def test_create_rename_delete_and_restore_through_the_ui(
    page: Any, ui_server: CairnServer, ui_client: Any, request: pytest.FixtureRequest
) -> None:
    # Chromium logs the refused duplicate (a 400) on the console: expected here.
    request.node.allowed_console_errors = ("status of 400",)
    name = unique("made-in-ui")
    open_list(page, ui_server)
    page.click('[data-testid="create-experiment"]')
    page.fill('[data-testid="new-experiment-name"]', name)
    page.click('[data-testid="create-experiment-submit"]')
    page.wait_for_selector(f'[data-testid="experiment-row"] >> text="{name}"')
    created = ui_client.get_experiment_by_name(name)
    assert created is not None and created.lifecycle_stage == "active"
    experiment_id = created.experiment_id

    # A duplicate name is refused with the server's message, not a broken page.
    page.click('[data-testid="create-experiment"]')
    page.fill('[data-testid="new-experiment-name"]', name)
    page.click('[data-testid="create-experiment-submit"]')
    assert "already exists" in page.locator(".create-form .error-box").inner_text()
    page.keyboard.press("Escape")

    renamed = name + "-renamed"
    row(page, experiment_id).locator('[data-testid="rename-experiment"]').click()
    page.fill('[data-testid="rename-input"]', renamed)
    page.keyboard.press("Enter")
    page.wait_for_selector(f'[data-testid="experiment-row"] >> text="{renamed}"')
    assert ui_client.get_experiment(experiment_id).name == renamed

    # Delete asks first; cancelling keeps the experiment.
    row(page, experiment_id).locator('[data-testid="delete-experiment"]').click()
    row(page, experiment_id).get_by_role("button", name="Cancel").click()
    assert ui_client.get_experiment(experiment_id).lifecycle_stage == "active"
    row(page, experiment_id).locator('[data-testid="delete-experiment"]').click()
    row(page, experiment_id).locator('[data-testid="confirm-delete"]').click()
    row(page, experiment_id).wait_for(state="detached")
    assert ui_client.get_experiment(experiment_id).lifecycle_stage == "deleted"

    page.check('[data-testid="show-deleted"]')
    row(page, experiment_id).locator('[data-testid="restore-experiment"]').click()
    row(page, experiment_id).locator('[data-testid="delete-experiment"]').wait_for()
    assert ui_client.get_experiment(experiment_id).lifecycle_stage == "active"


def test_several_experiments_open_one_runs_table(
    page: Any, ui_server: CairnServer, ui_client: Any
) -> None:
    first = seed(ui_client, unique("first"), 2)
    second = seed(ui_client, unique("second"), 3)
    open_list(page, ui_server)
    row(page, first).locator('[data-testid="experiment-select"]').check()
    row(page, second).locator('[data-testid="experiment-select"]').check()
    page.click('[data-testid="open-selected"]')
    page.wait_for_selector('[data-testid="runs-table"][data-ready="true"]')
    hash_ids = page.evaluate("() => location.hash").removeprefix("#/experiments/").split(",")
    assert sorted(hash_ids) == sorted([first, second])
    assert page.get_attribute('[data-testid="runs-table"]', "data-total") == "5"
    # Runs of both, with an experiment column naming where each comes from.
    assert page.locator('[data-testid="col-header"][data-col="attributes.experiment_id"]').count()


def test_names_render_as_text(page: Any, ui_server: CairnServer, ui_client: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    experiment_id = seed(ui_client, XSS_NAME + unique(""), 1)
    open_list(page, ui_server)
    name = row(page, experiment_id).locator(".exp-name")
    assert name.inner_text().startswith(XSS_NAME)
    assert row(page, experiment_id).locator("img, script").count() == 0
    assert dialogs == []


def test_screenshots(
    page: Any,
    ui_server: CairnServer,
    ui_client: Any,
    screenshot: Callable[[Any, str], Path],
) -> None:
    seed(ui_client, unique("screenshot"), 4)
    open_list(page, ui_server)
    set_theme(page, "light")
    screenshot(page, "experiments-light")
    set_theme(page, "dark")
    screenshot(page, "experiments-dark")
    page.set_viewport_size({"width": 3840, "height": 2160})
    screenshot(page, "experiments-dark-4k")
