"""``cairn import`` from stores the real MLflow client wrote: its SQLite database and its server.

Every check compares what MLflow's own client reads back from the source with what cairn's
TrackingClient reads from the destination: run ids, infos, params, tags, latest metrics, whole
histories, dataset inputs and artifact files. Then the import runs again (nothing may change),
MLflow logs more, and a third import must bring exactly the increment.
"""

from __future__ import annotations

import filecmp
import math
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cairn.store.db import schema
from cairn.store.db.engine import get_engine, read_transaction
from cairn.tracking.client import TrackingClient
from import_support import cairn_import, summary
from rest_server import LiveServer, free_port

mlflow = pytest.importorskip("mlflow")

HISTORY_POINTS = 3000
T0 = 1_700_000_000_000  # metric timestamps of the long history, in ms


# ----------------------------------------------------------------------------- MLflow data


def populate(uri: str, root: Path, artifacts_under: Path | None = None) -> dict[str, str]:
    """Log a varied store with MLflow's fluent API; returns run ids by role.

    ``artifacts_under`` sets the experiments' artifact locations (None: the server decides).
    """
    import pandas as pd

    mlflow.set_tracking_uri(uri)

    def location(name: str) -> str | None:
        return None if artifacts_under is None else str(artifacts_under / name)

    vision = mlflow.create_experiment(
        "vision", artifact_location=location("vision"), tags={"team": "cv", "stage": "dev"}
    )
    nlp = mlflow.create_experiment("nlp", artifact_location=location("nlp"))
    old = mlflow.create_experiment("old", artifact_location=location("old"), tags={"x": "1"})
    ids: dict[str, str] = {}

    with mlflow.start_run(experiment_id=vision, run_name="long") as run:
        ids["long"] = run.info.run_id
        mlflow.log_params({"lr": 0.01, "layers": 4, "optimizer": "adam"})
        client = mlflow.MlflowClient()
        points = [
            mlflow.entities.Metric("loss", 1.0 / (i + 1), T0 + 10 * i, i)
            for i in range(HISTORY_POINTS)
        ]
        for start in range(0, len(points), 1000):
            client.log_batch(run.info.run_id, metrics=points[start : start + 1000])
        mlflow.log_metric("acc", 0.5, step=0)
        mlflow.log_metric("acc", float("nan"), step=1)
        mlflow.log_metric("nan_last", float("nan"))
        mlflow.log_metric("big", float("inf"), step=0)
        mlflow.log_metric("big", float("-inf"), step=1)
        mlflow.log_metric("same_step", 1.0, step=5, timestamp=T0)
        mlflow.log_metric("same_step", 2.0, step=5, timestamp=T0 + 1)
        mlflow.set_tags({"owner": "ana", "note": "ünïcode ✓"})
        frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0.0, 1.0, 0.0]})
        mlflow.log_input(mlflow.data.from_pandas(frame, name="train"), context="training")
        mlflow.log_input(mlflow.data.from_pandas(frame.head(2), name="eval"), context="eval")
        mlflow.log_text("hello", "notes/readme.txt")
        mlflow.log_dict({"a": 1}, "config.json")
        blob = root / "model.bin"
        blob.write_bytes(os.urandom(200_000))
        mlflow.log_artifact(str(blob), "models")
        with mlflow.start_run(experiment_id=vision, run_name="child", nested=True) as child:
            ids["child"] = child.info.run_id
            mlflow.log_metric("m", 1.0)
            mlflow.log_param("p", "child")

    with mlflow.start_run(experiment_id=vision, run_name="failed") as run:
        ids["failed"] = run.info.run_id
        mlflow.log_metric("loss", 3.0)
        mlflow.end_run("FAILED")

    with mlflow.start_run(experiment_id=nlp, run_name="deleted") as run:
        ids["deleted"] = run.info.run_id
        mlflow.log_param("a", "b")
    mlflow.MlflowClient().delete_run(ids["deleted"])

    ids["running"] = mlflow.MlflowClient().create_run(nlp, run_name="still-running").info.run_id
    mlflow.MlflowClient().log_metric(ids["running"], "progress", 0.1, step=1)

    with mlflow.start_run(experiment_id="0", run_name="in-default") as run:
        ids["default"] = run.info.run_id
        mlflow.log_metric("x", 1.0)

    with mlflow.start_run(experiment_id=old, run_name="in-deleted-experiment") as run:
        ids["old"] = run.info.run_id
    mlflow.delete_experiment(old)
    mlflow.MlflowClient().create_registered_model("classifier")  # see test_import_registry.py
    return ids


