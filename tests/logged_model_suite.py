"""The logged-model suite: MLflow 3 logged models as every TrackingStore keeps them.

Test modules make it run against one backend by star-importing it and defining three fixtures:
``store`` (a fresh, empty store), ``engine`` (the database behind it, for what the store API has
no call for: pinning creation times, linking metrics to models) and ``sql_only`` (a no-op, or a
skip for stores that cannot purge).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, update

from cairn.entities import LoggedModelMetric, LoggedModelOutput
from cairn.errors import CairnError
from cairn.store.db import schema
from cairn.store.tracking.protocol import TrackingStore

UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def run_id(store: TrackingStore) -> str:
    return store.create_run("0", "alice", None, {}, "r1").info.run_id


def code_of(exc_info: pytest.ExceptionInfo[CairnError]) -> str:
    return exc_info.value.error_code


def set_created(engine: Engine, model_id: str, ts: int) -> None:
    """Pin a creation time, so orderings do not depend on models made in the same millisecond."""
    lm = schema.logged_models
    with engine.begin() as conn:
        conn.execute(update(lm).where(lm.c.model_id == model_id).values(creation_timestamp=ts))


def add_metric(engine: Engine, model_id: str, run_id: str, **row: object) -> None:
    """Link a metric to a model straight in the table (search tests that need exact rows; the
    logging path is tested by test_run_metrics_naming_a_model_become_its_metrics)."""
    value = row.pop("value")
    nan = isinstance(value, float) and math.isnan(value)
    values = {"step": 0, "timestamp": 1, "dataset_name": None, "dataset_digest": None, **row}
    with engine.begin() as conn:
        conn.execute(
            insert(schema.logged_model_metrics).values(
                model_id=model_id, run_id=run_id, value=None if nan else value, is_nan=nan, **values
            )
        )


# ---------------------------------------------------------------- metrics of a model


def test_run_metrics_naming_a_model_become_its_metrics(store: TrackingStore, run_id: str) -> None:
    from cairn.entities import Metric

    model = store.create_logged_model("0", name="m", source_run_id=run_id)
    store.log_batch(
        run_id,
        metrics=[
            Metric("acc", 0.75, 10, 1, model.model_id, "val", "d1g"),
            Metric("acc", float("nan"), 11, 2, model.model_id),
            Metric("loss", 0.5, 12, 1),  # the run's only
        ],
    )
    got = {(m.key, m.step): m for m in store.get_logged_model(model.model_id).metrics}
    assert set(got) == {("acc", 1), ("acc", 2)}
    assert got[("acc", 1)] == LoggedModelMetric("acc", 0.75, 10, 1, run_id, "val", "d1g")
    assert math.isnan(got[("acc", 2)].value) and got[("acc", 2)].dataset_name is None
    # They are the run's metrics as well.
    history = store.get_metric_history(run_id, "acc")
    assert [m.step for m in history] == [1, 2] and history[0].value == 0.75
    assert store.get_run(run_id).data.metrics["loss"] == 0.5


def test_a_metric_naming_an_unknown_model_writes_nothing(store: TrackingStore, run_id: str) -> None:
    from cairn.entities import Metric

    with pytest.raises(CairnError) as exc:
        store.log_batch(run_id, metrics=[Metric("acc", 0.1, 1, 0, "m-" + "0" * 32)])
    assert code_of(exc) == "RESOURCE_DOES_NOT_EXIST"
    assert store.get_metric_history(run_id, "acc") == []  # no partial write
    assert "acc" not in store.get_run(run_id).data.metrics


# ---------------------------------------------------------------- create and get


def test_create_fills_in_what_mlflow_does(store: TrackingStore) -> None:
    model = store.create_logged_model("0")
    assert re.fullmatch(r"m-[0-9a-f]{32}", model.model_id)
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", model.name)
    assert model.status == "PENDING"
    assert model.experiment_id == "0"
    experiment_root = store.get_experiment("0").artifact_location
    assert model.artifact_location == str(
        Path(experiment_root, "models", model.model_id, "artifacts")
    )
    assert model.creation_timestamp == model.last_updated_timestamp > 0
    assert (model.model_type, model.source_run_id, model.status_message) == (None, None, None)
    assert (model.tags, model.params, model.metrics) == ({}, {}, [])
    assert model.model_uri == f"models:/{model.model_id}"
    assert store.get_logged_model(model.model_id) == model


def test_create_with_everything(store: TrackingStore, run_id: str) -> None:
    model = store.create_logged_model(
        "0",
        name="classifier",
        source_run_id=run_id,
        tags={"stage": "dev", "mlflow.user": "alice"},
        params={"alpha": "0.5", "n": 3},  # type: ignore[dict-item]
        model_type="sklearn",
    )
    assert (model.name, model.source_run_id, model.model_type) == ("classifier", run_id, "sklearn")
    assert model.tags == {"mlflow.user": "alice", "stage": "dev"}
    assert model.params == {"alpha": "0.5", "n": "3"}
    assert store.get_logged_model(model.model_id) == model


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"name": "a/b"}, "INVALID_PARAMETER_VALUE"),
        ({"name": "v1.2"}, "INVALID_PARAMETER_VALUE"),
        ({"name": ""}, "INVALID_PARAMETER_VALUE"),
        ({"name": "x" * 501}, "INVALID_PARAMETER_VALUE"),
        ({"name": 7}, "INVALID_PARAMETER_VALUE"),
        ({"name": "nul\x00"}, "INVALID_PARAMETER_VALUE"),
        ({"model_type": "nul\x00"}, "INVALID_PARAMETER_VALUE"),
        ({"model_type": "t" * 501}, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "999"}, "RESOURCE_DOES_NOT_EXIST"),
        ({"experiment_id": "abc"}, "INVALID_PARAMETER_VALUE"),
        ({"source_run_id": UNKNOWN_RUN}, "RESOURCE_DOES_NOT_EXIST"),
        ({"source_run_id": "not a run id"}, "INVALID_PARAMETER_VALUE"),
        ({"params": {"../up": "1"}}, "INVALID_PARAMETER_VALUE"),
        ({"params": {"p": "v" * 6001}}, "INVALID_PARAMETER_VALUE"),
        ({"tags": {"t": None}}, "INVALID_PARAMETER_VALUE"),
    ],
)
def test_bad_creates_are_refused_and_write_nothing(
    store: TrackingStore, kwargs: dict[str, object], code: str
) -> None:
    kwargs = {"experiment_id": "0", **kwargs}
    with pytest.raises(CairnError) as exc:
        store.create_logged_model(**kwargs)  # type: ignore[arg-type]
    assert code_of(exc) == code
    assert list(store.search_logged_models(["0"])) == []


def test_no_models_in_a_deleted_experiment(store: TrackingStore) -> None:
    eid = store.create_experiment("gone")
    store.delete_experiment(eid)
    with pytest.raises(CairnError, match="deleted") as exc:
        store.create_logged_model(eid)
    assert code_of(exc) == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("model_id", ["m-0123456789abcdef0123456789abcdef", "nope", ""])
def test_unknown_model(store: TrackingStore, model_id: str) -> None:
    with pytest.raises(CairnError, match="not found") as exc:
        store.get_logged_model(model_id)
    assert code_of(exc) == "RESOURCE_DOES_NOT_EXIST"


# ---------------------------------------------------------------- changing a model


@pytest.mark.parametrize(
    ("status", "expected"),
    [("READY", "READY"), ("LOGGED_MODEL_READY", "READY"), (2, "READY"), (3, "FAILED")],
)
def test_finalize_sets_status_and_update_time(
    store: TrackingStore, status: object, expected: str
) -> None:
    model = store.create_logged_model("0")
    done = store.finalize_logged_model(model.model_id, status)  # type: ignore[arg-type]
    assert done.status == expected
    assert done.last_updated_timestamp >= model.creation_timestamp == done.creation_timestamp
    assert store.get_logged_model(model.model_id) == done


@pytest.mark.parametrize("status", ["BOGUS", "LOGGED_MODEL_STATUS_UNSPECIFIED", 0, 9, None, True])
def test_finalize_refuses_unknown_statuses(store: TrackingStore, status: object) -> None:
    model = store.create_logged_model("0")
    with pytest.raises(CairnError, match="Invalid logged model status") as exc:
        store.finalize_logged_model(model.model_id, status)  # type: ignore[arg-type]
    assert code_of(exc) == "INVALID_PARAMETER_VALUE"
    assert store.get_logged_model(model.model_id).status == "PENDING"


def test_params_are_immutable(store: TrackingStore) -> None:
    model_id = store.create_logged_model("0", params={"a": "1"}).model_id
    store.log_logged_model_params(model_id, {"a": "1", "b": "2"})
    with pytest.raises(CairnError, match="Changing param values is not allowed") as exc:
        store.log_logged_model_params(model_id, {"b": "3", "c": "4"})
    assert code_of(exc) == "INVALID_PARAMETER_VALUE"
    assert store.get_logged_model(model_id).params == {"a": "1", "b": "2"}


def test_tags_overwrite_and_delete(store: TrackingStore) -> None:
    model_id = store.create_logged_model("0", tags={"a": "1"}).model_id
    store.set_logged_model_tags(model_id, {"a": "2", "b": "3"})
    assert store.get_logged_model(model_id).tags == {"a": "2", "b": "3"}
    store.delete_logged_model_tag(model_id, "a")
    assert store.get_logged_model(model_id).tags == {"b": "3"}
    with pytest.raises(CairnError, match="No tag 'a'") as exc:
        store.delete_logged_model_tag(model_id, "a")
    assert code_of(exc) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(CairnError) as exc:
        store.set_logged_model_tags(model_id, {"bad/../key": "x"})
    assert code_of(exc) == "INVALID_PARAMETER_VALUE"


def test_a_deleted_model_is_gone_except_when_asked_for(store: TrackingStore) -> None:
    model = store.create_logged_model("0", name="old")
    store.delete_logged_model(model.model_id)
    deleted = store.get_logged_model(model.model_id, allow_deleted=True)
    assert deleted.last_updated_timestamp >= model.last_updated_timestamp
    assert list(store.search_logged_models(["0"])) == []
    for write in (
        lambda: store.get_logged_model(model.model_id),
        lambda: store.delete_logged_model(model.model_id),
        lambda: store.finalize_logged_model(model.model_id, "READY"),
        lambda: store.set_logged_model_tags(model.model_id, {"a": "1"}),
        lambda: store.log_logged_model_params(model.model_id, {"a": "1"}),
    ):
        with pytest.raises(CairnError, match="not found") as exc:
            write()
        assert code_of(exc) == "RESOURCE_DOES_NOT_EXIST"


# ---------------------------------------------------------------- search


@pytest.fixture
def models(store: TrackingStore, engine: Engine, run_id: str) -> dict[str, str]:
    """Four models in experiment 0 (created a, b, c, d in that order) and one elsewhere."""
    other_run = store.create_run("0", "bob", None, {}, "r2").info.run_id
    specs = {
        "a": {"name": "alpha", "source_run_id": run_id, "params": {"lr": "0.1"}},
        "b": {"name": "beta", "source_run_id": run_id, "tags": {"stage": "prod"}},
        "c": {"name": "alpha", "source_run_id": other_run, "model_type": "sklearn"},
        "d": {"name": "Alphabet", "params": {"lr": "0.2"}, "tags": {"stage": "dev"}},
    }
    ids = {}
    for i, (label, spec) in enumerate(specs.items()):
        ids[label] = store.create_logged_model("0", **spec).model_id  # type: ignore[arg-type]
        set_created(engine, ids[label], 1000 + i)
    store.finalize_logged_model(ids["a"], "READY")
    store.finalize_logged_model(ids["b"], "FAILED")
    elsewhere = store.create_experiment("elsewhere")
    ids["x"] = store.create_logged_model(elsewhere, name="alpha").model_id
    ids["run"], ids["other_run"], ids["exp"] = run_id, other_run, elsewhere
    return ids


def found(store: TrackingStore, models: dict[str, str], **kwargs: object) -> list[str]:
    """Labels of the models a search returns, in order."""
    by_id = {v: k for k, v in models.items()}
    kwargs.setdefault("experiment_ids", ["0"])
    return [by_id[m.model_id] for m in store.search_logged_models(**kwargs)]  # type: ignore[arg-type]


def test_search_defaults_to_newest_first(store: TrackingStore, models: dict[str, str]) -> None:
    assert found(store, models) == ["d", "c", "b", "a"]
    assert found(store, models, experiment_ids=[models["exp"]]) == ["x"]
    assert found(store, models, experiment_ids=["0", models["exp"]])[-1] == "a"
    assert found(store, models, experiment_ids=["999"]) == []
    assert found(store, models, experiment_ids=[]) == []


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'alpha'", ["c", "a"]),
        ("name LIKE 'Alpha%'", ["d"]),
        ("name ILIKE 'alpha%'", ["d", "c", "a"]),
        ("name IN ('beta', 'Alphabet')", ["d", "b"]),
        ("source_run_id = '{run}'", ["b", "a"]),
        ("source_run_id IS NULL", ["d"]),
        ("name = 'alpha' AND source_run_id = '{run}'", ["a"]),
        ("status = 'READY'", ["a"]),
        ("status = 'LOGGED_MODEL_UPLOAD_FAILED'", ["b"]),
        ("status IN ('PENDING', 'LOGGED_MODEL_READY')", ["d", "c", "a"]),
        ("params.lr = '0.1'", ["a"]),
        ("params.lr != '0.1'", ["d"]),
        ("tags.stage = 'prod' OR model_type = 'sklearn'", ["c", "b"]),
        ("NOT tags.stage IS NOT NULL", ["c", "a"]),
        ("creation_timestamp >= 1002", ["d", "c"]),
        ("attributes.creation_time < 1001", ["a"]),
        ("model_id = '{a}'", ["a"]),
        ("experiment_id = '0' AND name = 'beta'", ["b"]),
    ],
)
def test_search_filters(
    store: TrackingStore, models: dict[str, str], filter_string: str, expected: list[str]
) -> None:
    assert found(store, models, filter_string=filter_string.format(**models)) == expected


def test_search_by_metrics_and_datasets(
    store: TrackingStore, engine: Engine, models: dict[str, str]
) -> None:
    run = models["run"]
    add_metric(engine, models["a"], run, key="acc", value=0.9, dataset_name="val")
    add_metric(engine, models["a"], run, key="acc", value=0.5, step=1, dataset_name="test")
    add_metric(
        engine, models["b"], run, key="acc", value=0.7, dataset_name="val", dataset_digest="d1"
    )
    add_metric(engine, models["c"], run, key="acc", value=float("nan"))
    assert found(store, models, filter_string="metrics.acc > 0.6") == ["b", "a"]
    assert found(store, models, filter_string="metrics.acc < 0.6") == ["a"]  # any point matches
    assert found(store, models, filter_string="metrics.acc IS NULL") == ["d"]
    on_test = [{"dataset_name": "test"}]
    assert found(store, models, filter_string="metrics.acc > 0.6", datasets=on_test) == []
    assert found(store, models, datasets=[{"dataset_name": "val"}]) == ["b", "a"]
    digest = [{"dataset_name": "val", "dataset_digest": "d1"}]
    assert found(store, models, datasets=digest) == ["b"]
    assert found(store, models, datasets=[*on_test, *digest]) == ["b", "a"]
    model = store.get_logged_model(models["a"])
    assert model.metrics == [
        LoggedModelMetric("acc", 0.9, 1, 0, run, "val"),
        LoggedModelMetric("acc", 0.5, 1, 1, run, "test"),
    ]
    assert math.isnan(store.get_logged_model(models["c"]).metrics[0].value)


def test_search_order_by(store: TrackingStore, engine: Engine, models: dict[str, str]) -> None:
    run = models["run"]
    add_metric(engine, models["a"], run, key="acc", value=0.2, timestamp=1)
    add_metric(engine, models["a"], run, key="acc", value=0.9, timestamp=2)  # latest counts
    add_metric(engine, models["b"], run, key="acc", value=0.5, dataset_name="val")
    add_metric(engine, models["c"], run, key="acc", value=float("nan"))

    def order(*clauses: dict[str, object], filter_string: str | None = None) -> list[str]:
        return found(store, models, order_by=list(clauses), filter_string=filter_string)

    assert order({"field_name": "creation_timestamp"}) == ["a", "b", "c", "d"]
    assert order({"field_name": "creation_timestamp", "ascending": False}) == ["d", "c", "b", "a"]
    # Names differing only in case sort by the database's collation: leave "Alphabet" out.
    lower = "name != 'Alphabet'"
    by_name = {"field_name": "name", "ascending": False}
    assert order(by_name, filter_string=lower) == ["b", "c", "a"]  # ties: newest first
    assert order(by_name, {"field_name": "creation_time"}, filter_string=lower) == ["b", "a", "c"]
    assert order({"field_name": "name DESC"}, filter_string=lower) == ["b", "c", "a"]
    # NaN and missing metrics come last in both directions.
    assert order({"field_name": "metrics.acc"}) == ["b", "a", "d", "c"]
    assert order({"field_name": "metrics.acc", "ascending": False}) == ["a", "b", "d", "c"]
    by_val = {"field_name": "metrics.acc", "dataset_name": "val", "ascending": False}
    assert order(by_val)[:1] == ["b"]


@pytest.mark.parametrize(
    "clause",
    [
        {"field_name": "params.lr"},
        {"field_name": "tags.stage"},
        {"field_name": "bogus"},
        {"field_name": ""},
        {},
        {"field_name": "name", "ascending": "yes"},
        {"field_name": "name", "dataset_name": "val"},
        {"field_name": "metrics.acc", "dataset_digest": "d1"},
        "name",
    ],
)
def test_bad_order_by(store: TrackingStore, clause: object) -> None:
    with pytest.raises(CairnError) as exc:
        store.search_logged_models(["0"], order_by=[clause])  # type: ignore[list-item]
    assert code_of(exc) == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"filter_string": "bogus = 'x'"},
        {"filter_string": "datasets.name = 'x'"},
        {"filter_string": "name = "},
        {"filter_string": "metrics.acc > 'high'"},
        {"filter_string": "creation_timestamp = 'yesterday'"},
        {"experiment_ids": ["abc"]},
        {"max_results": 0},
        {"max_results": 10001},
        {"page_token": "garbage"},
        {"datasets": [{"dataset_digest": "d1"}]},
        {"datasets": ["val"]},
    ],
)
def test_bad_searches(store: TrackingStore, kwargs: dict[str, object]) -> None:
    kwargs = {"experiment_ids": ["0"], **kwargs}
    with pytest.raises(CairnError) as exc:
        store.search_logged_models(**kwargs)  # type: ignore[arg-type]
    assert code_of(exc) == "INVALID_PARAMETER_VALUE"


def test_search_pages(store: TrackingStore, models: dict[str, str]) -> None:
    seen, token, pages = [], None, 0
    while True:
        page = store.search_logged_models(["0"], max_results=3, page_token=token)
        seen += [m.model_id for m in page]
        pages += 1
        token = page.token
        if token is None:
            break
    assert pages == 2
    assert seen == [models[k] for k in "dcba"]


# ---------------------------------------------------------------- run outputs


def test_log_outputs_links_models_to_runs(store: TrackingStore, run_id: str) -> None:
    first = store.create_logged_model("0", source_run_id=run_id).model_id
    second = store.create_logged_model("0").model_id
    store.log_outputs(run_id, [LoggedModelOutput(second, 5), LoggedModelOutput(first)])
    store.log_outputs(run_id, [LoggedModelOutput(first)])  # again: no duplicate
    assert store.get_run_outputs([run_id, UNKNOWN_RUN]) == {
        run_id: [LoggedModelOutput(first, 0), LoggedModelOutput(second, 5)]
    }
    assert store.get_run_outputs([]) == {}


def test_log_outputs_refusals(store: TrackingStore, run_id: str) -> None:
    model_id = store.create_logged_model("0").model_id
    cases = [
        (UNKNOWN_RUN, model_id, "RESOURCE_DOES_NOT_EXIST"),
        (run_id, "m-nope", "RESOURCE_DOES_NOT_EXIST"),
    ]
    for run, model, code in cases:
        with pytest.raises(CairnError) as exc:
            store.log_outputs(run, [LoggedModelOutput(model)])
        assert code_of(exc) == code
    with pytest.raises(CairnError, match="step") as exc:
        store.log_outputs(run_id, [LoggedModelOutput(model_id, "1")])  # type: ignore[arg-type]
    store.delete_run(run_id)
    with pytest.raises(CairnError, match="deleted") as exc:
        store.log_outputs(run_id, [LoggedModelOutput(model_id)])
    assert code_of(exc) == "INVALID_PARAMETER_VALUE"
    assert store.get_run_outputs([run_id]) == {}


@pytest.mark.usefixtures("sql_only")
def test_purges_cascade_to_outputs_metrics_and_models(store: TrackingStore, engine: Engine) -> None:
    eid = store.create_experiment("short-lived")
    run = store.create_run(eid, "alice", None, {}, "r").info.run_id
    kept = store.create_logged_model(eid, source_run_id=run, params={"p": "1"}, tags={"t": "v"})
    store.log_outputs(run, [LoggedModelOutput(kept.model_id)])
    add_metric(engine, kept.model_id, run, key="acc", value=1.0)
    store.delete_run(run)
    store.purge_deleted_runs(older_than_ms=0)
    # The model outlives the run that produced it; what the run linked to it goes with the run.
    survivor = store.get_logged_model(kept.model_id)
    assert (survivor.source_run_id, survivor.metrics) == (run, [])
    assert store.get_run_outputs([run]) == {}
    store.delete_experiment(eid)
    store.purge_deleted_experiments(older_than_ms=0)
    with pytest.raises(CairnError, match="not found"):
        store.get_logged_model(kept.model_id, allow_deleted=True)
