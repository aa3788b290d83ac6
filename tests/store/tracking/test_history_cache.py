"""Long histories are served from memory only while their stored chunks are unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from cairn.entities import Metric, MetricHistory
from cairn.store.tracking.columns import MetricColumns
from cairn.store.tracking.history_cache import MIN_POINTS, HistoryCache
from cairn.store.tracking.sql import SqlTrackingStore

N = MIN_POINTS + 10_000


@pytest.fixture
def store(db_uri: str, tmp_path) -> SqlTrackingStore:  # type: ignore[no-untyped-def]
    return SqlTrackingStore(db_uri, str(tmp_path / "artifacts"))


def _columns(start: int, n: int) -> MetricColumns:
    cols = MetricColumns()
    for i in range(start, start + n):
        cols.append(i * 0.5, 1_700_000_000_000 + i, i)
    return cols


def test_a_long_history_is_reused_until_any_write_changes_it(store: SqlTrackingStore) -> None:
    run_id = store.create_run("0", "u", None, {}, None).info.run_id
    store.log_columns(run_id, {"loss": _columns(0, N)})
    first = store.get_metric_history_columns(run_id, "loss")
    assert store.get_metric_history_columns(run_id, "loss") is first  # served from memory
    assert not first.values.flags.writeable  # shared arrays cannot be changed by a reader

    # A point appended as a new chunk, then one that tops up that small chunk: both are seen.
    store.log_metric(run_id, Metric("loss", -1.0, 1_800_000_000_000, N))
    second = store.get_metric_history_columns(run_id, "loss")
    assert len(second) == N + 1 and second.values[-1] == -1.0
    store.log_metric(run_id, Metric("loss", -2.0, 1_800_000_000_001, N + 1))
    third = store.get_metric_history_columns(run_id, "loss")
    assert len(third) == N + 2 and third.values[-1] == -2.0
    assert store.get_metric_history_columns(run_id, "loss") is third


def test_short_histories_are_not_kept(store: SqlTrackingStore) -> None:
    run_id = store.create_run("0", "u", None, {}, None).info.run_id
    store.log_columns(run_id, {"acc": _columns(0, 100)})
    first = store.get_metric_history_columns(run_id, "acc")
    assert store.get_metric_history_columns(run_id, "acc") is not first


def _history(n: int) -> MetricHistory:
    steps = np.arange(n, dtype=np.int64)
    return MetricHistory(key="k", steps=steps, timestamps=steps, values=steps * 1.0)


def test_the_cache_evicts_the_least_recently_used_beyond_its_budget() -> None:
    cache = HistoryCache(min_points=10, max_bytes=24 * 250)
    for name in ("a", "b"):
        cache.put("run", name, (1, 1, 100), _history(100))
    assert cache.get("run", "a", (1, 1, 100)) is not None  # "a" is now the most recent
    cache.put("run", "c", (1, 1, 100), _history(100))  # over budget: "b" goes
    assert cache.holds("run", "a") and cache.holds("run", "c") and not cache.holds("run", "b")
    assert cache.get("run", "a", (2, 5, 101)) is None  # another version: dropped
    assert not cache.holds("run", "a")
    cache.put("run", "huge", (1, 1, 1000), _history(1000))  # bigger than the budget: not kept
    assert not cache.holds("run", "huge")