def log_increment(uri: str, ids: dict[str, str], root: Path) -> str:
    """What users log after a first import; returns the id of the new run."""
    import pandas as pd

    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient()
    long = ids["long"]
    more = [
        mlflow.entities.Metric("loss", -1.0 * i, T0 + 10 * (HISTORY_POINTS + i), HISTORY_POINTS + i)
        for i in range(100)
    ]
    # The same point again (MLflow ignores exact duplicates) and one with a new value at an old
    # step and time: cairn must add only the latter.
    more.append(mlflow.entities.Metric("loss", 1.0, T0, 0))
    more.append(mlflow.entities.Metric("loss", 42.0, T0, 0))
    client.log_batch(long, metrics=more)
    client.log_metric(long, "new_key", 7.0, step=3)
    client.set_tag(long, "owner", "bo")
    client.set_tag(long, "added", "later")
    client.log_param(long, "late_param", "1")
    client.log_text(long, "more", "notes/later.txt")
    with mlflow.start_run(run_id=long):
        frame = pd.DataFrame({"z": [1.0]})
        mlflow.log_input(mlflow.data.from_pandas(frame, name="extra"), context="test")
    client.set_terminated(ids["running"], "KILLED")
    client.delete_run(ids["failed"])
    exp = client.get_experiment_by_name("nlp")
    with mlflow.start_run(experiment_id=exp.experiment_id, run_name="new") as run:
        mlflow.log_metric("fresh", 1.0)
    client.set_experiment_tag(exp.experiment_id, "added", "yes")
    return run.info.run_id


# ----------------------------------------------------------------------------- comparison


def _num(value: float) -> Any:
    return "NaN" if math.isnan(value) else value


def _history(points: list[Any]) -> list[tuple[int, int, Any]]:
    return sorted(((p.step, p.timestamp, _num(p.value)) for p in points), key=str)


def assert_same(source_uri: str, dest: TrackingClient, *, artifacts: bool = True) -> int:
    """Everything MLflow reads from the source, cairn reads from the destination; returns the
    number of runs compared."""
    src = mlflow.MlflowClient(source_uri)
    experiments = src.search_experiments(view_type=mlflow.entities.ViewType.ALL)
    runs = 0
    for exp in experiments:
        mine = dest.get_experiment(exp.experiment_id)  # ids are kept on a fresh destination
        assert (mine.name, mine.lifecycle_stage) == (exp.name, exp.lifecycle_stage)
        assert {**exp.tags, **mine.tags} == mine.tags, "source experiment tags are all there"
        for run in src.search_runs(
            [exp.experiment_id], run_view_type=mlflow.entities.ViewType.ALL, max_results=1000
        ):
            runs += 1
            assert_same_run(src, dest, run, artifacts)
    return runs


def assert_same_run(src: Any, dest: TrackingClient, run: Any, artifacts: bool) -> None:
    info = run.info
    got = dest.get_run(info.run_id)
    assert (
        got.info.experiment_id,
        got.info.run_name,
        got.info.user_id,
        got.info.status,
        got.info.start_time,
        got.info.end_time,
        got.info.lifecycle_stage,
    ) == (
        info.experiment_id,
        info.run_name,
        info.user_id,
        info.status,
        info.start_time,
        info.end_time,
        info.lifecycle_stage,
    )
    assert got.data.params == run.data.params
    assert got.data.tags == run.data.tags
    assert got.data.metrics.keys() == run.data.metrics.keys()
    for key, value in run.data.metrics.items():
        # Latest values come from the store's JSON summary, which on SQLite keeps 16 digits
        # for a few values (±max float among them): a store matter, so allow for that.
        mine = got.data.metrics[key]
        assert _num(mine) == _num(value) or math.isclose(mine, value, rel_tol=1e-15), key
    for key in run.data.metrics:
        theirs = _history(src.get_metric_history(info.run_id, key))
        assert _history(dest.get_metric_history(info.run_id, key)) == theirs, key
    assert _inputs(got.inputs.dataset_inputs) == _inputs(run.inputs.dataset_inputs)
    if artifacts:
        with_files = src.list_artifacts(info.run_id)
        theirs_dir = Path(src.download_artifacts(info.run_id, "")) if with_files else None
        mine = dest.list_artifacts(info.run_id)
        assert bool(mine) == bool(with_files)
        if theirs_dir is not None:
            mine_dir = Path(dest.download_artifacts(info.run_id, ""))
            assert_same_tree(theirs_dir, mine_dir)


