"""Fixtures of the import tests: MLflow stores written by the real MLflow client, and the
destination's artifact root."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rest_server import LiveServer, free_port, mlflow_command


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated MLflow database: migrating takes MLflow ~10 s, copying it nothing.

    Built in a subprocess whose cwd is a scratch directory, where MLflow puts the default
    experiment's ``mlruns``.
    """
    root = tmp_path_factory.mktemp("mlflow-template")
    code = "from mlflow import MlflowClient; MlflowClient('sqlite:///mlflow.db').search_runs(['0'])"
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, capture_output=True)
    return root / "mlflow.db"


@pytest.fixture
def mlflow_db(tmp_path: Path, mlflow_template: Path) -> str:
    (tmp_path / "mlflow").mkdir()
    shutil.copy(mlflow_template, tmp_path / "mlflow" / "mlflow.db")
    return f"sqlite:///{tmp_path}/mlflow/mlflow.db"


@pytest.fixture
def use_mlflow() -> Iterator[Any]:
    """MLflow's fluent API, pointed at a store by the test and reset afterwards."""
    mlflow = pytest.importorskip("mlflow")
    before = mlflow.get_tracking_uri()
    yield mlflow
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(before)


@pytest.fixture
def artifact_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cairn-artifacts"
    monkeypatch.setenv("CAIRN_ARTIFACT_ROOT", str(root))
    return root


@pytest.fixture
def mlflow_server(tmp_path: Path, mlflow_template: Path) -> Iterator[LiveServer]:
    """A real ``mlflow server`` proxying artifacts (runs get ``mlflow-artifacts:/`` URIs)."""
    command = mlflow_command()
    if command is None:
        pytest.skip("no mlflow to run a server with: pip install mlflow==3.17.2")
    root = tmp_path / "server"
    root.mkdir()
    shutil.copy(mlflow_template, root / "mlflow.db")
    port = free_port()
    server = LiveServer(
        [
            *command,
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root}/mlflow.db",
            "--artifacts-destination",
            str(root / "artifacts"),
        ],
        port,
        root,
    )
    try:
        server.start(180)
    except RuntimeError as exc:
        pytest.skip(f"mlflow server did not start: {exc}")
    yield server
    server.stop()
