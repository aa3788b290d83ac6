"""``cairn db upgrade`` and ``cairn db current``."""

from __future__ import annotations

from pathlib import Path

from cairn.store.db.migrate import HEAD_REVISION
from cairn.tracking.client import TrackingClient
from cli_support import Cli


def test_upgrade_creates_the_schema_then_is_a_no_op(cli: Cli, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/fresh.db"
    out = cli("db", "upgrade", uri).stdout.strip()
    assert out == f"Database at {uri} is at revision {HEAD_REVISION} (was empty)."
    again = cli("db", "upgrade", uri).stdout.strip()
    assert again == f"Database at {uri} is at revision {HEAD_REVISION} (was {HEAD_REVISION})."
    current = cli("db", "current", uri).stdout.strip()
    assert current == f"Database at {uri} is at revision {HEAD_REVISION} (newest)."


def test_upgraded_database_is_usable(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "plain-path.db"
    cli("db", "upgrade", str(path))  # a plain path means a SQLite file
    assert path.is_file()
    client = TrackingClient(f"sqlite:///{path}")
    assert client.get_experiment("0").name == "Default"


def test_current_of_a_tracking_store(cli: Cli, client: TrackingClient) -> None:
    client.create_experiment("x")  # creates the schema
    assert "(newest)" in cli("db", "current", client.tracking_uri).stdout


def test_current_of_a_missing_file(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    assert "No SQLite database at" in cli.fails("db", "current", f"sqlite:///{missing}")
    assert not missing.exists()


def test_unsupported_uri(cli: Cli) -> None:
    assert "Unsupported database" in cli.fails("db", "upgrade", "oracle://host/db")


def test_uri_is_required(cli: Cli) -> None:
    cli.fails("db", "upgrade", exit_code=2)
