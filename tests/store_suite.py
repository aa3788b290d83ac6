"""The tracking store suite: every rule a TrackingStore keeps, whatever keeps the data.

Test modules make it run against one backend by star-importing it and defining three fixtures:
``store`` (a fresh, empty store), ``artifact_root`` (the root new experiments' artifact
locations are under) and ``sql_only`` (a no-op, or a skip for stores without SQL tables to
inspect).
"""

from __future__ import annotations

import math
import re

import pytest
from sqlalchemy import func, select

from cairn.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag, ViewType
from cairn.errors import CairnError
from cairn.store.artifacts.paths import join_uri
from cairn.store.db import schema
from cairn.store.tracking.columns import MetricColumns
from cairn.store.tracking.protocol import ExperimentKeys, ExperimentSummary, TrackingStore
from cairn.store.tracking.sql import SMALL_CHUNK_POINTS

mc = schema.metric_chunks


@pytest.fixture
def run_id(store: TrackingStore) -> str:
    eid = store.create_experiment("exp")
    return store.create_run(eid, "alice", None, {}, "r1").info.run_id


def error_code(exc_info: pytest.ExceptionInfo[CairnError]) -> str:
    return exc_info.value.error_code


# ---------------------------------------------------------------- experiments


def test_default_experiment_exists(store: TrackingStore, artifact_root: str) -> None:
    default = store.get_experiment("0")
    assert default.name == "Default"
    assert default.lifecycle_stage == "active"
    assert default.artifact_location == join_uri(artifact_root, "0")


def test_create_and_get_experiment(store: TrackingStore, artifact_root: str) -> None:
    eid = store.create_experiment("iris", tags={"team": "cv"})
    exp = store.get_experiment(eid)
    assert (exp.name, exp.tags) == ("iris", {"team": "cv"})
    assert exp.artifact_location == join_uri(artifact_root, eid)
    assert store.get_experiment_by_name("iris") == exp
    assert store.get_experiment_by_name("nope") is None
    assert exp.creation_time and exp.creation_time == exp.last_update_time


def test_duplicate_experiment_name_is_rejected(store: TrackingStore) -> None:
    store.create_experiment("iris")
    with pytest.raises(CairnError, match="'iris' already exists") as exc:
        store.create_experiment("iris")
    assert error_code(exc) == "RESOURCE_ALREADY_EXISTS"


@pytest.mark.parametrize("name", ["", "   ", "x" * 501, 7, None])
def test_bad_experiment_names(store: TrackingStore, name: object) -> None:
    with pytest.raises(CairnError) as exc:
        store.create_experiment(name)  # type: ignore[arg-type]
    assert error_code(exc) == "INVALID_PARAMETER_VALUE"
    assert [e.name for e in store.search_experiments(ViewType.ALL)] == ["Default"]


@pytest.mark.parametrize("bad_id", ["999", "abc", "-1", ""])
def test_unknown_or_malformed_experiment_id(store: TrackingStore, bad_id: str) -> None:
    with pytest.raises(CairnError) as exc:
        store.get_experiment(bad_id)
    expected = "RESOURCE_DOES_NOT_EXIST" if bad_id.isdigit() else "INVALID_PARAMETER_VALUE"
    assert error_code(exc) == expected


def test_rename_experiment(store: TrackingStore) -> None:
    eid = store.create_experiment("a")
    store.create_experiment("taken")
    store.rename_experiment(eid, "b")
    assert store.get_experiment(eid).name == "b"
    with pytest.raises(CairnError, match="already exists"):
        store.rename_experiment(eid, "taken")
    with pytest.raises(CairnError):
        store.rename_experiment(eid, "")
    assert store.get_experiment(eid).name == "b"


