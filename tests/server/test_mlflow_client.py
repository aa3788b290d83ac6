"""The unmodified ``mlflow`` client against a real ``cairn server`` process, and the command.

The client tests skip when mlflow is not installed; ``cairn server`` itself (workers, refusing
an outdated database) is tested either way.
"""

from __future__ import annotations

import math
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from cairn.store.db.engine import dispose_engines, get_engine, write_transaction
from cairn.store.tracking import get_tracking_store

T0 = 1_700_000_000_000


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that talks to the live server runs against SQLite and PostgreSQL backends."""
    if "live_server" in metafunc.fixturenames:
        backends = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
        metafunc.parametrize("live_server", backends, indirect=True, scope="module")


def test_runs_params_metrics_and_tags(mlflow: Any, client: Any) -> None:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.exceptions import MlflowException

    experiment = mlflow.set_experiment("client-basics")
    with mlflow.start_run(run_name="first") as run:
        run_id = run.info.run_id
        mlflow.log_param("alpha", 0.5)
        mlflow.log_params({"beta": 2, "gamma": "x"})
        mlflow.log_metric("loss", 1.5, step=0)
        mlflow.log_metric("loss", 0.5, step=1)
        mlflow.log_metric("nan", float("nan"))
        mlflow.log_metric("inf", float("inf"))
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=2)
        mlflow.set_tag("team", "red")
        mlflow.set_tags({"stage": "dev"})
        client.log_batch(
            run_id,
            metrics=[Metric("batch", 3.0, T0, 7)],
            params=[Param("delta", "d")],
            tags=[RunTag("origin", "batch")],
        )
        with pytest.raises(MlflowException) as changed:
            mlflow.log_param("alpha", 0.7)
        assert changed.value.error_code == "INVALID_PARAMETER_VALUE"

    fetched = client.get_run(run_id)
    assert fetched.info.run_name == "first"
    assert fetched.info.experiment_id == experiment.experiment_id
    assert fetched.info.status == "FINISHED" and fetched.info.end_time is not None
    metrics = fetched.data.metrics
    assert math.isnan(metrics.pop("nan")) and metrics.pop("inf") == math.inf
    assert metrics == {"loss": 0.5, "acc": 0.9, "f1": 0.8, "batch": 3.0}
    assert fetched.data.params == {"alpha": "0.5", "beta": "2", "gamma": "x", "delta": "d"}
    tags = fetched.data.tags
    assert tags["team"] == "red" and tags["stage"] == "dev" and tags["origin"] == "batch"
    assert tags["mlflow.runName"] == "first"
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.5), (1, 0.5)]
    assert [(m.step, m.timestamp) for m in client.get_metric_history(run_id, "batch")] == [(7, T0)]


def test_metric_history_pages(mlflow: Any, client: Any) -> None:
    """30,000 points: the client fetches them in pages of 25,000."""
    from mlflow.entities import Metric

    run_id = client.create_run(mlflow.set_experiment("client-history").experiment_id).info.run_id
    n = 30_000
    for start in range(0, n, 1000):
        batch = [Metric("m", i * 0.5, T0 + i, i) for i in range(start, start + 1000)]
        client.log_batch(run_id, metrics=batch)
    history = client.get_metric_history(run_id, "m")
    assert len(history) == n
    assert [m.step for m in history] == list(range(n))
    assert history[-1].value == (n - 1) * 0.5 and history[-1].timestamp == T0 + n - 1
    assert client.get_run(run_id).data.metrics == {"m": (n - 1) * 0.5}


def test_search_runs(mlflow: Any, client: Any) -> None:
    experiment_id = mlflow.set_experiment("client-search").experiment_id
    run_ids = []
    for i in range(6):
        with mlflow.start_run(run_name=f"r{i}") as run:
            mlflow.log_metric("m", float(i))
            mlflow.log_param("p", "a" if i % 2 else "b")
            run_ids.append(run.info.run_id)
    frame = mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string="metrics.m > 0 and params.p = 'a'",
        order_by=["metrics.m DESC"],
    )
    assert list(frame["run_id"]) == [run_ids[5], run_ids[3], run_ids[1]]
    assert list(frame["metrics.m"]) == [5.0, 3.0, 1.0]
    assert set(frame["params.p"]) == {"a"}
    first = client.search_runs([experiment_id], order_by=["attributes.run_name ASC"], max_results=4)
    assert [r.info.run_name for r in first] == ["r0", "r1", "r2", "r3"]
    rest = client.search_runs(
        [experiment_id], order_by=["attributes.run_name ASC"], page_token=first.token
    )
    assert [r.info.run_name for r in rest] == ["r4", "r5"]
    assert client.search_runs([experiment_id], filter_string="tags.none = 'x'") == []


def test_delete_restore_and_rename(mlflow: Any, client: Any) -> None:
    experiment_id = mlflow.create_experiment("client-rename")
    run_id = client.create_run(experiment_id).info.run_id
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([experiment_id]) == []
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    client.rename_experiment(experiment_id, "client-renamed")
    assert client.get_experiment(experiment_id).name == "client-renamed"
    assert client.get_experiment_by_name("client-renamed").experiment_id == experiment_id
    assert client.get_experiment_by_name("client-rename") is None
    client.set_experiment_tag(experiment_id, "k", "v")
    assert client.get_experiment(experiment_id).tags == {"k": "v"}
    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    client.restore_experiment(experiment_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"


def test_datasets(mlflow: Any, client: Any) -> None:
    import pandas as pd

    experiment_id = mlflow.set_experiment("client-datasets").experiment_id
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0.0, 1.0, 0.0]})
    dataset = mlflow.data.from_pandas(frame, name="iris", targets="y")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
    with mlflow.start_run():
        pass
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(d.dataset.name, d.dataset.digest) for d in inputs] == [("iris", dataset.digest)]
    assert {t.key: t.value for t in inputs[0].tags} == {"mlflow.data.context": "training"}
    found = client.search_runs([experiment_id], filter_string="datasets.name = 'iris'")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    context = client.search_runs([experiment_id], filter_string="datasets.context = 'training'")
    assert [r.info.run_id for r in context] == [run.info.run_id]


def test_metrics_of_a_logged_model(mlflow: Any, client: Any) -> None:
    """MLflow 3: a metric logged with model_id (and a dataset) is the run's and the model's."""
    import pandas as pd

    mlflow.set_experiment("client-model-metrics")
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [0.0, 1.0]})
    dataset = mlflow.data.from_pandas(frame, name="eval", targets="y")
    with mlflow.start_run() as run:
        model = mlflow.initialize_logged_model(name="clf")
        mlflow.log_metric("acc", 0.875, step=3, model_id=model.model_id, dataset=dataset)
        mlflow.log_metric("loss", 0.25, step=3)
    metrics = mlflow.get_logged_model(model.model_id).metrics
    assert [(m.key, m.value, m.step, m.run_id) for m in metrics] == [
        ("acc", 0.875, 3, run.info.run_id)
    ]
    assert (metrics[0].dataset_name, metrics[0].dataset_digest) == ("eval", dataset.digest)
    assert client.get_run(run.info.run_id).data.metrics == {"acc": 0.875, "loss": 0.25}
    with mlflow.start_run(), pytest.raises(Exception, match="not found"):
        mlflow.log_metric("acc", 0.5, model_id="m-" + "0" * 32, synchronous=True)


# ---------------------------------------------------------------- the command


def test_workers(cairn_server: Callable[..., Any]) -> None:
    server = cairn_server("--workers", "2")
    api = f"{server.url}/api/2.0/mlflow"
    with httpx.Client(timeout=30) as http:
        created = http.post(f"{api}/experiments/create", json={"name": "w"})
        assert created.status_code == 200, created.text
        run = http.post(
            f"{api}/runs/create", json={"experiment_id": created.json()["experiment_id"]}
        )
        run_id = run.json()["run"]["info"]["run_id"]
        for step in range(20):
            metric = {"run_id": run_id, "key": "m", "value": step, "timestamp": T0, "step": step}
            assert http.post(f"{api}/runs/log-metric", json=metric).status_code == 200
        history = http.get(
            f"{api}/metrics/get-history", params={"run_id": run_id, "metric_key": "m"}
        )
        assert [m["step"] for m in history.json()["metrics"]] == list(range(20))
    deadline = time.monotonic() + 60
    while len(set(re.findall(r"Started server process \[(\d+)\]", server.log()))) < 2:
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.1)


def test_the_config_travels_to_workers_intact() -> None:
    from cairn.server.config import ServerConfig
    from cairn.server.main import config_from_env, config_to_env

    config = ServerConfig(
        backend_store_uri="postgresql://u@h/db",
        default_artifact_root="s3://b/p",
        serve_artifacts=False,
        allowed_hosts=("a.example", "10.0.0.0/8"),
        cors_allowed_origins=("https://ui.example",),
    )
    assert config_from_env(config_to_env(config)) == config
    assert config_from_env(config_to_env(ServerConfig())) == ServerConfig()


def test_refuses_an_outdated_schema(tmp_path: Path, cairn_command: list[str]) -> None:
    uri = f"sqlite:///{tmp_path}/old.db"
    get_tracking_store(uri)  # creates the current schema
    with write_transaction(get_engine(uri)) as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    dispose_engines()
    result = subprocess.run(
        [*cairn_command, "server", "--backend-store-uri", uri, "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 1, result
    assert result.stderr.startswith("Error: ") and "cairn db upgrade" in result.stderr
    assert "Traceback" not in result.stderr