def _inputs(inputs: list[Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            d.dataset.name,
            d.dataset.digest,
            d.dataset.source_type,
            d.dataset.source,
            d.dataset.schema,
            d.dataset.profile,
            tuple(sorted((t.key, t.value) for t in d.tags)),
        )
        for d in inputs
    )


def assert_same_tree(a: Path, b: Path) -> None:
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


def table_counts(db_uri: str) -> dict[str, int]:
    tables = ("runs", "params", "tags", "metric_chunks", "datasets", "inputs", "input_tags")
    with read_transaction(get_engine(db_uri)) as conn:
        counts = {
            name: conn.execute(select(func.count()).select_from(schema.metadata.tables[name]))
            for name in tables
        }
        counts = {k: v.scalar_one() for k, v in counts.items()}
        counts["points"] = conn.execute(select(func.sum(schema.metric_chunks.c.n))).scalar_one()
    return counts


# ----------------------------------------------------------------------------- the SQL source


def test_import_round_trip_re_run_and_increment(
    mlflow_db: str, db_uri: str, tmp_path: Path, artifact_root: Path, use_mlflow: Any
) -> None:
    ids = populate(mlflow_db, tmp_path, artifacts_under=tmp_path / "mlflow-artifacts")
    source_file = Path(mlflow_db.removeprefix("sqlite:///"))
    source_bytes = source_file.read_bytes()

    first = cairn_import("--from", mlflow_db, "--to", db_uri)
    assert summary(first)["runs"] == "7 new, 0 updated, 0 unchanged"
    assert summary(first)["experiments"] == "3 new, 0 updated, 1 unchanged"
    assert "Traceback" not in first.output
    assert summary(first)["registered models"] == "1 new, 0 updated, 0 unchanged"
    assert "Not imported" not in first.stderr
    assert source_file.read_bytes() == source_bytes, "the source must never be written"
    dest = TrackingClient(db_uri)
    assert assert_same(mlflow_db, dest) == 7
    long = dest.get_run(ids["long"])
    big = dest.get_metric_history(ids["long"], "big")
    assert [m.value for m in big] == [sys.float_info.max, -sys.float_info.max]  # MLflow clamps
    assert math.isnan(long.data.metrics["nan_last"])
    assert len(dest.get_metric_history_columns(ids["long"], "loss")) == HISTORY_POINTS
    assert long.info.artifact_uri.startswith(str(artifact_root))
    assert dest.get_run(ids["child"]).data.tags["mlflow.parentRunId"] == ids["long"]

    counts = table_counts(db_uri)
    again = cairn_import("--from", mlflow_db, "--to", db_uri)
    assert summary(again)["runs"] == "0 new, 0 updated, 7 unchanged"
    assert summary(again)["metric points"] == "0"
    assert summary(again)["artifact files"] == "0 (0 B)"
    assert table_counts(db_uri) == counts
    assert_same(mlflow_db, dest)

    new_run = log_increment(mlflow_db, ids, tmp_path)
    third = cairn_import("--from", mlflow_db, "--to", db_uri)
    rows = summary(third)
    assert rows["runs"] == "1 new, 3 updated, 4 unchanged", third.output
    # 100 new loss points, one loss point with a new value, new_key, and the new run's metric.
    assert rows["metric points"] == "103"
    assert rows["artifact files"].startswith("1 ")
    assert_same(mlflow_db, dest)
    assert dest.get_run(new_run).info.run_name == "new"
    assert rows["experiments"] == "0 new, 1 updated, 3 unchanged"
    assert dest.get_experiment_by_name("nlp").tags["added"] == "yes"  # type: ignore[union-attr]
    assert len(dest.get_metric_history_columns(ids["long"], "loss")) == HISTORY_POINTS + 101

    counts = table_counts(db_uri)
    assert summary(cairn_import("--from", mlflow_db, "--to", db_uri))["runs"] == (
        "0 new, 0 updated, 8 unchanged"
    )
    assert table_counts(db_uri) == counts


