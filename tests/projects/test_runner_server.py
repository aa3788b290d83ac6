"""Project runs against a tracking server: cairn scripts and scripts written for mlflow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import cairn
from cairn.tracking.client import TrackingClient
from rest_server import CairnServer, MlflowServer, mlflow_command


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


def test_mlflow_run_against_a_cairn_server_runs_cairn_and_mlflow_scripts(
    server_url: str, basic_project: Path, tmp_path: Path
) -> None:
    """`mlflow run` (MLflow's own runner) works against a cairn server, and a script written
    with cairn logs into the run it created."""
    import os
    import subprocess
    import sys

    pytest.importorskip("mlflow", reason="mlflow is not installed in this venv")
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": server_url,
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
    }
    env.pop("CAIRN_TRACKING_URI", None)
    for entry_point, parameter in (("mlflow", "value=3.5"), ("main", "alpha=0.2")):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "mlflow",
                "run",
                str(basic_project),
                "-e",
                entry_point,
                "-P",
                parameter,
                "--env-manager",
                "local",
                "--experiment-name",
                "mlflow-run",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    client = TrackingClient(server_url)
    experiment = client.get_experiment_by_name("mlflow-run")
    assert experiment is not None
    runs = {
        r.data.tags["mlflow.project.entryPoint"]: r
        for r in client.search_runs([experiment.experiment_id])
    }
    assert runs["mlflow"].data.metrics["mlflow_metric"] == 3.5
    assert runs["main"].data.metrics["final_alpha"] == 0.2  # the cairn script found the run
    assert {r.info.status for r in runs.values()} == {"FINISHED"}
    assert not (tmp_path / "cairn.db").exists()  # nothing went to an embedded store


@pytest.fixture(scope="module")
def mlflow_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    command = mlflow_command()
    if command is None:
        pytest.skip("mlflow is not installed")
    server = MlflowServer(tmp_path_factory.mktemp("projects-mlflow-server"), command).start(180)
    try:
        yield server.url
    finally:
        server.stop()


def test_cairn_run_against_an_mlflow_server(mlflow_server_url: str, basic_project: Path) -> None:
    """cairn as the client: the run is created on a real MLflow server, and both a cairn
    script and an mlflow script log into it."""
    for entry_point, parameters, metric, value in (
        ("main", {"alpha": 0.6, "epochs": 1}, "final_alpha", 0.6),
        ("mlflow", {"value": 1.5}, "mlflow_metric", 1.5),
    ):
        submitted = cairn.projects.run(
            str(basic_project),
            entry_point,
            parameters=parameters,
            tracking_uri=mlflow_server_url,
            env_manager="local",
            stream_output=False,
        )
        assert submitted.wait(), submitted.run_id
        run = TrackingClient(mlflow_server_url).get_run(submitted.run_id)
        assert run.data.metrics[metric] == value
        assert run.data.tags["mlflow.source.type"] == "PROJECT"
        assert run.data.tags["mlflow.project.entryPoint"] == entry_point
