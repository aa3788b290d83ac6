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


def test_experiment_keys_of_many_runs_walk_the_key_index(
    store: SqlTrackingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan for experiments with many runs gives the same answers as the run-by-run one."""
    import store_suite
    from cairn.store.tracking import sql

    monkeypatch.setattr(sql, "KEYS_RUN_BY_RUN_MAX_RUNS", 0)
    store_suite.test_experiment_keys_are_the_distinct_sorted_keys_of_active_runs(store)