def test_delete_and_restore_experiment_with_its_runs(store: TrackingStore) -> None:
    eid = store.create_experiment("a")
    kept_deleted = store.create_run(eid, "u", None, {}, "deleted-before").info.run_id
    store.delete_run(kept_deleted)
    live = store.create_run(eid, "u", None, {}, "live").info.run_id
    store.delete_experiment(eid)
    assert store.get_experiment(eid).lifecycle_stage == "deleted"
    assert store.get_run(live).info.lifecycle_stage == "deleted"
    with pytest.raises(CairnError, match="deleted"):
        store.create_run(eid, "u", None, {}, None)
    with pytest.raises(CairnError, match="deleted"):
        store.rename_experiment(eid, "z")
    with pytest.raises(CairnError, match="already deleted"):
        store.delete_experiment(eid)
    store.restore_experiment(eid)
    assert store.get_experiment(eid).lifecycle_stage == "active"
    assert store.get_run(live).info.lifecycle_stage == "active"
    # A run deleted on its own before the experiment stays deleted.
    assert store.get_run(kept_deleted).info.lifecycle_stage == "deleted"
    with pytest.raises(CairnError, match="not deleted"):
        store.restore_experiment(eid)


def test_default_experiment_cannot_be_deleted(store: TrackingStore) -> None:
    with pytest.raises(CairnError, match="default experiment"):
        store.delete_experiment("0")


def test_experiment_tags(store: TrackingStore) -> None:
    eid = store.create_experiment("a")
    store.set_experiment_tag(eid, "k", "v1")
    store.set_experiment_tag(eid, "k", "v2")
    assert store.get_experiment(eid).tags == {"k": "v2"}
    store.delete_experiment_tag(eid, "k")
    assert store.get_experiment(eid).tags == {}
    with pytest.raises(CairnError) as exc:
        store.delete_experiment_tag(eid, "k")
    assert error_code(exc) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(CairnError):
        store.set_experiment_tag(eid, "../x", "v")


# ---------------------------------------------------------------- runs


def test_create_run_generates_a_name_and_keeps_tag_in_sync(store: TrackingStore) -> None:
    run = store.create_run("0", "alice", 1234, {"team": "cv"}, None)
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d{1,3}", run.info.run_name)
    fetched = store.get_run(run.info.run_id)
    assert fetched.info.run_name == run.info.run_name
    assert fetched.data.tags == {
        "team": "cv",
        "mlflow.runName": run.info.run_name,
        "mlflow.user": "alice",
    }
    assert (fetched.info.status, fetched.info.start_time, fetched.info.end_time) == (
        "RUNNING",
        1234,
        None,
    )
    assert fetched.info.artifact_uri.endswith(f"/0/{run.info.run_id}/artifacts")


def test_run_name_from_tag_and_conflict(store: TrackingStore) -> None:
    run = store.create_run("0", "u", None, {"mlflow.runName": "from-tag"}, None)
    assert run.info.run_name == "from-tag"
    with pytest.raises(CairnError, match="differ"):
        store.create_run("0", "u", None, {"mlflow.runName": "a"}, "b")


def test_renaming_a_run_by_tag_or_update(store: TrackingStore, run_id: str) -> None:
    store.log_batch(run_id, tags=[RunTag("mlflow.runName", "by-tag")])
    assert store.get_run(run_id).info.run_name == "by-tag"
    info = store.update_run_info(run_id, run_name="by-update")
    assert info.run_name == "by-update"
    assert store.get_run(run_id).data.tags["mlflow.runName"] == "by-update"


def test_update_run_status(store: TrackingStore, run_id: str) -> None:
    info = store.update_run_info(run_id, status="FINISHED", end_time=99)
    assert (info.status, info.end_time) == ("FINISHED", 99)
    with pytest.raises(CairnError, match="Invalid run status"):
        store.update_run_info(run_id, status="DONE")
    assert store.get_run(run_id).info.status == "FINISHED"


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ("0123456789abcdef0123456789abcdef", "RESOURCE_DOES_NOT_EXIST"),
        ("../x", "INVALID_PARAMETER_VALUE"),
    ],
)
def test_unknown_run(store: TrackingStore, bad: str, code: str) -> None:
    for call in (
        lambda: store.get_run(bad),
        lambda: store.log_batch(bad, metrics=[Metric("m", 1.0, 1, 0)]),
        lambda: store.get_metric_history(bad, "m"),
        lambda: store.delete_run(bad),
    ):
        with pytest.raises(CairnError) as exc:
            call()
        assert error_code(exc) == code


