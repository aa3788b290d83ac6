"""Project runs on the run page: how the run was made, the command that reproduces it, the
run it reproduces, and a sweep's best trial; all from real `cairn run`/`cairn sweep` runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

import cairn
from cairn.projects.reproduction import reproduce
from cairn.projects.sweeps import sweep
from rest_server import CairnServer

FIXTURES = Path(__file__).parents[1] / "projects" / "fixtures"


def open_run(page: Any, server: CairnServer, run_id: str) -> None:
    page.goto(f"{server.url}/#/runs/{run_id}")
    page.wait_for_selector(f'[data-testid="run-page"][data-run-id="{run_id}"][data-ready="true"]')


def test_a_project_run_shows_its_entry_point_and_how_to_reproduce_it(
    page: Any, ui_server: CairnServer
) -> None:
    submitted = cairn.projects.run(
        str(FIXTURES / "basic_project"),
        "main",
        parameters={"alpha": 0.4, "epochs": 2},
        env_manager="local",
        tracking_uri=ui_server.url,
        stream_output=False,
    )
    assert submitted.wait()
    open_run(page, ui_server, submitted.run_id)
    expect(page.locator('[data-testid="run-project-entry-point"]')).to_have_text("main")
    expect(page.locator('[data-testid="run-project-env"]')).to_have_text("local")
    expect(page.locator('[data-testid="run-project-reproduce"]')).to_have_text(
        f"cairn runs reproduce {submitted.run_id}"
    )
    again = reproduce(submitted.run_id, tracking_uri=ui_server.url, stream_output=False)
    assert again.submitted.wait()
    open_run(page, ui_server, again.submitted.run_id)
    link = page.locator(f'[data-testid="run-reproduces"] a[data-run-id="{submitted.run_id}"]')
    expect(link).to_be_visible()


def test_a_sweep_links_its_best_trial(page: Any, ui_server: CairnServer) -> None:
    result = sweep(
        str(FIXTURES / "sweep_project"),
        "train",
        space=["alpha=0.1,1", "depth=4"],
        env_manager="local",
        tracking_uri=ui_server.url,
    )
    assert result.best_run_id is not None
    open_run(page, ui_server, result.parent_run_id)
    best = page.locator(
        f'[data-testid="run-sweep-best-link"] a[data-run-id="{result.best_run_id}"]'
    )
    expect(best).to_be_visible()
    expect(page.locator('[data-testid="run-sweep-best-value"]')).to_have_text("loss = 0")
    children = page.locator('[data-testid="run-children"] a')
    expect(children).to_have_count(2)
    expect(page.locator('[data-testid="run-project-entry-point"]')).to_have_text("train")
    expect(page.locator('[data-testid="run-project-reproduce"]')).to_have_count(0)  # a sweep
    # Plain runs show none of it.
    plain = cairn.TrackingClient(ui_server.url).create_run("0").info.run_id
    open_run(page, ui_server, plain)
    expect(page.locator('[data-testid="run-project"]')).to_have_count(0)
    expect(page.locator('[data-testid="run-sweep-best"]')).to_have_count(0)
