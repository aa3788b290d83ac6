"""Live ``cairn server`` processes for tests that drive the server over real HTTP.

``live_server`` is one server per test module (SQLite by default); parametrize it indirectly
with a backend URI to use another database::

    @pytest.mark.parametrize("live_server", ["sqlite", "postgres"], indirect=True)

``cairn_server`` starts servers with any extra ``cairn server`` flags, stopped after the test;
``cairn_command`` is the command line that runs ``cairn`` (for commands expected to fail).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rest_server import CAIRN_COMMAND, CairnServer

CairnServerProcess = CairnServer


def _cairn_command() -> list[str]:
    return list(CAIRN_COMMAND)


@pytest.fixture
def cairn_command() -> list[str]:
    """``cairn`` of this interpreter as a command line, whether or not it is on PATH."""
    return _cairn_command()


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The base URL of a ``cairn server`` subprocess, killed after the module's tests.

    Parametrized indirectly with ``"postgres"`` it runs on a fresh database of the session's
    PostgreSQL server; with a URI, on that database.
    """
    backend_store_uri = getattr(request, "param", None)
    if backend_store_uri == "postgres":
        name = f"live_{uuid.uuid4().hex[:12]}"
        backend_store_uri = request.getfixturevalue("postgres_server").create_database(name)
    elif backend_store_uri == "sqlite":
        backend_store_uri = None
    server = CairnServerProcess(tmp_path_factory.mktemp("live-server"), backend_store_uri)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def cairn_server(tmp_path: Path) -> Iterator[Callable[..., CairnServerProcess]]:
    """Start ``cairn server`` with extra flags: ``cairn_server("--workers", "2")``."""
    servers: list[CairnServerProcess] = []

    def start(*args: str, backend_store_uri: str | None = None) -> CairnServerProcess:
        root = tmp_path / f"server-{len(servers)}"
        server = CairnServerProcess(root, backend_store_uri, *args)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def mlflow(live_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The mlflow module, tracking to the live server (no retries: failures show at once)."""
    module = pytest.importorskip("mlflow", reason="mlflow is not installed in this venv")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    module.set_tracking_uri(live_server)
    yield module
    while module.active_run() is not None:
        module.end_run()
    module.set_tracking_uri(None)


@pytest.fixture
def client(mlflow: Any) -> Any:
    """An ``MlflowClient`` of the live server."""
    return mlflow.MlflowClient()
