"""Creating and upgrading the schema, safely when many processes start at once.

Every check and migration runs inside one write transaction: SQLite's ``BEGIN IMMEDIATE`` and
PostgreSQL's transaction-scoped advisory lock make concurrent first starts queue up instead of
racing each other into half-built tables. Alembic is imported only when there is work to do.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from cairn.errors import CairnError
from cairn.store.db.engine import write_transaction

HEAD_REVISION = "0004"
_MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_ID = 0x0CA1_2000


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine, *, create: bool = True) -> None:
    """Create the schema on an empty database; refuse an outdated one with the fix to run."""
    with write_transaction(engine) as conn:
        _lock(conn)
        revision = current_revision(conn)
        if revision == HEAD_REVISION:
            return
        if revision is None and create and not _has_foreign_tables(conn):
            _run_alembic(conn, "upgrade")
            return
    if revision is None:
        raise CairnError(
            f"The database at {engine.url.render_as_string(hide_password=True)} has tables but "
            "no cairn schema version. Point cairn at an empty database or a cairn database.",
            "INVALID_STATE",
        )
    raise CairnError(
        f"The database schema is at revision {revision}; this cairn needs {HEAD_REVISION}. "
        "Run `cairn db upgrade <database uri>` to migrate it.",
        "INVALID_STATE",
    )


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate to the newest schema; returns (revision before, revision after)."""
    with write_transaction(engine) as conn:
        _lock(conn)
        before = current_revision(conn)
        if before != HEAD_REVISION:
            _run_alembic(conn, "upgrade")
    return before, HEAD_REVISION


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})


def _has_foreign_tables(conn: Connection) -> bool:
    return bool(inspect(conn).get_table_names())


def _run_alembic(conn: Connection, command_name: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = conn
    getattr(command, command_name)(config, "head")
