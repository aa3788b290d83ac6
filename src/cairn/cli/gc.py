"""``cairn gc``: permanently remove deleted runs and experiments, with their artifacts.

Deleting a run or an experiment only marks it; this is the step that frees the space. Runs go
first (rows, then each run's artifact directory), then deleted experiments that have no runs
left. An experiment's artifact directory is removed only when nothing but the runs just purged
ever lived there, so a user-chosen ``--artifact-location`` holding other files survives.
"""

from __future__ import annotations

import os
import posixpath
import re
from typing import Any

import click

from cairn.cli import output
from cairn.entities import LifecycleStage, Run
from cairn.errors import CairnError
from cairn.tracking.client import TrackingClient

_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000}
_DURATION = re.compile(r"(?:\d+[dhms])+|0")


class Duration(click.ParamType):
    """``30d``, ``12h``, ``15m``, ``45s`` or combinations (``1d12h``), as milliseconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if not _DURATION.fullmatch(text):
            self.fail(
                f"{value!r} is not a duration: use a number and a unit (d, h, m or s), "
                "like 30d, 12h, 15m, 45s or 0s.",
                param,
                ctx,
            )
        return sum(int(n) * _UNIT_MS[unit] for n, unit in re.findall(r"(\d+)([dhms])", text))


def _split_ids(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[str] | None:
    ids = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return list(dict.fromkeys(ids)) or None


@click.command("gc")
@click.option(
    "--older-than",
    type=Duration(),
    default="0s",
    show_default=True,
    help="Only runs and experiments deleted at least this long ago (30d, 12h, 15m, 45s).",
)
@click.option(
    "--run-ids",
    multiple=True,
    callback=_split_ids,
    metavar="ID,ID...",
    help="Only these deleted runs (comma-separated); experiments are then left alone.",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
def gc(older_than: int, run_ids: list[str] | None, dry_run: bool) -> None:
    """Permanently remove deleted runs and experiments and their artifacts."""
    client = TrackingClient()
    for run_id in run_ids or ():
        _require_deleted(client.get_run(run_id))
    store = client.store
    verb = "Would purge" if dry_run else "Purged"
    runs = store.purge_deleted_runs(older_than, run_ids, dry_run=dry_run)
    experiments = (
        [] if run_ids is not None else store.purge_deleted_experiments(older_than, dry_run)
    )
    failures = 0
    purged_ids = {run.info.run_id for run in runs}
    for run in runs:
        output.echo(f"{verb} run {run.info.run_id} ({run.info.run_name}).")
        if not dry_run:
            failures += not _delete_artifacts(_run_root(run), f"run {run.info.run_id}")
    for experiment in experiments:
        output.echo(f"{verb} experiment {experiment.experiment_id} ({experiment.name}).")
        if not dry_run and _only_purged_runs_inside(experiment.artifact_location, purged_ids):
            failures += not _delete_artifacts(
                experiment.artifact_location, f"experiment {experiment.experiment_id}"
            )
    output.echo(_summary(verb, len(runs), len(experiments)))
    if failures:
        raise CairnError(
            f"{output.plural(failures, 'artifact location')} could not be deleted (see above)."
        )


def _require_deleted(run: Run) -> None:
    if run.info.lifecycle_stage != LifecycleStage.DELETED:
        raise CairnError.invalid(
            f"Run {run.info.run_id} is not deleted; only deleted runs can be purged "
            "(delete it first with `cairn runs delete`)."
        )


def _summary(verb: str, runs: int, experiments: int) -> str:
    return f"{verb} {output.plural(runs, 'run')} and {output.plural(experiments, 'experiment')}."


# ----------------------------------------------------------------------------- artifacts


def _run_root(run: Run) -> str:
    """The run's own directory when artifacts use the standard ``<experiment>/<run id>/artifacts``
    layout (so the emptied ``<run id>`` directory goes too), else the artifact URI itself."""
    uri, run_id = run.info.artifact_uri, run.info.run_id
    for module in (posixpath, os.path):
        head, tail = module.split(uri.rstrip("/" + os.sep))
        if tail == "artifacts" and module.basename(head) == run_id:
            return head
    return uri


def _only_purged_runs_inside(location: str, purged_run_ids: set[str]) -> bool:
    """True when the experiment's artifact location is empty or holds only purged runs' dirs."""
    from cairn.store.artifacts import get_artifact_repository

    try:
        entries = get_artifact_repository(location).list_artifacts()
    except (CairnError, OSError):
        return False
    return all(entry.is_dir and entry.path in purged_run_ids for entry in entries)


def _delete_artifacts(uri: str, owner: str) -> bool:
    """Delete everything under ``uri``; a failure is reported, and gc carries on."""
    from cairn.store.artifacts import get_artifact_repository

    try:
        get_artifact_repository(uri).delete_artifacts()
    except (CairnError, OSError) as exc:
        output.warn(f"could not delete the artifacts of {owner} at {uri}: {exc}")
        return False
    return True