def test_import_into_existing_experiments_by_name(
    mlflow_db: str, sqlite_uri: str, tmp_path: Path, artifact_root: Path, use_mlflow: Any
) -> None:
    """Experiments match by name (ids then differ); the default experiment maps to "0"."""
    dest = TrackingClient(sqlite_uri)
    dest.create_experiment("placeholder-1")
    dest.create_experiment("placeholder-2")
    nlp = dest.create_experiment("nlp", tags={"mine": "yes"})
    ids = populate(mlflow_db, tmp_path, artifacts_under=tmp_path / "mlflow-artifacts")
    result = cairn_import("--from", mlflow_db, "--to", sqlite_uri, "--no-artifacts")
    assert summary(result)["experiments"] == "2 new, 0 updated, 2 unchanged"
    assert summary(result)["artifact files"] == "0 (0 B)"
    assert dest.get_run(ids["running"]).info.experiment_id == nlp
    assert dest.get_experiment(nlp).tags == {"mine": "yes"}
    assert dest.get_run(ids["default"]).info.experiment_id == "0"
    vision = dest.get_experiment_by_name("vision")
    assert vision is not None and vision.experiment_id not in ("1", "2")  # taken: a new id
    assert dest.get_run(ids["long"]).info.experiment_id == vision.experiment_id
    assert dest.list_artifacts(ids["long"]) == []
    # Artifacts left out the first time come with a later import.
    again = cairn_import("--from", mlflow_db, "--to", sqlite_uri)
    assert summary(again)["artifact files"].startswith("3 ")
    assert summary(again)["runs"] == "0 new, 0 updated, 7 unchanged"
    assert {f.path for f in dest.list_artifacts(ids["long"])} == {
        "config.json",
        "models",
        "notes",
    }


def test_experiment_filter_and_dry_run(
    mlflow_db: str, sqlite_uri: str, tmp_path: Path, artifact_root: Path, use_mlflow: Any
) -> None:
    ids = populate(mlflow_db, tmp_path, artifacts_under=tmp_path / "mlflow-artifacts")
    dest_file = Path(sqlite_uri.removeprefix("sqlite:///"))

    plan = cairn_import("--from", mlflow_db, "--to", sqlite_uri, "--dry-run")
    assert summary(plan)["runs"] == "7 new, 0 updated, 0 unchanged"
    assert summary(plan)["metric points"] == f"{HISTORY_POINTS + 11:,}"
    assert summary(plan)["artifact files"].startswith("3 ")
    assert "nothing was written" in plan.stderr
    assert not dest_file.exists() and not artifact_root.exists()

    only = cairn_import("--from", mlflow_db, "--to", sqlite_uri, "-e", "nlp", "-e", "0")
    assert summary(only)["runs"] == "3 new, 0 updated, 0 unchanged"
    dest = TrackingClient(sqlite_uri)
    assert dest.get_experiment_by_name("vision") is None
    assert dest.get_run(ids["deleted"]).info.lifecycle_stage == "deleted"

    counts = table_counts(sqlite_uri)
    plan = cairn_import("--from", mlflow_db, "--to", sqlite_uri, "--dry-run")
    assert summary(plan)["runs"] == "4 new, 0 updated, 3 unchanged"
    assert table_counts(sqlite_uri) == counts

    missing = cairn_import("--from", mlflow_db, "--to", sqlite_uri, "-e", "nope", ok=False)
    assert missing.exit_code == 1 and "No experiment 'nope'" in missing.stderr
    assert table_counts(sqlite_uri) == counts


