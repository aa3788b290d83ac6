"""Concurrent writers of one registered model, on SQLite and PostgreSQL: version numbers are
handed out once each, and one of many racing creates of a model wins."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

from cairn.entities import Run
from cairn.errors import RESOURCE_ALREADY_EXISTS, CairnError
from cairn.store.registry.sql import SqlRegistryStore

THREADS = 4
EACH = 10


def _race(work: Callable[[int], Any], threads: int = THREADS) -> list[Any]:
    """Run ``work(i)`` on ``threads`` threads released together; their results or errors."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def target(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # collected and checked by the caller
            results[i] = exc

    pool = [threading.Thread(target=target, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


def test_concurrent_versions_get_distinct_numbers(
    store: SqlRegistryStore, db_uri: str, run: Run
) -> None:
    store.create_registered_model("m")
    source = f"runs:/{run.info.run_id}/model"

    def create_versions(_: int) -> list[int]:
        own = SqlRegistryStore(db_uri)  # a store per thread, as separate clients would have
        return [own.create_model_version("m", source).version for _ in range(EACH)]

    results = _race(create_versions)
    assert not [r for r in results if isinstance(r, Exception)], results
    numbers = [n for r in results for n in r]
    assert sorted(numbers) == list(range(1, THREADS * EACH + 1))
    for r in results:  # each thread saw its own numbers grow
        assert r == sorted(r)
    created = [e for e in store.get_registry_history("m", max_results=1000)]
    assert sum(e.event == "model_version.created" for e in created) == THREADS * EACH


def test_racing_creates_of_one_model_have_one_winner(store: SqlRegistryStore) -> None:
    results = _race(lambda i: store.create_registered_model("m", tags={"by": str(i)}))
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(
        isinstance(e, CairnError) and e.error_code == RESOURCE_ALREADY_EXISTS for e in losers
    )
    assert store.get_registered_model("m").tags == winners[0].tags
    assert len(store.get_registry_history("m")) == 1


def test_concurrent_alias_moves_leave_one_alias(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    for _ in range(THREADS):
        store.create_model_version("m", f"runs:/{run.info.run_id}/model")
    results = _race(lambda i: store.set_registered_model_alias("m", "champion", i + 1))
    assert results == [None] * THREADS
    aliases = store.get_registered_model("m").aliases
    assert list(aliases) == ["champion"]
    moves = [
        e
        for e in store.get_registry_history("m", max_results=100)
        if e.event == "model_version_alias.created"
    ]
    # The history is a chain: each move's "before" is the previous move's "after".
    chain = list(reversed(moves))
    assert chain[0].before is None
    for previous, move in itertools.pairwise(chain):
        assert move.before == previous.after
    assert chain[-1].after == {"alias": "champion", "version": aliases["champion"]}
