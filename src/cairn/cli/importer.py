"""``cairn import``: copy experiments, runs and the model registry from an MLflow store or
server into cairn."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from cairn.cli import output
from cairn.errors import CairnError

if TYPE_CHECKING:
    from cairn.importer.run import ImportSummary
    from cairn.store.tracking.sql import SqlTrackingStore

_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")


@click.command("import")
@click.option(
    "--from",
    "source_uri",
    required=True,
    metavar="URI",
    help="The MLflow store: its database (sqlite:///mlflow.db, postgresql://...) or its "
    "tracking server (http(s)://host:port).",
)
@click.option(
    "--to",
    "dest_uri",
    metavar="URI",
    help="The cairn database to import into. [default: the tracking URI]",
)
@click.option(
    "--experiment",
    "-e",
    "experiments",
    multiple=True,
    metavar="NAME",
    help="Import only this experiment (name or id); repeatable. [default: all]",
)
@click.option(
    "--artifacts/--no-artifacts",
    default=True,
    show_default=True,
    help="Copy the runs' artifact files too.",
)
@click.option(
    "--artifacts-from",
    metavar="URL",
    help="The MLflow server serving the source's mlflow-artifacts:/ URIs (database sources "
    "whose artifacts went through a server's proxy).",
)
@click.option(
    "--registry/--no-registry",
    default=True,
    show_default=True,
    help="Copy the model registry too (registered models, versions, tags, aliases).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be copied; write nothing.")
def import_(
    source_uri: str,
    dest_uri: str | None,
    experiments: tuple[str, ...],
    artifacts: bool,
    artifacts_from: str | None,
    registry: bool,
    dry_run: bool,
) -> None:
    """Copy experiments, runs and the model registry from an MLflow store or server.

    Run ids, names, times, users, statuses and lifecycle stages are kept, with full metric
    histories, params, tags, dataset inputs and artifact files; registered models keep their
    version numbers, stages, tags and aliases. Safe to re-run: runs already imported only gain
    what was logged to them since, and models what was registered since.
    """
    from cairn.importer.run import ImportOptions, import_from, rich_progress
    from cairn.importer.sources import local_sqlite_path, open_source, redact

    dest_uri = _destination_uri(dest_uri)
    source_file = local_sqlite_path(source_uri)
    if source_file is not None and source_file == local_sqlite_path(dest_uri):
        raise CairnError.invalid("The source and the destination are the same database.")
    source = open_source(source_uri)
    try:
        options = ImportOptions(experiments, artifacts, artifacts_from, dry_run, registry)
        with _destination_store(dest_uri, dry_run) as store, rich_progress() as progress:
            summary = import_from(source, store, options, progress)
    finally:
        source.close()

    verb = "Would import" if dry_run else "Imported"
    title = f"{verb} from {redact(source_uri)} into {redact(dest_uri)}"
    output.echo(title)
    output.print_fields(_summary_fields(summary))
    for text in summary.notes:
        output.note(f"Not imported (cairn cannot hold it yet): {text}.")
    for text in summary.warnings:
        output.warn(text)
    for text in summary.errors:
        output.error(text)
    if dry_run:
        output.note("Dry run: nothing was written.")
    if summary.errors:
        raise click.ClickException(
            f"{output.plural(len(summary.errors), 'item')} failed; run the import again to retry."
        )


def _destination_uri(uri: str | None) -> str:
    from cairn.tracking import config

    uri = uri or config.get_tracking_uri()
    if "://" not in uri:
        uri = f"sqlite:///{os.path.abspath(uri)}"
    uri = config.resolve_uri(uri)
    if uri.split(":", 1)[0].split("+", 1)[0].lower() not in _SQL_SCHEMES:
        raise CairnError.invalid(
            f"cairn import writes into a cairn database, not {uri!r}: pass --to "
            "sqlite:///path.db or postgresql://... (for a server, its --backend-store-uri)."
        )
    return uri


@contextmanager
def _destination_store(uri: str, dry_run: bool) -> Iterator[SqlTrackingStore]:
    """The cairn store; a dry run against a SQLite file that does not exist yet plans against
    an empty scratch database instead of creating the file."""
    from cairn.store.db.engine import sqlite_path
    from cairn.store.tracking.sql import SqlTrackingStore
    from cairn.tracking import config

    artifact_root = config.get_artifact_root()
    path = sqlite_path(uri) if uri.startswith("sqlite") else None
    if dry_run and path is not None and not path.exists():
        with tempfile.TemporaryDirectory(prefix="cairn-import-") as tmp:
            scratch = SqlTrackingStore(f"sqlite:///{tmp}/plan.db", artifact_root)
            try:
                yield scratch
            finally:
                scratch.engine.dispose()
        return
    yield SqlTrackingStore(uri, artifact_root)


def _summary_fields(s: ImportSummary) -> dict[str, str]:
    return {
        "experiments": f"{s.experiments_created} new, {s.experiments_updated} updated, "
        f"{s.experiments_unchanged} unchanged",
        "runs": f"{s.runs_created} new, {s.runs_updated} updated, {s.runs_unchanged} unchanged",
        "metric points": f"{s.metric_points:,}",
        "params": f"{s.params:,}",
        "tags": f"{s.tags:,}",
        "dataset inputs": f"{s.inputs:,}",
        "artifact files": f"{s.artifact_files:,} ({output.format_size(s.artifact_bytes)})",
        "registered models": f"{s.registered_models_created} new, "
        f"{s.registered_models_updated} updated, {s.registered_models_unchanged} unchanged",
        "model versions": f"{s.model_versions_created} new, {s.model_versions_updated} "
        f"updated, {s.model_versions_unchanged} unchanged",
        "time": f"{s.seconds:.1f} s",
    }
