"""INSERT ... ON CONFLICT for the dialects cairn supports, in one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] | None,
    where: Callable[[Any], ColumnElement[bool]] | None = None,
) -> None:
    """Insert rows; on a key conflict update the ``update`` columns (None: leave the row).

    ``where`` receives the ``excluded`` pseudo-table and limits which conflicting rows update.
    """
    if not rows:
        return
    stmt = dialect_insert(conn.dialect.name, table)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: stmt.excluded[name] for name in update},
            where=where(stmt.excluded) if where is not None else None,
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(stmt, list(rows))


def dialect_insert(dialect: str, table: Table) -> Any:
    """The dialect's INSERT, the one that knows ON CONFLICT (SQLite and PostgreSQL)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)
