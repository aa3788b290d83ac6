"""The fluent API as a user meets it: the README's story, run lifecycle, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import cairn
from cairn.errors import CairnError


def test_user_story_from_the_readme(tmp_path) -> None:
    cairn.set_experiment("iris")
    (tmp_path / "confusion.png").write_bytes(b"\x89PNG fake")
    with cairn.start_run(run_name="lr-0.1", tags={"team": "cv"}) as run:
        cairn.log_params({"lr": 0.1, "depth": 4})
        for step in range(10_000):
            cairn.log_metric("loss", 1.0 / (step + 1), step=step)
        cairn.log_artifact(str(tmp_path / "confusion.png"))
        cairn.log_dict({"layers": [1, 2]}, "config.json")
        with cairn.start_run(run_name="fold-1", nested=True) as child:
            cairn.log_metric("acc", 0.9)
    # Defaults: everything lands in ./cairn.db and ./cairn-artifacts.
    assert (tmp_path / "cairn.db").exists()
    stored = cairn.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED" and stored.info.end_time is not None
    assert stored.info.run_name == "lr-0.1"
    assert stored.data.params == {"lr": "0.1", "depth": "4"}
    assert stored.data.metrics == {"loss": 1.0 / 10_000}
    assert stored.data.tags["team"] == "cv"
    assert stored.data.tags["mlflow.source.type"] == "LOCAL"  # git/source: see test_context
    assert stored.data.tags["mlflow.user"]
    history = cairn.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(10_000))
    assert [f.path for f in cairn.list_artifacts(run.info.run_id)] == [
        "config.json",
        "confusion.png",
    ]
    artifacts = tmp_path / "cairn-artifacts"
    config_file = next(artifacts.rglob("config.json"))
    assert json.loads(config_file.read_text()) == {"layers": [1, 2]}
    nested = cairn.get_run(child.info.run_id)
    assert nested.data.tags["mlflow.parentRunId"] == run.info.run_id
    assert nested.info.status == "FINISHED"

    df = cairn.search_runs(
        filter_string="metrics.loss < 0.2 and params.depth = '4'", order_by=["metrics.loss ASC"]
    )
    assert list(df["run_id"]) == [run.info.run_id]
    assert df.loc[0, "metrics.loss"] == pytest.approx(1e-4)
    assert df.loc[0, "params.lr"] == "0.1"
    runs = cairn.search_runs(output_format="list", order_by=["attributes.run_name ASC"])
    assert [r.info.run_name for r in runs] == ["fold-1", "lr-0.1"]


def test_logging_without_a_run_starts_one_in_the_default_experiment() -> None:
    cairn.log_metric("m", 1.5)
    run = cairn.active_run()
    assert run is not None and run.info.experiment_id == "0"
    cairn.end_run()
    assert cairn.active_run() is None
    last = cairn.last_active_run()
    assert last is not None and last.data.metrics == {"m": 1.5}


def test_exception_marks_run_failed_after_writing_what_was_logged() -> None:
    with pytest.raises(ZeroDivisionError), cairn.start_run() as run:
        cairn.log_metric("before", 1.0)
        cairn.log_param("p", 1)
        1 / 0  # noqa: B018
    stored = cairn.get_run(run.info.run_id)
    assert stored.info.status == "FAILED"
    assert stored.data.metrics == {"before": 1.0} and stored.data.params == {"p": "1"}


def test_start_run_while_active_needs_nested() -> None:
    with cairn.start_run(), pytest.raises(CairnError, match="already active"):
        cairn.start_run()


def test_resume_a_run() -> None:
    with cairn.start_run(run_name="first") as run:
        cairn.log_metric("m", 1.0, step=0)
    with cairn.start_run(run_id=run.info.run_id):
        cairn.log_metric("m", 2.0, step=1)
    stored = cairn.get_run(run.info.run_id)
    assert stored.data.metrics == {"m": 2.0} and stored.info.status == "FINISHED"
    with pytest.raises(CairnError):
        cairn.start_run(run_id="0" * 32)


def test_changed_param_is_refused_at_once() -> None:
    with cairn.start_run() as run:
        cairn.log_param("lr", 0.1)
        with pytest.raises(CairnError, match="Changing param values"):
            cairn.log_param("lr", 0.2)
        cairn.log_param("lr", 0.1)
    assert cairn.get_run(run.info.run_id).data.params == {"lr": "0.1"}


@pytest.mark.parametrize(
    "call",
    [
        lambda: cairn.log_metric("bad key!", 1.0),
        lambda: cairn.log_metric("m", "1.0"),
        lambda: cairn.log_metric("m", 1.0, step=1.5),
        lambda: cairn.log_metric("m", 1.0, timestamp="now"),
        lambda: cairn.log_metric("../m", 1.0),
        lambda: cairn.log_param("p", "x" * 6001),
        lambda: cairn.set_tag("t", None),
        lambda: cairn.log_metrics({"ok": 1.0, "bad": object()}),
    ],
)
def test_bad_values_raise_immediately_and_log_nothing(call) -> None:
    with cairn.start_run() as run, pytest.raises(CairnError):
        call()
    data = cairn.get_run(run.info.run_id).data
    assert data.metrics == {} and data.params == {}


def test_error_found_at_flush_is_reported_and_other_values_kept() -> None:
    client = cairn.TrackingClient()
    with pytest.raises(CairnError, match="Changing param values"), cairn.start_run() as run:
        client.log_param(run.info.run_id, "lr", "0.5")  # another writer got there first
        cairn.log_param("lr", 0.1)
        cairn.log_param("depth", 3)
        cairn.log_metric("m", 1.0)
    stored = cairn.get_run(run.info.run_id)
    assert stored.data.params == {"lr": "0.5", "depth": "3"}
    assert stored.data.metrics == {"m": 1.0}
    assert stored.info.status == "FINISHED"


def test_special_values_and_synchronous_logging() -> None:
    with cairn.start_run() as run:
        cairn.log_metric("nan", math.nan, synchronous=True)
        assert math.isnan(cairn.TrackingClient().get_run(run.info.run_id).data.metrics["nan"])
        cairn.log_metrics({"inf": math.inf, "ninf": -math.inf}, step=3)
    metrics = cairn.get_run(run.info.run_id).data.metrics
    assert metrics["inf"] == math.inf and metrics["ninf"] == -math.inf


def test_tags_and_delete_tag() -> None:
    with cairn.start_run() as run:
        cairn.set_tags({"a": 1, "b": "two"})
        cairn.set_tag("mlflow.runName", "renamed")
        cairn.delete_tag("a")
    stored = cairn.get_run(run.info.run_id)
    assert stored.data.tags["b"] == "two" and "a" not in stored.data.tags
    assert stored.info.run_name == "renamed"


def test_set_experiment_rules() -> None:
    exp = cairn.set_experiment("e1")
    assert cairn.set_experiment("e1").experiment_id == exp.experiment_id
    assert cairn.set_experiment(experiment_id=exp.experiment_id).name == "e1"
    cairn.delete_experiment(exp.experiment_id)
    with pytest.raises(CairnError, match="deleted"):
        cairn.set_experiment("e1")
    with pytest.raises(CairnError, match="exactly one"):
        cairn.set_experiment()
    with pytest.raises(CairnError):
        cairn.set_experiment(experiment_id="12345")


def test_tracking_uri_choice(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CAIRN_TRACKING_URI", f"sqlite:///{tmp_path}/env.db")
    assert cairn.get_tracking_uri().endswith("env.db")
    cairn.set_tracking_uri(tmp_path / "explicit.db")
    assert cairn.get_tracking_uri() == f"sqlite:///{tmp_path}/explicit.db"
    with cairn.start_run():
        cairn.log_metric("m", 1.0)
    assert (tmp_path / "explicit.db").exists() and not (tmp_path / "env.db").exists()
    cairn.set_tracking_uri("ftp://nowhere")
    with pytest.raises(CairnError, match="Unsupported tracking URI"):
        cairn.start_run()


def test_log_input_from_a_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"x": [1, 2, 3], "y": [0.1, 0.2, 0.3]})
    with cairn.start_run() as run:
        ds = cairn.log_input(df, context="training", name="iris")
        again = cairn.log_input(df.copy(), context="training", name="iris")
    assert ds.digest == again.digest and len(ds.digest) == 8
    changed = pd.DataFrame({"x": [1, 2, 4], "y": [0.1, 0.2, 0.3]})
    with cairn.start_run():
        assert cairn.log_input(changed, name="iris").digest != ds.digest
    inputs = cairn.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.name == "iris"
    assert json.loads(inputs[0].dataset.profile) == {"num_rows": 3, "num_elements": 6}
    assert [(t.key, t.value) for t in inputs[0].tags] == [("mlflow.data.context", "training")]
    found = cairn.search_runs(filter_string="datasets.context = 'training'", output_format="list")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    with pytest.raises(CairnError, match="Cannot log a dict"):
        cairn.log_input({"a": 1})


def test_artifact_helpers_through_the_fluent_api(tmp_path) -> None:
    np = pytest.importorskip("numpy")
    with cairn.start_run() as run:
        cairn.log_text("hello", "notes/readme.txt")
        cairn.log_image(np.zeros((4, 4, 3), dtype=np.uint8), "img.png")
        cairn.log_table({"a": [1, 2], "b": ["x", "y"]}, "table.json")
        with pytest.raises(CairnError):
            cairn.log_text("x", "../escape.txt")
        with pytest.raises(CairnError):
            cairn.log_artifact(str(tmp_path / "missing.txt"))
        uri = cairn.get_artifact_uri("notes/readme.txt")
    assert Path(uri).read_text() == "hello"
    paths = [f.path for f in cairn.list_artifacts(run.info.run_id)]
    assert paths == ["img.png", "notes", "table.json"]
    local = cairn.download_artifacts(run.info.run_id, "notes", str(tmp_path / "dl"))
    assert (Path(local) / "readme.txt").read_text() == "hello"
    assert not (tmp_path / "escape.txt").exists()


def test_a_metric_of_a_logged_model_is_written_at_once_after_the_runs_earlier_points() -> None:
    import pandas as pd

    dataset = cairn.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0]}), name="eval")
    with cairn.start_run() as run:
        model = cairn.TrackingClient().store.create_logged_model(
            run.info.experiment_id, name="m", source_run_id=run.info.run_id
        )
        cairn.log_metric("acc", 0.5, step=0)  # buffered
        cairn.log_metric("acc", 0.75, step=1, model_id=model.model_id, dataset=dataset)
        linked = cairn.get_logged_model(model.model_id).metrics  # before the run ends
        with pytest.raises(CairnError) as exc:
            cairn.log_metric("acc", 0.9, step=2, model_id="m-" + "0" * 32)
        assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert [(m.key, m.value, m.step, m.dataset_name) for m in linked] == [("acc", 0.75, 1, "eval")]
    assert linked[0].dataset_digest == dataset.digest
    history = cairn.TrackingClient().get_metric_history(run.info.run_id, "acc")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.75)]
