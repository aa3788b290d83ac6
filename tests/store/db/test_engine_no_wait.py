"""``writes_without_waiting``: a SQLite write either gets the lock at once or refuses untouched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from cairn.store.db.engine import (
    SQLITE_BUSY_TIMEOUT_S,
    WriteWouldWait,
    get_engine,
    write_transaction,
    writes_without_waiting,
)


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = get_engine(f"sqlite:///{tmp_path}/t.db")
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield engine
    engine.dispose()


def _rows(engine) -> list[int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT x FROM t ORDER BY x"))]


def test_a_free_lock_is_taken_and_the_write_commits(engine) -> None:  # type: ignore[no-untyped-def]
    with writes_without_waiting(), write_transaction(engine) as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    assert _rows(engine) == [1]


def test_a_held_lock_raises_before_writing_and_the_timeout_comes_back(
    engine, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with (
            pytest.raises(WriteWouldWait),
            writes_without_waiting(),
            write_transaction(engine) as conn,
        ):
            conn.execute(text("INSERT INTO t VALUES (2)"))
    finally:
        other.execute("COMMIT")
        other.close()
    assert _rows(engine) == []
    # Outside the block, writes wait again with the normal timeout on every pooled connection.
    with write_transaction(engine) as conn:
        timeout_ms = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        conn.execute(text("INSERT INTO t VALUES (3)"))
    assert timeout_ms == int(SQLITE_BUSY_TIMEOUT_S * 1000)
    assert _rows(engine) == [3]
