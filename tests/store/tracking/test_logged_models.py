"""MLflow 3 logged models in the SQL tracking store, on SQLite and on a real PostgreSQL server:
the logged-model suite (tests/logged_model_suite.py) and the schema migration."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from cairn.store.db import migrate
from cairn.store.db.engine import get_engine
from cairn.store.tracking.sql import SqlTrackingStore
from logged_model_suite import *  # noqa: F403  (the suite's tests and fixtures run here)


@pytest.fixture
def store(db_uri: str, tmp_path: Path) -> SqlTrackingStore:
    return SqlTrackingStore(db_uri, str(tmp_path / "artifacts"))


@pytest.fixture
def engine(store: SqlTrackingStore) -> Engine:
    return store.engine


@pytest.fixture
def sql_only() -> None:
    """Every test of the suite applies to the SQL store."""


# ---------------------------------------------------------------- schema


def test_a_0001_database_upgrades_and_downgrades(db_uri: str) -> None:
    from alembic import command
    from alembic.config import Config

    engine = get_engine(db_uri)

    def alembic(action: str, revision: str) -> None:
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(migrate._MIGRATIONS))
            config.attributes["connection"] = conn
            getattr(command, action)(config, revision)

    alembic("upgrade", "0001")
    assert migrate.upgrade(engine) == ("0001", migrate.HEAD_REVISION)
    store = SqlTrackingStore(db_uri)
    store.create_logged_model("0", name="after-upgrade")
    alembic("downgrade", "0001")
    tables = set(inspect(engine).get_table_names())
    assert "runs" in tables
    assert not tables & {"logged_models", "logged_model_params", "run_outputs"}
