"""``cairn db``: schema versions of tracking databases.

Stores create the schema of an empty database by themselves; these commands exist for
databases made by an older cairn, which a store refuses until they are upgraded.
"""

from __future__ import annotations

import os

import click

from cairn.cli import output
from cairn.errors import CairnError


def _database_uri(uri: str) -> str:
    """Like the tracking URI: a plain path means a SQLite file there."""
    return uri if "://" in uri else f"sqlite:///{os.path.abspath(uri)}"


@click.group(cls=output.CairnGroup)
def db() -> None:
    """Create and migrate tracking databases."""


@db.command("upgrade")
@click.argument("uri")
def upgrade(uri: str) -> None:
    """Migrate the database at URI to the newest schema (creating it if empty)."""
    from cairn.store.db.engine import get_engine
    from cairn.store.db.migrate import upgrade as migrate_upgrade

    engine = get_engine(_database_uri(uri))
    before, after = migrate_upgrade(engine)
    shown = engine.url.render_as_string(hide_password=True)
    output.echo(f"Database at {shown} is at revision {after} (was {before or 'empty'}).")


@db.command("current")
@click.argument("uri")
def current(uri: str) -> None:
    """Print the schema revision of the database at URI."""
    from cairn.store.db.engine import get_engine, read_transaction, sqlite_path
    from cairn.store.db.migrate import HEAD_REVISION, current_revision

    uri = _database_uri(uri)
    path = sqlite_path(uri) if uri.startswith("sqlite") else None
    if path is not None and not path.exists():
        raise CairnError.not_found(f"No SQLite database at {path}.")
    engine = get_engine(uri)
    with read_transaction(engine) as conn:
        revision = current_revision(conn)
    shown = engine.url.render_as_string(hide_password=True)
    if revision is None:
        output.echo(f"Database at {shown} has no cairn schema (newest: {HEAD_REVISION}).")
    elif revision == HEAD_REVISION:
        output.echo(f"Database at {shown} is at revision {revision} (newest).")
    else:
        output.echo(
            f"Database at {shown} is at revision {revision}; this cairn needs {HEAD_REVISION}: "
            f"run `cairn db upgrade {shown}`."
        )
