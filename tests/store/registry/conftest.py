"""The SQL registry store over a fresh database (SQLite and PostgreSQL), beside the tracking
store of the same database that makes the runs and logged models versions come from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.entities import Run
from cairn.store.registry.sql import SqlRegistryStore
from cairn.store.tracking.sql import SqlTrackingStore


@pytest.fixture
def tracking(db_uri: str, tmp_path: Path) -> SqlTrackingStore:
    return SqlTrackingStore(db_uri, str(tmp_path / "artifacts"))


@pytest.fixture
def store(db_uri: str, tracking: SqlTrackingStore) -> SqlRegistryStore:
    return SqlRegistryStore(db_uri)


@pytest.fixture
def make_run(tracking: SqlTrackingStore) -> Callable[..., Run]:
    """A new run in the default experiment (tags optional)."""

    def make(**tags: str) -> Run:
        return tracking.create_run("0", tags=dict(tags) or None)

    return make


@pytest.fixture
def run(make_run: Callable[..., Run]) -> Run:
    return make_run()
