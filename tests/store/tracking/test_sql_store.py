"""The tracking store suite (tests/store_suite.py) on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import pytest

from cairn.store.tracking.sql import SqlTrackingStore
from store_suite import *  # noqa: F403  (the suite's tests and fixtures run here)


@pytest.fixture
def artifact_root(tmp_path) -> str:
    return str(tmp_path / "artifacts")


@pytest.fixture
def store(db_uri: str, artifact_root: str) -> SqlTrackingStore:
    return SqlTrackingStore(db_uri, artifact_root)


@pytest.fixture
def sql_only() -> None:
    """Every test of the suite applies to the SQL store."""
