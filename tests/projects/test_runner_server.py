"""Project runs against a tracking server: cairn scripts and scripts written for mlflow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import cairn
from cairn.tracking.client import TrackingClient
from rest_server import CairnServer


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = CairnServer(tmp_path_factory.mktemp("projects-server")).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_a_cairn_script_logs_through_the_server(
    server_url: str, basic_project: Path, tmp_path: Path
) -> None:
    submitted = cairn.projects.run(
        str(basic_project),
        parameters={"alpha": 0.3, "epochs": 2},
        tracking_uri=server_url,
        env_manager="local",
        experiment_name="over-http",
    )
    assert submitted.wait()
    client = TrackingClient(server_url)
    run = client.get_run(submitted.run_id)
    assert run.data.metrics["final_alpha"] == 0.3
    log = client.download_artifacts(submitted.run_id, "project.log", str(tmp_path))
    assert "trained run=" in Path(log).read_text()


def test_an_mlflow_script_logs_into_the_project_run(server_url: str, basic_project: Path) -> None:
    pytest.importorskip("mlflow", reason="mlflow is not installed in this venv")
    submitted = cairn.projects.run(
        str(basic_project),
        "mlflow",
        parameters={"value": 4.5},
        tracking_uri=server_url,
        env_manager="local",
    )
    assert submitted.wait()
    run = TrackingClient(server_url).get_run(submitted.run_id)
    assert run.data.metrics["mlflow_metric"] == 4.5  # mlflow resumed cairn's run (MLFLOW_RUN_ID)
    assert run.data.tags["written_with"] == "mlflow"
    assert run.data.tags["mlflow.source.type"] == "PROJECT"
    assert run.info.status == "FINISHED"
