"""Live ``cairn server`` processes for tests that drive the server over real HTTP.

``live_server`` is one server per test module (SQLite by default); parametrize it indirectly
with a backend URI to use another database::

    @pytest.mark.parametrize("live_server", ["sqlite:///..."], indirect=True)

``cairn_server`` starts servers with any extra ``cairn server`` flags, stopped after the test;
``cairn_command`` is the command line that runs ``cairn`` (for commands expected to fail).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rest_server import LiveServer, free_port


class CairnServerProcess(LiveServer):
    """``cairn server`` as a user starts it, on a free loopback port."""

    def __init__(self, root: Path, backend_store_uri: str | None = None, *args: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.backend_store_uri = backend_store_uri or f"sqlite:///{root}/cairn.db"
        self.artifacts_destination = str(root / "artifacts")
        port = free_port()
        command = [
            *_cairn_command(),
            "server",
            "--port",
            str(port),
            "--backend-store-uri",
            self.backend_store_uri,
            "--artifacts-destination",
            self.artifacts_destination,
            *args,
        ]
        super().__init__(command, port, root)


def _cairn_command() -> list[str]:
    return [sys.executable, "-c", "from cairn.cli import main; main()"]


@pytest.fixture
def cairn_command() -> list[str]:
    """``cairn`` of this interpreter as a command line, whether or not it is on PATH."""
    return _cairn_command()


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The base URL of a ``cairn server`` subprocess, killed after the module's tests."""
    backend_store_uri = getattr(request, "param", None)
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
