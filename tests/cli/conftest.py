"""Fixtures for the CLI tests: a real SQLite store in tmp_path and a CliRunner bound to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.tracking import config
from cairn.tracking.client import TrackingClient
from cli_support import Cli


@pytest.fixture(autouse=True)
def _reset_tracking_uri() -> Iterator[None]:
    """``--tracking-uri`` sets the URI for the whole process; no test may inherit one."""
    config.set_tracking_uri(None)
    yield
    config.set_tracking_uri(None)


@pytest.fixture
def artifact_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "artifacts"
    monkeypatch.setenv("CAIRN_ARTIFACT_ROOT", str(root))
    return root


@pytest.fixture
def client(sqlite_uri: str, artifact_root: Path) -> TrackingClient:
    return TrackingClient(sqlite_uri)


@pytest.fixture
def cli(client: TrackingClient) -> Cli:
    return Cli(client.tracking_uri)
