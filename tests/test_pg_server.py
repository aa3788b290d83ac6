"""The test-infrastructure fixtures themselves: if these fail, every postgres test is suspect."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from pg_server import PostgresServer


def _roundtrip(uri: str) -> list[tuple[int, str]]:
    """Create a table, insert two rows, read them back."""
    engine = create_engine(uri)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE runs (id INTEGER PRIMARY KEY, name VARCHAR(50))"))
            conn.execute(
                text("INSERT INTO runs (id, name) VALUES (:id, :name)"),
                [{"id": 1, "name": "alpha"}, {"id": 2, "name": "beta"}],
            )
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, name FROM runs ORDER BY id")).all()
        return [(int(r[0]), str(r[1])) for r in rows]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_roundtrip(postgres_uri: str) -> None:
    assert postgres_uri.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert _roundtrip(postgres_uri) == [(1, "alpha"), (2, "beta")]


@pytest.mark.postgres
def test_fresh_database_is_empty(postgres_uri: str) -> None:
    engine = create_engine(postgres_uri)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_databases_are_isolated(postgres_server: PostgresServer) -> None:
    uri_a = postgres_server.create_database("iso_a")
    uri_b = postgres_server.create_database("iso_b")
    try:
        _roundtrip(uri_a)
        engine_b = create_engine(uri_b)
        try:
            assert inspect(engine_b).get_table_names() == []
        finally:
            engine_b.dispose()
    finally:
        postgres_server.drop_database("iso_a")
        postgres_server.drop_database("iso_b")


@pytest.mark.postgres
def test_drop_terminates_open_connections(postgres_server: PostgresServer) -> None:
    uri = postgres_server.create_database("left_open")
    engine = create_engine(uri)
    conn = engine.connect()  # deliberately left open, as a sloppy test would
    conn.execute(text("SELECT 1"))
    postgres_server.drop_database("left_open")  # must not fail with "being accessed by others"
    conn.invalidate()  # the server killed it; don't let the pool try a ROLLBACK on it
    conn.close()
    engine.dispose()
    postgres_server.create_database("left_open")  # the name is free again
    postgres_server.drop_database("left_open")


@pytest.mark.postgres
def test_server_version(postgres_server: PostgresServer, postgres_uri: str) -> None:
    version = postgres_server.version
    print(f"PostgreSQL server version: {version}")
    assert re.match(r"\d+(\.\d+)?", version), version
    engine = create_engine(postgres_uri)
    try:
        with engine.connect():
            info = engine.dialect.server_version_info
        assert info is not None and info[0] >= 13  # DROP DATABASE ... WITH (FORCE)
        assert version.startswith(f"{info[0]}.")
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_rejects_unsafe_database_names(postgres_server: PostgresServer) -> None:
    with pytest.raises(ValueError):
        postgres_server.create_database('x"; DROP DATABASE postgres; --')


@pytest.mark.postgres
def test_stop_removes_everything(postgres_server: PostgresServer) -> None:
    """A second, independent server: own port, own directory, all gone after stop()."""
    with PostgresServer(postgres_server.bindir) as other:
        assert other.port != postgres_server.port
        assert other.base != postgres_server.base
        assert _roundtrip(other.create_database("solo")) == [(1, "alpha"), (2, "beta")]
        base = other.base
    assert not base.exists()


def test_db_uri_runs_on_each_backend(db_uri: str) -> None:
    assert db_uri.split(":", 1)[0] in {"sqlite", "postgresql+psycopg"}
    assert _roundtrip(db_uri) == [(1, "alpha"), (2, "beta")]


def test_sqlite_uri_is_private(sqlite_uri: str, tmp_path: Path) -> None:
    assert sqlite_uri == f"sqlite:///{tmp_path}/cairn.db"
    assert not (tmp_path / "cairn.db").exists()


def test_state_is_isolated(tmp_path: Path) -> None:
    assert Path.cwd() == tmp_path
    assert "CAIRN_TRACKING_URI" not in os.environ
    assert "CAIRN_ARTIFACT_ROOT" not in os.environ