@pytest.mark.postgres
def test_import_from_a_postgresql_store(
    postgres_uri: str, sqlite_uri: str, tmp_path: Path, artifact_root: Path, use_mlflow: Any
) -> None:
    """MLflow on PostgreSQL (real booleans, its own float text), read through a read-only
    transaction."""
    mlflow_uri = postgres_uri.replace("postgresql://", "postgresql+psycopg://", 1)
    ids = populate(mlflow_uri, tmp_path, artifacts_under=tmp_path / "mlflow-artifacts")
    first = cairn_import("--from", postgres_uri, "--to", sqlite_uri)
    assert summary(first)["runs"] == "7 new, 0 updated, 0 unchanged"
    dest = TrackingClient(sqlite_uri)
    assert assert_same(mlflow_uri, dest) == 7
    log_increment(mlflow_uri, ids, tmp_path)
    third = cairn_import("--from", postgres_uri, "--to", sqlite_uri)
    assert summary(third)["runs"] == "1 new, 3 updated, 4 unchanged", third.output
    assert summary(third)["metric points"] == "103"
    assert_same(mlflow_uri, dest)


# ----------------------------------------------------------------------------- bad inputs


def _fails(*args: str) -> str:
    result = cairn_import(*args, ok=False)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "Error: " in result.stderr
    return result.stderr


def test_bad_sources_fail_cleanly_and_write_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_uri: str
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    dest_file = Path(sqlite_uri.removeprefix("sqlite:///"))
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE experiments (id INTEGER)")
    (tmp_path / "mlruns").mkdir()
    (tmp_path / "notes.db").write_text("not a database at all\n" * 100)
    cairn_db = tmp_path / "cairn-source.db"
    TrackingClient(f"sqlite:///{cairn_db}").create_experiment("x")

    cases = {
        "ftp://example.com/mlflow": "Cannot import from",
        f"sqlite:///{tmp_path}/missing.db": "file is missing",
        str(tmp_path / "missing.db"): "Cannot import from",
        f"sqlite:///{other}": "not an MLflow tracking database",
        f"sqlite:///{tmp_path}/notes.db": "file is not a database",
        f"sqlite:///{cairn_db}": "is a cairn database",
        str(tmp_path / "mlruns"): "file stores",
        f"http://127.0.0.1:{free_port()}": "Cannot import from the tracking server",
    }
    for source, message in cases.items():
        assert message in _fails("--from", source, "--to", sqlite_uri), source
        assert not dest_file.exists(), source
    assert not (tmp_path / "missing.db").exists()

    assert "same database" in _fails("--from", sqlite_uri, "--to", sqlite_uri)
    assert "writes into a cairn database" in _fails(
        "--from", f"sqlite:///{other}", "--to", "http://localhost:5000"
    )


# ----------------------------------------------------------------------------- the server source


