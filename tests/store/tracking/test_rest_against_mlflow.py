"""cairn's fluent API and TrackingClient against a real ``mlflow server``.

Only what both servers share is checked: MLflow's filters have no OR, it stores ±inf as ±max
float and it does not check that a run exists before reading a metric history.
"""

from __future__ import annotations

import math
import sys
import uuid
from collections.abc import Iterator

import pytest

import cairn
from cairn.entities import Dataset, Metric, Param, RunTag
from cairn.errors import CairnError
from cairn.store.tracking import rest
from cairn.store.tracking.rest import RestTrackingStore
from cairn.tracking.client import TrackingClient
from rest_server import MlflowServer, mlflow_command

MAX_FLOAT = sys.float_info.max

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    command = mlflow_command()
    if command is None:
        pytest.skip("no mlflow to run a server with: pip install mlflow==3.17.2")
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"), command).start(180)
    yield server
    server.stop()


@pytest.fixture
def client(mlflow_server: MlflowServer) -> TrackingClient:
    cairn.set_tracking_uri(mlflow_server.url)
    client = TrackingClient()
    assert isinstance(client.store, RestTrackingStore)
    return client


def unique(prefix: str) -> str:
    """Experiment names unique across tests: the server lives for the whole module."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_experiment_lifecycle(client: TrackingClient) -> None:
    name = unique("exp")
    eid = client.create_experiment(name, tags={"team": "cv"})
    exp = client.get_experiment(eid)
    assert (exp.name, exp.tags, exp.lifecycle_stage) == (name, {"team": "cv"}, "active")
    assert client.get_experiment_by_name(name) == exp
    assert client.get_experiment_by_name(unique("missing")) is None
    with pytest.raises(CairnError) as exc:
        client.create_experiment(name)
    assert exc.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.rename_experiment(eid, name + "-renamed")
    client.set_experiment_tag(eid, "stage", 2)
    client.delete_experiment_tag(eid, "team")
    exp = client.get_experiment(eid)
    assert (exp.name, exp.tags) == (name + "-renamed", {"stage": "2"})
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    deleted = client.search_experiments("DELETED_ONLY", filter_string=f"name = '{exp.name}'")
    assert [e.experiment_id for e in deleted] == [eid]
    client.restore_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "active"
    with pytest.raises(CairnError) as exc:
        client.get_experiment("987654321")
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_experiments_filters_orders_and_pages(client: TrackingClient) -> None:
    prefix = unique("search")
    for suffix in ("a", "b", "c"):
        client.create_experiment(f"{prefix}-{suffix}", tags={"letter": suffix})
    query = f"name LIKE '{prefix}-%'"
    first = client.search_experiments(max_results=2, filter_string=query, order_by=["name DESC"])
    assert [e.name for e in first] == [f"{prefix}-c", f"{prefix}-b"] and first.token
    rest_page = client.search_experiments(
        max_results=2, filter_string=query, order_by=["name DESC"], page_token=first.token
    )
    assert [e.name for e in rest_page] == [f"{prefix}-a"]
    by_tag = client.search_experiments(filter_string=f"{query} AND tags.letter = 'b'")
    assert [e.name for e in by_tag] == [f"{prefix}-b"]


def test_runs_params_metrics_and_tags(client: TrackingClient) -> None:
    eid = client.create_experiment(unique("runs"))
    run = client.create_run(eid, tags={"team": "cv"}, run_name="first")
    rid = run.info.run_id
    assert run.info.run_name == "first" and run.data.tags["mlflow.user"]
    client.log_param(rid, "lr", 0.1)
    client.log_metric(rid, "loss", 0.5, step=1)
    client.log_batch(
        rid,
        metrics=[Metric("loss", 0.25, 2000, 2), Metric("nan", math.nan, 1, 0)],
        params=[Param("depth", "3")],
        tags=[RunTag("phase", "train")],
    )
    client.set_tag(rid, "gone", "soon")
    client.delete_tag(rid, "gone")
    with pytest.raises(CairnError, match="Changing param values") as exc:
        client.log_param(rid, "lr", 0.2)
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"
    client.update_run(rid, name="renamed")
    info = client.set_terminated(rid, "FAILED")
    assert info.status == "FAILED" and info.end_time
    data = client.get_run(rid).data
    assert data.params == {"lr": "0.1", "depth": "3"}
    assert data.metrics["loss"] == 0.25 and math.isnan(data.metrics["nan"])
    assert {k: data.tags[k] for k in ("team", "phase", "mlflow.runName")} == {
        "team": "cv",
        "phase": "train",
        "mlflow.runName": "renamed",
    }
    assert "gone" not in data.tags
    with pytest.raises(CairnError, match="Invalid run status"):
        client.set_terminated(rid, "DONE")  # refused by the store: MLflow would ignore it
    with pytest.raises(CairnError) as exc:
        client.get_run("0123456789abcdef0123456789abcdef")
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_non_finite_values(client: TrackingClient) -> None:
    rid = client.create_run(client.create_experiment(unique("nan"))).info.run_id
    points = [Metric("nan", math.nan, 1, 0), Metric("inf", math.inf, 1, 0)]
    client.log_batch(rid, metrics=[*points, Metric("ninf", -math.inf, 1, 0)])
    metrics = client.get_run(rid).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["inf"] in (math.inf, MAX_FLOAT)  # MLflow clamps ±inf to ±max float
    assert metrics["ninf"] in (-math.inf, -MAX_FLOAT)
    assert math.isnan(client.get_metric_history(rid, "nan")[0].value)


def test_metric_history_pages(client: TrackingClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rest, "HISTORY_PAGE_SIZE", 100)  # MLflow's paging, without 25,001 points
    rid = client.create_run(client.create_experiment(unique("history"))).info.run_id
    client.log_batch(rid, metrics=[Metric("m", i / 2, 1000 + i, i) for i in range(250)])
    history = client.get_metric_history_columns(rid, "m")
    assert history.steps.tolist() == list(range(250))
    assert history.values.tolist() == [i / 2 for i in range(250)]
    assert client.get_metric_history(rid, "m")[-1] == Metric("m", 124.5, 1249, 249)


def test_search_runs_filters_orders_and_pages(client: TrackingClient) -> None:
    eid = client.create_experiment(unique("search-runs"))
    ids = {}
    for name, model, acc in (("r1", "a", 0.9), ("r2", "a", 0.7), ("r3", "b", 0.95)):
        ids[name] = rid = client.create_run(eid, run_name=name).info.run_id
        client.log_batch(rid, metrics=[Metric("acc", acc, 1, 0)], params=[Param("model", model)])
    client.set_terminated(ids["r1"])
    found = client.search_runs(eid, "metrics.acc > 0.5 and params.model = 'a'", order_by=None)
    assert {r.info.run_name for r in found} == {"r1", "r2"}
    first = client.search_runs(eid, "params.model = 'a'", max_results=1, order_by=["metrics.acc"])
    assert [r.info.run_name for r in first] == ["r2"] and first.token
    second = client.search_runs(
        eid, "params.model = 'a'", max_results=1, order_by=["metrics.acc"], page_token=first.token
    )
    assert [r.info.run_name for r in second] == ["r1"]
    finished = client.search_runs(eid, "attributes.status = 'FINISHED'")
    assert [r.info.run_id for r in finished] == [ids["r1"]]
    client.delete_run(ids["r3"])
    assert {r.info.run_name for r in client.search_runs(eid)} == {"r1", "r2"}
    deleted = client.search_runs(eid, run_view_type="DELETED_ONLY")
    assert [r.info.run_name for r in deleted] == ["r3"]
    client.restore_run(ids["r3"])
    best = client.search_runs(eid, order_by=["metrics.acc DESC"], max_results=1)
    assert [r.info.run_name for r in best] == ["r3"]


def test_fluent_api_and_datasets(mlflow_server: MlflowServer) -> None:
    cairn.set_tracking_uri(mlflow_server.url)
    experiment = cairn.set_experiment(unique("fluent"))
    dataset = Dataset("train", "d1g3st", "local", '{"uri": "/data/train.csv"}', '{"cols": []}')
    with cairn.start_run(run_name="parent", tags={"team": "cv"}) as run:
        cairn.log_params({"lr": 0.1, "depth": 4})
        for step in range(1000):
            cairn.log_metric("loss", 1.0 / (step + 1), step=step)
        cairn.log_metric("bad", math.nan)
        cairn.set_tag("phase", "train")
        cairn.log_input(dataset, context="training")
        with cairn.start_run(run_name="child", nested=True) as child:
            cairn.log_metric("acc", 0.9)
    stored = cairn.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED" and stored.info.end_time
    assert stored.data.params == {"lr": "0.1", "depth": "4"}
    assert stored.data.metrics["loss"] == 1.0 / 1000 and math.isnan(stored.data.metrics["bad"])
    assert stored.data.tags["phase"] == "train" and stored.data.tags["mlflow.user"]
    [used] = stored.inputs.dataset_inputs
    assert used.dataset == dataset
    assert [(t.key, t.value) for t in used.tags] == [("mlflow.data.context", "training")]
    history = cairn.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(1000))
    nested = cairn.get_run(child.info.run_id)
    assert nested.data.tags["mlflow.parentRunId"] == run.info.run_id
    frame = cairn.search_runs(
        [experiment.experiment_id], "datasets.context = 'training'", order_by=["metrics.loss"]
    )
    assert list(frame["run_id"]) == [run.info.run_id]
    assert frame.loc[0, "params.depth"] == "4"
    runs = cairn.search_runs(output_format="list", order_by=["attributes.run_name ASC"])
    assert [r.info.run_name for r in runs] == ["child", "parent"]


def test_the_mlflow_client_reads_what_cairn_wrote(mlflow_server: MlflowServer) -> None:
    mlflow = pytest.importorskip("mlflow")
    cairn.set_tracking_uri(mlflow_server.url)
    cairn.set_experiment(unique("cross-read"))
    with cairn.start_run() as run:
        cairn.log_param("lr", 0.1)
        cairn.log_metrics({"loss": 0.5, "acc": 0.75}, step=3)
    theirs = mlflow.MlflowClient(mlflow_server.url).get_run(run.info.run_id)
    assert theirs.data.params == {"lr": "0.1"}
    assert theirs.data.metrics == {"loss": 0.5, "acc": 0.75}
    assert theirs.info.status == "FINISHED"


def test_cairns_bulk_reads_say_they_need_a_cairn_server(mlflow_server: MlflowServer) -> None:
    store = RestTrackingStore(mlflow_server.url)
    calls = (
        lambda: store.get_experiment_summaries(["0"]),
        lambda: store.get_experiment_keys(["0"]),
        lambda: store.search_runs_table(["0"], ["metrics.loss"]),
    )
    for call in calls:
        with pytest.raises(CairnError, match="needs a cairn server") as exc:
            call()
        assert exc.value.error_code == "NOT_IMPLEMENTED"
    store.close()
