"""Shared fixtures: a real PostgreSQL server, a fresh database per test, backend-parametrized URIs.

Tests that take `db_uri` run twice, as `[sqlite]` and `[postgres]`.  The postgres variant
carries the `postgres` marker (deselect with `-m "not postgres"`) and is skipped, with the
reason, when no PostgreSQL can be had.  The server is started lazily, only if some selected
test needs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pg_server import PostgresServer, PostgresUnavailable, find_bindir


def _give_main_a_spec() -> None:
    """pyspark (the spark extra) decides that a process whose ``__main__`` has neither a spec
    nor a file is running pyspark's doctests, and exits when ``pyspark.sql.connect`` is
    imported. pytest-xdist's workers are such processes (execnet starts them with
    ``python -c``), and mlflow's ``infer_signature`` imports that module whenever pyspark is
    installed. A spec named ``__main__`` changes nothing else: multiprocessing does not
    re-import a main module of that name in its children."""
    import importlib.machinery

    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)


_give_main_a_spec()


def pytest_report_header(config: pytest.Config) -> str:
    """Say up front which PostgreSQL the postgres tests will use (or that they will skip)."""
    bindir = find_bindir()
    if bindir is None:
        return "postgresql: server binaries not found (postgres tests skip unless installable)"
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        out = f"version unknown ({exc})"
    return f"postgresql: {bindir} ({out})"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private server per test session.

    Under pytest-xdist every worker is its own session and so starts its own server: no
    cross-process locking or "who stops it last" bookkeeping, at the cost of ~1 s per worker.
    Skips (cached by pytest, so tried once) when PostgreSQL is unavailable; a server that is
    present but fails to start is an error, not a skip.
    """
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install -e '.[postgres]')")
    try:
        server = PostgresServer().start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_uri(postgres_server: PostgresServer) -> Iterator[str]:
    """URI of a fresh, empty database; dropped afterwards even if the test left connections open."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    uri = postgres_server.create_database(name)
    yield uri
    postgres_server.drop_database(name)


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> str:
    """URI of a (not yet existing) SQLite file private to the test."""
    return f"sqlite:///{tmp_path}/cairn.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_uri(request: pytest.FixtureRequest) -> str:
    """Database URI for each backend; the postgres server is only requested by that variant."""
    return str(request.getfixturevalue(f"{request.param}_uri"))


# --- cairn state ---


@pytest.fixture(autouse=True)
def _isolate_cairn_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts in its own cwd with no inherited tracking/artifact location.

    cairn, like MLflow, defaults to ./cairn.db and ./cairn-artifacts relative to the cwd and
    honours these variables, so without this tests would leak state into each other (and into
    the checkout).
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAIRN_TRACKING_URI", raising=False)
    monkeypatch.delenv("CAIRN_ARTIFACT_ROOT", raising=False)
    for name in ("CAIRN_RUN_ID", "CAIRN_EXPERIMENT_ID", "CAIRN_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    # Project runs keep their live logs here (default: ~/.cache/cairn/project-runs).
    monkeypatch.setenv("CAIRN_PROJECT_STATE_DIR", str(tmp_path / ".cairn-project-runs"))
    for name in [n for n in os.environ if n.startswith("MLFLOW_")]:
        monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _reset_cairn_globals() -> Iterator[None]:
    """End runs, stop background loggers and close pools a test left behind."""
    yield
    from cairn.store.db.engine import dispose_engines
    from cairn.tracking import config, fluent

    fluent._reset()
    config._stores.clear()
    config._registry_stores.clear()
    config.set_registry_uri(None)
    dispose_engines()
    _reset_mlflow_globals()


def _reset_mlflow_globals() -> None:
    """Tests drive the real mlflow client too; its active run/experiment are process globals."""
    if "mlflow" not in sys.modules:
        return
    import mlflow
    import mlflow.tracking.fluent as mlflow_fluent

    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow_fluent._active_experiment_id = None  # a plain module global in mlflow 3
