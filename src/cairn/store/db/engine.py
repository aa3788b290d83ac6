"""Engines for the SQL stores: SQLite tuned for many writers, PostgreSQL with a small pool.

Write transactions on SQLite start with ``BEGIN IMMEDIATE`` so two processes never both hold a
read lock and then deadlock upgrading it; reads start deferred and run alongside writers (WAL).
"""

from __future__ import annotations

import contextlib
import contextvars
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DataError, OperationalError

from cairn.errors import CairnError

SQLITE_BUSY_TIMEOUT_S = 60.0
_WRITE = "cairn_write"

_NO_WAIT: contextvars.ContextVar[bool] = contextvars.ContextVar("cairn_no_wait", default=False)

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_path(uri: str) -> Path | None:
    """The database file behind a ``sqlite:///`` URI, or None for in-memory databases."""
    database = make_url(uri).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def get_engine(uri: str) -> Engine:
    """One engine per URI per process (engines own the connection pools)."""
    with _engines_lock:
        engine = _engines.get(uri)
        if engine is None:
            engine = _engines[uri] = _create_engine(uri)
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, and processes about to drop a database)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _create_engine(uri: str) -> Engine:
    try:
        url = make_url(uri)
    except ArgumentError as exc:
        raise CairnError.invalid(f"Not a database URI: {uri!r} ({exc}).") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(uri)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        )
        _tune_sqlite(engine)
        return engine
    if backend in ("postgresql", "postgres"):
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        try:
            return create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True)
        except ModuleNotFoundError:
            raise CairnError.invalid(
                "PostgreSQL needs the psycopg driver: pip install 'cairn[postgres]'."
            ) from None
    if backend == "mysql":
        return create_engine(url, pool_pre_ping=True)
    raise CairnError.invalid(
        f"Unsupported database {backend!r} in {uri!r}: use sqlite:///, postgresql:// or mysql://."
    )


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event below decide how each transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight on the driver: through exec_driver_sql this one statement cost more than
        # a whole small write.
        driver = conn.connection.driver_connection
        if not conn.get_execution_options().get(_WRITE):
            driver.execute("BEGIN")  # type: ignore[union-attr]
        elif _NO_WAIT.get():
            _begin_without_waiting(driver)  # type: ignore[arg-type]
        else:
            driver.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]


class WriteWouldWait(Exception):
    """Raised under :func:`writes_without_waiting` when another writer holds the lock."""


@contextlib.contextmanager
def writes_without_waiting() -> Iterator[None]:
    """SQLite write transactions started inside either get the write lock at once or raise
    :class:`WriteWouldWait` before doing anything.

    The server runs small writes on its event loop this way (a thread hop costs more than the
    write) and only sends them to a thread when another process holds the lock.
    """
    token = _NO_WAIT.set(True)
    try:
        yield
    finally:
        _NO_WAIT.reset(token)


def _begin_without_waiting(driver: sqlite3.Connection) -> None:
    driver.execute("PRAGMA busy_timeout = 0")
    try:
        driver.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise WriteWouldWait(str(exc)) from None
        raise
    finally:
        driver.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """Turn a new database file to WAL mode, patiently.

    Processes opening a fresh file together can deadlock on this one step (each holds a shared
    lock and wants an exclusive one); SQLite then answers "locked" at once instead of waiting,
    so the wait is done here.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: takes SQLite's write lock up front, commits on success."""
    try:
        with engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
            yield conn
    except OperationalError as exc:
        raise _database_error(exc) from exc
    except sqlite3.OperationalError as exc:  # from BEGIN IMMEDIATE, run on the driver
        raise _database_error(exc) from exc
    except DataError as exc:  # a value the database cannot hold: the caller's fault
        raise CairnError.invalid(f"Value rejected by the database: {exc.orig}") from exc


@contextlib.contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    try:
        with engine.connect() as conn, conn.begin():
            yield conn
    except OperationalError as exc:
        raise _database_error(exc) from exc
    except sqlite3.OperationalError as exc:  # from BEGIN, run on the driver
        raise _database_error(exc) from exc
    except DataError as exc:
        raise CairnError.invalid(f"Value rejected by the database: {exc.orig}") from exc


def _database_error(exc: OperationalError | sqlite3.OperationalError) -> CairnError:
    return CairnError(f"Database error: {getattr(exc, 'orig', exc)}", "INTERNAL_ERROR")