def test_deleted_run_refuses_writes_until_restored(store: TrackingStore, run_id: str) -> None:
    store.delete_run(run_id)
    assert store.get_run(run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(CairnError, match="deleted"):
        store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)])
    store.restore_run(run_id)
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)])
    assert store.get_run(run_id).data.metrics == {"m": 1.0}


# ---------------------------------------------------------------- params, tags


def test_params_are_immutable_and_a_refused_batch_writes_nothing(
    store: TrackingStore, run_id: str
) -> None:
    store.log_batch(run_id, params=[Param("lr", "0.1")])
    store.log_batch(run_id, params=[Param("lr", "0.1")])  # same value again is fine
    with pytest.raises(CairnError, match="Changing param values is not allowed") as exc:
        store.log_batch(
            run_id,
            metrics=[Metric("loss", 1.0, 1, 0)],
            params=[Param("depth", "3"), Param("lr", "0.2")],
            tags=[RunTag("t", "v")],
        )
    assert error_code(exc) == "INVALID_PARAMETER_VALUE"
    data = store.get_run(run_id).data
    assert data.params == {"lr": "0.1"}
    assert data.metrics == {}
    assert "t" not in data.tags
    assert store.get_metric_history(run_id, "loss") == []


def test_conflicting_params_inside_one_batch(store: TrackingStore, run_id: str) -> None:
    with pytest.raises(CairnError, match="appears twice"):
        store.log_batch(run_id, params=[Param("a", "1"), Param("a", "2")])


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("metric key", lambda: {"metrics": [Metric("a/../b", 1.0, 1, 0)]}),
        ("metric value", lambda: {"metrics": [Metric("m", "abc", 1, 0)]}),  # type: ignore[arg-type]
        ("metric step", lambda: {"metrics": [Metric("m", 1.0, 1, 1.5)]}),  # type: ignore[arg-type]
        ("param value", lambda: {"params": [Param("p", "x" * 6001)]}),
        ("param key", lambda: {"params": [Param("/abs", "1")]}),
        ("tag value", lambda: {"tags": [RunTag("t", "x" * 8001)]}),
        ("tag key", lambda: {"tags": [RunTag("bad*key", "1")]}),
        ("long key", lambda: {"tags": [RunTag("k" * 251, "1")]}),
    ],
)
def test_bad_batches_raise_and_write_nothing(
    store: TrackingStore, run_id: str, kind: str, make
) -> None:
    batch = make()
    batch.setdefault("metrics", []).append(Metric("good", 1.0, 1, 0))
    with pytest.raises(CairnError) as exc:
        store.log_batch(run_id, **batch)
    assert error_code(exc) == "INVALID_PARAMETER_VALUE", kind
    assert store.get_run(run_id).data.metrics == {}


def test_tags_overwrite_and_delete(store: TrackingStore, run_id: str) -> None:
    store.log_batch(run_id, tags=[RunTag("t", "1")])
    store.log_batch(run_id, tags=[RunTag("t", "2")])
    assert store.get_run(run_id).data.tags["t"] == "2"
    store.delete_tag(run_id, "t")
    assert "t" not in store.get_run(run_id).data.tags
    with pytest.raises(CairnError) as exc:
        store.delete_tag(run_id, "t")
    assert error_code(exc) == "RESOURCE_DOES_NOT_EXIST"


# ---------------------------------------------------------------- metrics


def test_special_float_values_round_trip(store: TrackingStore, run_id: str) -> None:
    points = [("nan", math.nan), ("inf", math.inf), ("ninf", -math.inf), ("tiny", 5e-324)]
    store.log_batch(run_id, metrics=[Metric(k, v, 10, 0) for k, v in points])
    latest = store.get_run(run_id).data.metrics
    assert math.isnan(latest["nan"])
    assert latest["inf"] == math.inf and latest["ninf"] == -math.inf
    assert latest["tiny"] == 5e-324
    assert math.isnan(store.get_metric_history(run_id, "nan")[0].value)