@pytest.mark.slow
def test_import_from_a_tracking_server(
    mlflow_server: LiveServer,
    tmp_path: Path,
    artifact_root: Path,
    use_mlflow: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server source (artifacts through its proxy), then the same server's database as a
    source, whose runs keep ``mlflow-artifacts:/`` URIs: their files come only with
    ``--artifacts-from`` naming the server. One test, since an MLflow server takes ~30 s to
    start here."""
    ids = populate(mlflow_server.url, tmp_path)
    assert (
        mlflow.MlflowClient().get_run(ids["long"]).info.artifact_uri.startswith("mlflow-artifacts:")
    )
    dest_uri = f"sqlite:///{tmp_path}/from-server.db"

    first = cairn_import("--from", mlflow_server.url, "--to", dest_uri)
    assert summary(first)["runs"] == "7 new, 0 updated, 0 unchanged"
    assert summary(first)["registered models"] == "1 new, 0 updated, 0 unchanged"
    dest = TrackingClient(dest_uri)
    assert assert_same(mlflow_server.url, dest) == 7

    counts = table_counts(dest_uri)
    again = cairn_import("--from", mlflow_server.url, "--to", dest_uri)
    assert summary(again)["runs"] == "0 new, 0 updated, 7 unchanged"
    assert table_counts(dest_uri) == counts

    new_run = log_increment(mlflow_server.url, ids, tmp_path)
    third = cairn_import("--from", mlflow_server.url, "--to", dest_uri)
    assert summary(third)["runs"] == "1 new, 3 updated, 4 unchanged", third.output
    assert summary(third)["metric points"] == "103"
    assert_same(mlflow_server.url, dest)
    assert dest.get_run(new_run).info.status == "FINISHED"

    monkeypatch.setenv("CAIRN_ARTIFACT_ROOT", str(tmp_path / "second-artifacts"))
    server_db = f"sqlite:///{mlflow_server.root}/mlflow.db"
    db_dest_uri = f"sqlite:///{tmp_path}/from-database.db"
    without = cairn_import("--from", server_db, "--to", db_dest_uri)
    assert "--artifacts-from" in without.stderr
    db_dest = TrackingClient(db_dest_uri)
    assert db_dest.list_artifacts(ids["long"]) == []
    assert_same(mlflow_server.url, db_dest, artifacts=False)
    with_files = cairn_import(
        "--from", server_db, "--to", db_dest_uri, "--artifacts-from", mlflow_server.url
    )
    assert summary(with_files)["artifact files"].startswith("4 ")
    assert summary(with_files)["runs"] == "0 new, 0 updated, 8 unchanged"
    assert_same(mlflow_server.url, db_dest)


# ----------------------------------------------------------------------------- the writer alone


def _source_run(run_id: str, **changes: Any) -> Any:
    from cairn.importer.sources import SourceRun

    fields: dict[str, Any] = {
        "run_id": run_id,
        "experiment_id": "0",
        "name": "r",
        "user_id": "u",
        "status": "FINISHED",
        "start_time": 1,
        "end_time": 2,
        "lifecycle_stage": "active",
        "deleted_time": None,
        "artifact_uri": "",
        "params": {"p": "1"},
        "tags": {"mlflow.runName": "r"},
        "inputs": [],
        "metric_keys": ["m"],
    }
    return SourceRun(**{**fields, **changes})


def _columns(*points: tuple[int, int, float]) -> Any:
    from cairn.store.tracking.columns import MetricColumns

    cols = MetricColumns()
    for step, timestamp, value in points:
        cols.append(value, timestamp, step)
    return cols


def test_writer_merges_a_grown_run(db_uri: str, artifact_root: Path) -> None:
    """Params keep cairn's value (with a warning), tags update, and only missing points are
    added, NaN and repeated points included (a multiset comparison)."""
    from cairn.importer.writer import CairnWriter
    from cairn.store.tracking.sql import SqlTrackingStore

    writer = CairnWriter(SqlTrackingStore(db_uri))
    run_id = "a" * 32
    nan = float("nan")
    first = writer.import_run(
        _source_run(run_id), "0", {"m": _columns((0, 10, 1.0), (1, 11, nan), (1, 11, nan))}
    )
    assert (first.created, first.params, first.metric_points) == (True, 1, 3)

    grown = _source_run(
        run_id,
        params={"p": "2", "q": "3"},
        tags={"mlflow.runName": "r", "t": "new"},
        status="KILLED",
    )
    points = _columns((0, 10, 1.0), (1, 11, nan), (1, 11, nan), (1, 11, nan), (2, 9, 5.0))
    second = writer.import_run(grown, "0", {"m": points})
    assert (second.created, second.info_changed, second.params, second.tags) == (
        False,
        True,
        1,
        1,
    )
    assert second.metric_points == 2
    assert any("param 'p'" in w for w in second.warnings)

    dest = TrackingClient(db_uri)
    run = dest.get_run(run_id)
    assert run.data.params == {"p": "1", "q": "3"}
    assert run.data.tags == {"mlflow.runName": "r", "t": "new"}
    assert run.info.status == "KILLED"
    assert run.data.metrics == {"m": 5.0}  # the highest step wins, whatever its time
    history = _history(dest.get_metric_history(run_id, "m"))
    assert history == _history(
        [mlflow.entities.Metric("m", v, t, s) for s, t, v in zip(*_points(points), strict=True)]
    )
    third = writer.import_run(grown, "0", {"m": points})
    assert not third.changed


def _points(cols: Any) -> tuple[list[int], list[int], list[float]]:
    return list(cols.steps), list(cols.timestamps), list(cols.values)
