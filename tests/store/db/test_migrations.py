"""The Alembic migrations build exactly the schema the code declares; old schemas are refused."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from cairn.errors import CairnError
from cairn.store.db import migrate, schema
from cairn.store.db.engine import get_engine


def test_head_revision_constant_matches_the_scripts() -> None:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrate._MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == migrate.HEAD_REVISION


def test_migrated_schema_matches_the_declared_one(db_uri: str) -> None:
    engine = get_engine(db_uri)
    migrate.ensure_schema(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == []


def test_outdated_schema_is_refused_with_the_fix(db_uri: str) -> None:
    engine = get_engine(db_uri)
    migrate.ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(CairnError, match="cairn db upgrade"):
        migrate.ensure_schema(engine)


def test_foreign_database_is_not_touched(db_uri: str) -> None:
    engine = get_engine(db_uri)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE someone_elses (id INTEGER)"))
    with pytest.raises(CairnError, match="no cairn schema version"):
        migrate.ensure_schema(engine)


def test_upgrade_is_idempotent(db_uri: str) -> None:
    engine = get_engine(db_uri)
    assert migrate.upgrade(engine) == (None, migrate.HEAD_REVISION)
    assert migrate.upgrade(engine) == (migrate.HEAD_REVISION, migrate.HEAD_REVISION)


def test_postgres_keeps_small_metric_chunks_in_their_rows(db_uri: str) -> None:
    engine = get_engine(db_uri)
    migrate.upgrade(engine)
    if engine.dialect.name != "postgresql":
        pytest.skip("toast_tuple_target is a PostgreSQL storage parameter")
    with engine.connect() as conn:
        options = conn.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE relname = 'metric_chunks'"
        ).scalar()
    assert "toast_tuple_target=8160" in options