def test_latest_metric_is_highest_step_then_latest_timestamp(
    store: TrackingStore, run_id: str
) -> None:
    store.log_batch(
        run_id,
        metrics=[Metric("m", 1.0, 100, 5), Metric("m", 2.0, 50, 7), Metric("m", 3.0, 60, 7)],
    )
    assert store.get_run(run_id).data.metrics["m"] == 3.0
    store.log_batch(run_id, metrics=[Metric("m", 4.0, 999, 6)])  # lower step: not latest
    assert store.get_run(run_id).data.metrics["m"] == 3.0
    store.log_batch(run_id, metrics=[Metric("m", 5.0, 60, 7)])  # same step and time: newest wins
    assert store.get_run(run_id).data.metrics["m"] == 5.0


def test_history_is_ordered_by_timestamp_then_step(store: TrackingStore, run_id: str) -> None:
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 30, 1), Metric("m", 2.0, 10, 2)])
    store.log_batch(run_id, metrics=[Metric("m", 3.0, 10, 1), Metric("m", 4.0, 20, 0)])
    history = store.get_metric_history(run_id, "m")
    assert [(m.timestamp, m.step, m.value) for m in history] == [
        (10, 1, 3.0),
        (10, 2, 2.0),
        (20, 0, 4.0),
        (30, 1, 1.0),
    ]
    assert store.get_metric_history(run_id, "missing") == []


@pytest.mark.usefixtures("sql_only")
def test_point_by_point_history_is_compacted_into_few_chunks(
    store: TrackingStore, run_id: str
) -> None:
    n = 2 * SMALL_CHUNK_POINTS + 100
    for i in range(n):
        store.log_batch(run_id, metrics=[Metric("m", float(i), 1000 + i, i)])
    history = store.get_metric_history_columns(run_id, "m")
    assert history.values.tolist() == [float(i) for i in range(n)]
    with store.engine.connect() as conn:
        chunks = conn.execute(select(mc.c.n).order_by(mc.c.chunk_id)).scalars().all()
    assert chunks == [SMALL_CHUNK_POINTS, SMALL_CHUNK_POINTS, 100]


@pytest.mark.usefixtures("sql_only")
def test_appends_top_up_small_tails_only(store: TrackingStore, run_id: str) -> None:
    """Big appends are chunks of their own; small ones fill the tail up to the small size."""
    big = SMALL_CHUNK_POINTS + 1
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, i) for i in range(big)])
    store.log_batch(run_id, metrics=[Metric("m", 2.0, 2, i) for i in range(10)])
    store.log_batch(run_id, metrics=[Metric("m", 3.0, 3, i) for i in range(20)])
    store.log_batch(run_id, metrics=[Metric("m", 4.0, 4, i) for i in range(big)])
    with store.engine.connect() as conn:
        chunks = conn.execute(select(mc.c.n).order_by(mc.c.chunk_id)).scalars().all()
    assert chunks == [big, 30, big]
    assert len(store.get_metric_history(run_id, "m")) == 2 * big + 30


