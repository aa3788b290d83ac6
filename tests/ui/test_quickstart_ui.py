"""A new user's first minutes: the README's first command, end to end.

``python examples/quickstart.py`` logs a real experiment into the embedded store of the working
directory and registers the best run's model as "iris-classifier" (alias "champion"); ``cairn
ui`` serves it; the browser lands on the experiment, its runs, a chart and the artifacts, then
the registered model, its champion version and that version's lineage back to the run.
Screenshots of each step go to test-artifacts/screenshots/quickstart-*.png.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rest_server import CAIRN_COMMAND, LiveServer, free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quickstart_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("quickstart")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "cairn ui" in done.stdout  # the quickstart tells the user what to run next
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        for name in [k for k in os.environ if k.startswith("CAIRN_")]:
            patch.delenv(name)
        server = LiveServer([*CAIRN_COMMAND, "ui", "--port", str(port)], port, workdir).start()
    try:
        yield server
    finally:
        server.stop()


def test_the_quickstart_lands_on_its_experiment_runs_charts_and_artifacts(
    page: Any, quickstart_ui: LiveServer, screenshot: Callable[[Any, str], Path]
) -> None:
    page.goto(quickstart_ui.url + "/")
    row = page.locator('[data-testid="experiment-row"]', has_text="quickstart")
    row.wait_for()
    screenshot(page, "quickstart-1-experiments")
    row.get_by_role("link", name="quickstart").click()

    table = page.locator('[data-testid="runs-table"][data-ready="true"]')
    table.wait_for()
    assert int(table.get_attribute("data-total")) == 7  # the sweep and its six children
    sweep = page.locator('[data-testid="run-row"]', has_text="sgd-sweep")
    sweep.wait_for()
    sweep.locator("button.row-toggle").click()  # nested runs open under their parent
    child = page.locator('[data-testid="run-row"]', has_text="log_loss-alpha0.001")
    child.wait_for()
    screenshot(page, "quickstart-2-runs")

    child.get_by_role("link", name="log_loss-alpha0.001").click()
    page.locator('[data-testid="run-page"]').wait_for()
    page.locator('[data-testid="metric-row"][data-key="val_accuracy"]').wait_for()
    screenshot(page, "quickstart-3-run")

    page.click('[data-testid="tab-artifacts"]')
    page.click('[data-testid="artifact-entry"][data-path="confusion_matrix.json"]')
    preview = page.locator('[data-testid="artifact-preview"]')
    preview.get_by_text("confusion_matrix").first.wait_for()
    screenshot(page, "quickstart-4-artifacts")

    page.click('[data-testid="tab-overview"]')
    page.locator('[data-testid="metric-row"][data-key="val_accuracy"]').get_by_role("link").click()
    chart = page.locator('[data-testid="metric-chart"][data-ready="true"]')
    chart.wait_for()
    assert chart.get_attribute("data-metric-key") == "val_accuracy"
    assert int(chart.get_attribute("data-points")) == 30  # one point per epoch
    screenshot(page, "quickstart-5-chart")

    # The registry: the best run's model, registered with the alias "champion".
    page.click('[data-testid="nav-models"]')
    page.locator('[data-testid="models-page"][data-ready="true"]').wait_for()
    model = page.locator('[data-testid="model-row"][data-name="iris-classifier"]')
    chip = model.locator('[data-testid="alias-chip"][data-alias="champion"]')
    chip.wait_for()
    version = chip.get_attribute("data-version")
    assert model.locator('[data-testid="model-latest"]').inner_text() == f"v{version}"
    screenshot(page, "quickstart-6-models")

    model.locator('[data-testid="model-link"]').click()
    page.locator(
        '[data-testid="model-page"][data-name="iris-classifier"][data-ready="true"]'
    ).wait_for()
    champion = page.locator(f'[data-testid="version-row"][data-version="{version}"]')
    assert "@champion" in champion.inner_text()
    champion.locator('[data-testid="version-link"]').click()
    page.locator(
        f'[data-testid="version-page"][data-version="{version}"][data-ready="true"]'
    ).wait_for()
    screenshot(page, "quickstart-7-version")

    # Its lineage: the run node names one of the sweep's runs and links to it.
    run_node = page.locator('[data-testid="lineage-node"][data-kind="run"]')
    run_node.wait_for()
    assert run_node.get_attribute("data-state") == "present"
    run_id = run_node.get_attribute("data-ref")
    assert run_node.get_attribute("href") == f"#/runs/{run_id}"
    assert re.search(r"(log_loss|modified_huber)-alpha", run_node.text_content())
    run_node.click()
    page.locator(f'[data-testid="run-page"][data-run-id="{run_id}"][data-ready="true"]').wait_for()
    # The run's experiment is named once its message is in: it is the quickstart's.
    page.locator('[data-testid="run-experiment-link"]', has_text="quickstart").wait_for()
    page.locator('[data-testid="metric-row"][data-key="val_accuracy"]').wait_for()
