"""``cairn gc``: what is purged, what survives, and what a dry run reports."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import update

from cairn.cli.gc import Duration
from cairn.entities import LifecycleStage
from cairn.errors import CairnError
from cairn.store.db import schema as t
from cairn.store.db.engine import get_engine
from cairn.tracking.client import TrackingClient
from cli_support import Cli

DAY_MS = 86_400_000


def _run_with_artifact(client: TrackingClient, experiment: str = "0") -> tuple[str, Path]:
    """A run holding one artifact file; returns its id and its own directory."""
    run = client.create_run(experiment)
    client.log_text(run.info.run_id, "x", "f.txt")
    run_dir = Path(run.info.artifact_uri).parent
    assert run_dir.name == run.info.run_id and (run_dir / "artifacts" / "f.txt").is_file()
    return run.info.run_id, run_dir


def _deleted_days_ago(client: TrackingClient, days: int, *run_ids: str) -> None:
    """Move deletion times back (the store stamps them with the current time)."""
    with get_engine(client.tracking_uri).begin() as conn:
        conn.execute(
            update(t.runs)
            .where(t.runs.c.run_uuid.in_(run_ids))
            .values(deleted_time=time.time_ns() // 1_000_000 - days * DAY_MS)
        )


def _exists(client: TrackingClient, run_id: str) -> bool:
    try:
        client.get_run(run_id)
    except CairnError:
        return False
    return True


def test_gc_purges_deleted_runs_and_their_artifacts(cli: Cli, client: TrackingClient) -> None:
    gone, gone_dir = _run_with_artifact(client)
    kept, kept_dir = _run_with_artifact(client)
    client.delete_run(gone)

    out = cli("gc").stdout
    assert f"Purged run {gone}" in out
    assert out.splitlines()[-1] == "Purged 1 run and 0 experiments."
    assert not _exists(client, gone) and not gone_dir.exists()
    assert _exists(client, kept) and (kept_dir / "artifacts" / "f.txt").is_file()


def test_gc_older_than_keeps_recent_deletions(cli: Cli, client: TrackingClient) -> None:
    old, old_dir = _run_with_artifact(client)
    recent, recent_dir = _run_with_artifact(client)
    client.delete_run(old)
    client.delete_run(recent)
    _deleted_days_ago(client, 40, old)

    assert "Purged 1 run and 0 experiments." in cli("gc", "--older-than", "30d").stdout
    assert not _exists(client, old) and not old_dir.exists()
    assert client.get_run(recent).info.lifecycle_stage == LifecycleStage.DELETED
    assert recent_dir.exists()


def test_gc_purges_deleted_experiments_and_their_directory(
    cli: Cli, client: TrackingClient
) -> None:
    experiment_id = client.create_experiment("doomed")
    run_ids = [_run_with_artifact(client, experiment_id)[0] for _ in range(2)]
    location = Path(client.get_experiment(experiment_id).artifact_location)
    client.delete_experiment(experiment_id)

    out = cli("gc").stdout
    assert f"Purged experiment {experiment_id} (doomed)." in out
    assert "Purged 2 runs and 1 experiment." in out
    assert not any(_exists(client, run_id) for run_id in run_ids)
    assert client.get_experiment_by_name("doomed") is None
    assert not location.exists()
    assert location.parent.exists()  # the artifact root itself stays


def test_gc_keeps_an_experiment_location_holding_other_files(
    cli: Cli, client: TrackingClient, tmp_path: Path
) -> None:
    location = tmp_path / "mine"
    location.mkdir()
    (location / "keep.txt").write_text("not cairn's")
    experiment_id = client.create_experiment("placed", artifact_location=str(location))
    _, run_dir = _run_with_artifact(client, experiment_id)
    client.delete_experiment(experiment_id)

    assert "Purged 1 run and 1 experiment." in cli("gc").stdout
    assert not run_dir.exists()
    assert (location / "keep.txt").read_text() == "not cairn's"


def test_gc_keeps_a_deleted_experiment_that_still_has_runs(
    cli: Cli, client: TrackingClient
) -> None:
    experiment_id = client.create_experiment("half")
    gone, _ = _run_with_artifact(client, experiment_id)
    back, _ = _run_with_artifact(client, experiment_id)
    client.delete_experiment(experiment_id)
    client.restore_run(back)

    assert "Purged 1 run and 0 experiments." in cli("gc").stdout
    assert not _exists(client, gone)
    assert client.get_experiment(experiment_id).lifecycle_stage == LifecycleStage.DELETED


def test_gc_dry_run_removes_nothing(cli: Cli, client: TrackingClient) -> None:
    experiment_id = client.create_experiment("doomed")
    run_id, run_dir = _run_with_artifact(client, experiment_id)
    client.delete_experiment(experiment_id)

    out = cli("gc", "--dry-run").stdout
    assert f"Would purge run {run_id}" in out
    assert f"Would purge experiment {experiment_id} (doomed)." in out
    assert out.splitlines()[-1] == "Would purge 1 run and 1 experiment."
    assert client.get_run(run_id).info.lifecycle_stage == LifecycleStage.DELETED
    assert run_dir.exists()
    assert client.get_experiment(experiment_id).name == "doomed"


def test_gc_dry_run_respects_the_threshold_exactly(cli: Cli, client: TrackingClient) -> None:
    experiment_id = client.create_experiment("recent")
    run_id, _ = _run_with_artifact(client, experiment_id)
    client.delete_experiment(experiment_id)

    recent = cli("gc", "--dry-run", "--older-than", "30d").stdout
    assert recent.strip() == "Would purge 0 runs and 0 experiments."
    now = cli("gc", "--dry-run").stdout
    assert f"Would purge run {run_id}" in now
    assert "Would purge 1 run and 1 experiment." in now
    assert _exists(client, run_id)  # a dry run removes nothing


def test_gc_run_ids_purges_only_those(cli: Cli, client: TrackingClient) -> None:
    experiment_id = client.create_experiment("targeted")
    a, b, c = (_run_with_artifact(client, experiment_id)[0] for _ in range(3))
    client.delete_experiment(experiment_id)

    out = cli("gc", "--run-ids", f"{a}, {b}").stdout
    assert "Purged 2 runs and 0 experiments." in out
    assert not _exists(client, a) and not _exists(client, b) and _exists(client, c)
    assert "Purged 1 run and 0 experiments." in cli("gc", "--run-ids", c).stdout
    # Experiments are only purged by a gc that is not limited to some runs.
    assert "Purged 0 runs and 1 experiment." in cli("gc").stdout


def test_gc_run_ids_must_name_deleted_runs(cli: Cli, client: TrackingClient) -> None:
    active, _ = _run_with_artifact(client)
    assert "is not deleted" in cli.fails("gc", "--run-ids", active)
    assert "Run '0123abcd' not found." in cli.fails("gc", "--run-ids", "0123abcd", "--dry-run")
    assert _exists(client, active)


def test_gc_reports_artifacts_it_cannot_delete(cli: Cli, client: TrackingClient) -> None:
    experiment_id = client.create_experiment("remote", artifact_location="s3://bucket/exp")
    run_id = client.create_run(experiment_id).info.run_id
    client.delete_run(run_id)

    stderr = cli.fails("gc")
    assert "Warning: could not delete the artifacts of run" in stderr
    assert "1 artifact location could not be deleted" in stderr
    assert not _exists(client, run_id)  # the rows are gone even so


@pytest.mark.parametrize("value", ["30", "1x", "-1d", "d", "", "1.5h", "1 d"])
def test_gc_bad_older_than(cli: Cli, value: str) -> None:
    stderr = cli.fails("gc", "--older-than", value, exit_code=2)
    assert "Invalid value for '--older-than'" in stderr
    assert "is not a duration" in stderr


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("0s", 0),
        ("0", 0),
        ("45s", 45_000),
        ("15m", 900_000),
        ("12h", 43_200_000),
        ("30d", 30 * DAY_MS),
        ("1d12h", DAY_MS + 43_200_000),
        ("2H", 7_200_000),
    ],
)
def test_duration(text: str, ms: int) -> None:
    assert Duration().convert(text, None, None) == ms