def test_large_columnar_append_round_trips(store: TrackingStore, run_id: str) -> None:
    cols = MetricColumns()
    for i in range(200_000):
        cols.append(i * 0.5, 1_700_000_000_000 + i // 100, i)
    store.log_columns(run_id, {"loss": cols}, {"lr": "0.1"}, {"phase": "train"})
    history = store.get_metric_history_columns(run_id, "loss")
    assert len(history) == 200_000
    assert history.steps[-1] == 199_999 and history.values[-1] == 199_999 * 0.5
    assert history.to_metrics()[10] == Metric("loss", 5.0, 1_700_000_000_000, 10)
    run = store.get_run(run_id)
    assert run.data.metrics["loss"] == 199_999 * 0.5
    assert run.data.params == {"lr": "0.1"}


# ---------------------------------------------------------------- datasets


def test_log_inputs_links_datasets_once(store: TrackingStore, run_id: str) -> None:
    ds = Dataset("train", "abcd1234", "local", '{"uri": "/data"}', '{"cols": []}', "{}")
    context = InputTag("mlflow.data.context", "training")
    store.log_inputs(run_id, [DatasetInput(ds, [context])])
    store.log_inputs(run_id, [DatasetInput(ds, [context])])
    inputs = store.get_run(run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset == ds and inputs[0].tags == [context]
    other = store.create_run(store.get_run(run_id).info.experiment_id, "u", None, {}, None)
    store.log_inputs(other.info.run_id, [DatasetInput(ds)])


@pytest.mark.usefixtures("sql_only")
def test_a_dataset_two_runs_use_is_stored_once(store: TrackingStore, run_id: str) -> None:
    test_log_inputs_links_datasets_once(store, run_id)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.datasets)).scalar_one() == 1


@pytest.mark.parametrize(
    "ds",
    [
        Dataset("", "abc", "local", "{}"),
        Dataset("n", "x" * 37, "local", "{}"),
        Dataset("n", "abc", "", "{}"),
        Dataset("n", "abc", "local", "{}", profile="x" * 20000),
    ],
)
def test_bad_datasets(store: TrackingStore, run_id: str, ds: Dataset) -> None:
    with pytest.raises(CairnError):
        store.log_inputs(run_id, [DatasetInput(ds)])
    assert store.get_run(run_id).inputs.dataset_inputs == []


# ---------------------------------------------------------------- purge


@pytest.mark.usefixtures("sql_only")
def test_purge_deleted_runs_and_experiments(store: TrackingStore) -> None:
    eid = store.create_experiment("gone")
    run = store.create_run(eid, "u", None, {}, None).info.run_id
    store.log_batch(run, metrics=[Metric("m", 1.0, 1, 0)], params=[Param("p", "1")])
    keep = store.create_run("0", "u", None, {}, None).info.run_id
    store.delete_experiment(eid)
    assert store.purge_deleted_runs(older_than_ms=3_600_000) == []
    purged = store.purge_deleted_runs(older_than_ms=0)
    assert [r.info.run_id for r in purged] == [run]
    with pytest.raises(CairnError):
        store.get_run(run)
    assert store.get_run(keep).info.lifecycle_stage == "active"
    assert [e.experiment_id for e in store.purge_deleted_experiments(0)] == [eid]
    with pytest.raises(CairnError):
        store.get_experiment(eid)
    store.create_experiment("gone")  # the name is free again
    with store.engine.connect() as conn:
        for table in (schema.params, schema.latest_metrics, schema.metric_chunks):
            count = conn.execute(select(func.count()).select_from(table)).scalar_one()
            assert count == 0, table.name


@pytest.mark.usefixtures("sql_only")
def test_purge_dry_run_changes_nothing_and_restored_runs_keep_their_experiment(
    store: TrackingStore,
) -> None:
    eid = store.create_experiment("half")
    deleted = store.create_run(eid, "u", None, {}, None).info.run_id
    restored = store.create_run(eid, "u", None, {}, None).info.run_id
    store.delete_experiment(eid)
    store.restore_run(restored)
    assert [r.info.run_id for r in store.purge_deleted_runs(0, dry_run=True)] == [deleted]
    assert store.purge_deleted_experiments(0, dry_run=True) == []  # a live run is inside
    assert store.get_run(deleted).info.lifecycle_stage == "deleted"
    store.delete_run(restored)
    assert [e.name for e in store.purge_deleted_experiments(0, dry_run=True)] == ["half"]
    assert [e.name for e in store.purge_deleted_experiments(0)] == ["half"]
    for run_id in (deleted, restored):
        with pytest.raises(CairnError):
            store.get_run(run_id)


