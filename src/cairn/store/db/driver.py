"""Statements compiled once and run straight on the database driver's cursor.

SQLAlchemy's ``Connection.execute`` costs 50-90 µs per statement in Python (cache key,
compiled-statement lookup, parameter processing, result set-up, events) - more than SQLite
takes to run a small statement. The ingest path (every ``log_metric`` over the server runs
five statements) therefore compiles its statements once per dialect with SQLAlchemy, so the
SQL still comes from the table definitions, and runs the SQL text on the DBAPI cursor of the
same connection, inside the same transaction.

Parameters are passed as the driver takes them: only plain ``str``/``int``/``float``/``bytes``/
``bool``/``None`` values belong here (no type processors run). Driver errors are re-raised as
SQLAlchemy's exception classes, so callers handle one family of errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

Params = Mapping[str, Any]


class DriverStatement:
    """``statement`` compiled for ``dialect``: run with :meth:`execute` / :meth:`executemany`."""

    __slots__ = ("_names", "_positional", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        self._positional = bool(compiled.positional)
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())

    def _args(self, params: Params) -> Sequence[Any] | Params:
        if self._positional:
            return tuple(params[name] for name in self._names)
        return params

    def execute(self, conn: Connection, params: Params) -> Any:
        """Run once; returns the driver's cursor (``fetchone``/``fetchall``/``rowcount``)."""
        cursor = _cursor(conn)
        try:
            cursor.execute(self.sql, self._args(params))
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(self.sql, params, exc, conn) from exc
        return cursor

    def executemany(self, conn: Connection, rows: Iterable[Params]) -> None:
        args = [self._args(row) for row in rows]
        if not args:
            return
        cursor = _cursor(conn)
        try:
            cursor.executemany(self.sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(self.sql, args, exc, conn) from exc


def _cursor(conn: Connection) -> Any:
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def _wrapped(sql: str, params: Any, exc: Exception, conn: Connection) -> DBAPIError:
    return DBAPIError.instance(
        sql, params, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
    )