def test_latest_values_are_exact_for_every_double(store: TrackingStore, run_id: str) -> None:
    """Run summaries carry each latest value exactly (SQLite's own float text is not exact)."""
    import random

    rng = random.Random(7)
    values = [rng.uniform(-1e6, 1e6) * 10 ** rng.randint(-300, 300) for _ in range(200)]
    values += [1.7976931348623157e308, -5e-324, 0.1 + 0.2, 1 / 3]
    metrics = [Metric(f"m{i}", v, 1, 0) for i, v in enumerate(values)]
    for start in range(0, len(metrics), 100):
        store.log_batch(run_id, metrics=metrics[start : start + 100])
    run = store.get_run(run_id)
    assert run.data.metrics == {m.key: m.value for m in metrics}
    assert run.data.latest["m0"] == (values[0], 0, 1)  # (value, step, timestamp)


# ---------------------------------------------------------------- bulk reads for the web UI

FAR = 4_000_000_000_000  # run times later than any experiment's own update time


def test_experiment_summaries_count_active_runs_and_latest_activity(store: TrackingStore) -> None:
    busy, empty = store.create_experiment("busy"), store.create_experiment("empty")
    first = store.create_run(busy, "u", FAR, {}, "first").info.run_id
    store.create_run(busy, "u", FAR + 10, {}, "second")
    store.update_run_info(first, status="FINISHED", end_time=FAR + 50)
    gone = store.create_run(busy, "u", FAR + 999, {}, "gone").info.run_id
    store.delete_run(gone)  # neither counted nor active

    by_id = {s.experiment_id: s for s in store.get_experiment_summaries()}
    assert by_id[busy] == ExperimentSummary(busy, 2, FAR + 50)
    quiet = store.get_experiment(empty).last_update_time
    assert by_id[empty] == ExperimentSummary(empty, 0, quiet)
    assert "0" in by_id
    assert store.get_experiment_summaries([empty, "987654"]) == [by_id[empty]]
    assert store.get_experiment_summaries([]) == []
    with pytest.raises(CairnError) as exc:
        store.get_experiment_summaries(["one"])
    assert error_code(exc) == "INVALID_PARAMETER_VALUE"


def test_experiment_keys_are_the_distinct_sorted_keys_of_active_runs(
    store: TrackingStore,
) -> None:
    e1, e2 = store.create_experiment("k1"), store.create_experiment("k2")
    r1 = store.create_run(e1, "", None, {"team": "x"}, "r1").info.run_id
    store.log_batch(r1, [Metric("loss", 1.0, 0, 0)], [Param("lr", "0.1"), Param("b", "2")])
    r2 = store.create_run(e1, "", None, {}, "r2").info.run_id
    store.log_batch(r2, [Metric("loss", 2.0, 0, 0)], [Param("lr", "0.2")])
    r3 = store.create_run(e2, "", None, {}, "r3").info.run_id
    store.log_batch(r3, [Metric("acc", 0.5, 0, 0)], [Param("depth", "3")])
    gone = store.create_run(e1, "", None, {"secret": "1"}, "gone").info.run_id
    store.log_batch(gone, [Metric("hidden", 1.0, 0, 0)], [Param("hidden", "1")])
    store.delete_run(gone)

    keys = store.get_experiment_keys([e1])
    assert (keys.params, keys.metrics) == (["b", "lr"], ["loss"])
    assert "team" in keys.tags and "mlflow.runName" in keys.tags and "secret" not in keys.tags
    assert keys.tags == sorted(keys.tags)
    both = store.get_experiment_keys([e1, e2])
    assert (both.params, both.metrics) == (["b", "depth", "lr"], ["acc", "loss"])
    assert store.get_experiment_keys([]) == ExperimentKeys([], [], [])


def _same(a: list[object], b: list[object]) -> bool:
    """Lists equal, NaN equal to NaN."""
    return len(a) == len(b) and all(
        x == y or (isinstance(x, float) and isinstance(y, float) and x != x and y != y)
        for x, y in zip(a, b, strict=True)
    )


def test_run_table_is_search_runs_as_columns(store: TrackingStore) -> None:
    eid = store.create_experiment("table")
    parent = store.create_run(eid, "alice", FAR, {"team": "red"}, "parent").info.run_id
    store.log_batch(parent, [Metric("loss", 0.5, 1, 0)], [Param("lr", "0.1")])
    child = store.create_run(
        eid, "bob", FAR + 1, {"mlflow.parentRunId": parent}, "child"
    ).info.run_id
    store.log_batch(child, [Metric("loss", math.nan, 1, 0), Metric("acc", math.inf, 1, 0)])
    bare = store.create_run(eid, "carol", FAR + 2, {}, "bare").info.run_id
    store.update_run_info(bare, status="FAILED", end_time=FAR + 5)
    gone = store.create_run(eid, "", FAR + 3, {}, "gone").info.run_id
    store.delete_run(gone)

    columns = ["metrics.loss", "metrics.acc", "params.lr", "tags.team", "metrics.none"]
    order = ["metrics.loss DESC"]
    table = store.search_runs_table([eid], columns, order_by=order)
    runs = list(store.search_runs([eid], order_by=order))
    assert table.run_id == [r.info.run_id for r in runs] and len(runs) == 3
    assert table.run_name == [r.info.run_name for r in runs]
    assert table.experiment_id == [eid] * 3
    assert table.status == [r.info.status for r in runs]
    assert table.start_time == [r.info.start_time for r in runs]
    assert table.end_time == [r.info.end_time for r in runs]
    assert table.user_id == [r.info.user_id for r in runs]
    assert table.lifecycle_stage == ["active"] * 3
    assert table.parent_run_id == [r.data.tags.get("mlflow.parentRunId") for r in runs]
    assert set(table.columns) == set(columns)
    for name in columns:
        prefix, key = name.split(".", 1)
        source = {"metrics": "metrics", "params": "params", "tags": "tags"}[prefix]
        expected = [getattr(r.data, source).get(key) for r in runs]
        assert _same(table.columns[name], expected), name
    assert table.columns["metrics.none"] == [None] * 3
    assert table.next_page_token is None

    deleted = store.search_runs_table([eid], ["tags.mlflow.runName"], run_view_type="DELETED_ONLY")
    assert deleted.run_id == [gone] and deleted.columns == {"tags.mlflow.runName": ["gone"]}
    found = store.search_runs_table([eid], [], filter_string="params.lr = '0.1'")
    assert found.run_id == [parent] and found.columns == {}


def test_run_table_pages_cover_the_search_once(store: TrackingStore) -> None:
    eid = store.create_experiment("pages")
    for i in range(7):
        store.create_run(eid, "", FAR + i, {}, f"r{i}")
    whole = store.search_runs_table([eid], ["tags.mlflow.runName"])
    seen: list[str] = []
    token = None
    while True:
        page = store.search_runs_table(
            [eid], ["tags.mlflow.runName"], max_results=3, page_token=token
        )
        seen += page.run_id
        token = page.next_page_token
        if token is None:
            break
    assert seen == whole.run_id and len(seen) == 7
    assert whole.columns["tags.mlflow.runName"] == [f"r{i}" for i in reversed(range(7))]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"filter_string": "metrics.loss >"}, "position 14"),
        ({"columns": ["loss"]}, "Invalid column 'loss'"),
        ({"columns": ["attributes.status"]}, "Invalid column"),
        ({"columns": ["metrics."]}, "Invalid column"),
        ({"order_by": ["metrics.loss SIDEWAYS"]}, "SIDEWAYS"),
        ({"max_results": 50_001}, "max_results"),
        ({"run_view_type": "SOME"}, "view type"),
    ],
)
def test_bad_run_table_requests(store: TrackingStore, kwargs: dict, needle: str) -> None:
    eid = store.create_experiment("bad-table")
    with pytest.raises(CairnError, match=re.escape(needle)) as exc:
        store.search_runs_table([eid], **kwargs)
    assert error_code(exc) == "INVALID_PARAMETER_VALUE"
