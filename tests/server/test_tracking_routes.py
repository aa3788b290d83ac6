"""The tracking endpoints over ASGI: MLflow's exact JSON, MLflow's error codes, never a 500.

Happy paths run on SQLite and PostgreSQL (``db_uri``); the error cases, which never reach a
database-specific code path, on SQLite only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from starlette.testclient import TestClient

from cairn.entities import Metric
from cairn.server import wire
from cairn.server.app import create_app
from cairn.server.config import ServerConfig
from cairn.server.routes.tracking import ENDPOINTS

API = "/api/2.0/mlflow"
T0 = 1_700_000_000_000


def make_client(uri: str, tmp_path: Path) -> TestClient:
    config = ServerConfig(backend_store_uri=uri, artifacts_destination=str(tmp_path / "dest"))
    return TestClient(create_app(config), base_url="http://localhost")


@pytest.fixture
def client(db_uri: str, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(db_uri, tmp_path) as test_client:
        yield test_client


@pytest.fixture
def lite(sqlite_uri: str, tmp_path: Path) -> Iterator[TestClient]:
    """A client on SQLite only, for the error cases."""
    with make_client(sqlite_uri, tmp_path) as test_client:
        yield test_client


def call(
    client: TestClient,
    method: str,
    path: str,
    body: Any = None,
    params: Any = None,
    prefix: str = API,
) -> tuple[int, Any]:
    response = client.request(method, prefix + path, json=body, params=params)
    return response.status_code, response.json()


def ok(client: TestClient, method: str, path: str, body: Any = None, params: Any = None) -> Any:
    status, out = call(client, method, path, body, params)
    assert status == 200, out
    return out


def post(client: TestClient, path: str, body: Any) -> Any:
    return ok(client, "POST", path, body)


def get(client: TestClient, endpoint: str, /, **params: Any) -> Any:
    return ok(client, "GET", endpoint, params=params)


def fails(
    client: TestClient,
    method: str,
    path: str,
    status: int,
    code: str,
    body: Any = None,
    params: Any = None,
    content: bytes | None = None,
) -> str:
    """Require MLflow's error JSON with this status and code; returns the message."""
    if content is not None:
        response = client.request(method, API + path, content=content)
    else:
        response = client.request(method, API + path, json=body, params=params)
    assert response.status_code == status, response.text
    out = response.json()
    assert set(out) == {"error_code", "message"}, out
    assert out["error_code"] == code, out
    return str(out["message"])


def new_run(client: TestClient, experiment_id: str = "0", **body: Any) -> str:
    out = post(client, "/runs/create", {"experiment_id": experiment_id, **body})
    return str(out["run"]["info"]["run_id"])


def points(key: str, steps: range, value: float = 0.5) -> list[dict[str, Any]]:
    return [{"key": key, "value": value + s, "timestamp": T0 + s, "step": s} for s in steps]


# ---------------------------------------------------------------- experiments


def test_experiment_endpoints(client: TestClient) -> None:
    created = post(
        client, "/experiments/create", {"name": "e", "tags": [{"key": "a", "value": "b"}]}
    )
    assert created == {"experiment_id": "1"}
    experiment = get(client, "/experiments/get", experiment_id="1")["experiment"]
    assert experiment == {
        "experiment_id": "1",
        "name": "e",
        "artifact_location": "mlflow-artifacts:/1",
        "lifecycle_stage": "active",
        "last_update_time": experiment["creation_time"],
        "creation_time": experiment["creation_time"],
        "tags": [{"key": "a", "value": "b"}],
    }
    assert isinstance(experiment["creation_time"], int)
    assert get(client, "/experiments/get-by-name", experiment_name="e") == {
        "experiment": experiment
    }

    assert post(client, "/experiments/update", {"experiment_id": "1", "new_name": "f"}) == {}
    tag = {"experiment_id": "1", "key": "k", "value": "v"}
    assert post(client, "/experiments/set-experiment-tag", tag) == {}
    renamed = get(client, "/experiments/get", experiment_id="1")["experiment"]
    assert renamed["name"] == "f"
    assert renamed["tags"] == [{"key": "a", "value": "b"}, {"key": "k", "value": "v"}]
    delete_tag = {"experiment_id": "1", "key": "k"}
    assert post(client, "/experiments/delete-experiment-tag", delete_tag) == {}

    assert post(client, "/experiments/delete", {"experiment_id": "1"}) == {}
    deleted = get(client, "/experiments/get", experiment_id="1")["experiment"]
    assert deleted["lifecycle_stage"] == "deleted"
    assert post(client, "/experiments/restore", {"experiment_id": "1"}) == {}
    assert get(client, "/experiments/get", experiment_id="1")["experiment"]["lifecycle_stage"] == (
        "active"
    )


def test_search_experiments_get_and_post(client: TestClient) -> None:
    for name in ("a", "b", "c"):
        post(client, "/experiments/create", {"name": name})
    first = post(client, "/experiments/search", {"max_results": 2, "order_by": ["name DESC"]})
    assert [e["name"] for e in first["experiments"]] == ["c", "b"]
    second = post(
        client,
        "/experiments/search",
        {"max_results": 2, "order_by": ["name DESC"], "page_token": first["next_page_token"]},
    )
    assert [e["name"] for e in second["experiments"]] == ["a", "Default"]
    # A query string repeats a key for lists and carries numbers as strings.
    by_get = get(client, "/experiments/search", max_results="10", order_by="name ASC")
    assert [e["name"] for e in by_get["experiments"]] == ["Default", "a", "b", "c"]
    assert "next_page_token" not in by_get
    assert post(client, "/experiments/search", {"filter": "name = 'zzz'"}) == {}
    post(client, "/experiments/delete", {"experiment_id": "1"})
    for view_type in ("DELETED_ONLY", 2):
        deleted = post(client, "/experiments/search", {"view_type": view_type})
        assert [e["name"] for e in deleted["experiments"]] == ["a"]


# ---------------------------------------------------------------- runs


def test_create_get_update_run(client: TestClient) -> None:
    created = post(
        client,
        "/runs/create",
        {
            "experiment_id": "0",
            "user_id": "alice",
            "start_time": T0,
            "run_name": "first",
            "tags": [{"key": "t", "value": "1"}],
        },
    )
    run_id = created["run"]["info"]["run_id"]
    info = {
        "run_id": run_id,
        "run_uuid": run_id,
        "run_name": "first",
        "experiment_id": "0",
        "user_id": "alice",
        "status": "RUNNING",
        "start_time": T0,
        "artifact_uri": f"mlflow-artifacts:/0/{run_id}/artifacts",
        "lifecycle_stage": "active",
    }
    tags = [
        {"key": "t", "value": "1"},
        {"key": "mlflow.runName", "value": "first"},
        {"key": "mlflow.user", "value": "alice"},
    ]
    assert created == {"run": {"info": info, "data": {"tags": tags}, "inputs": {}}}
    fetched = get(client, "/runs/get", run_id=run_id)
    assert fetched["run"]["info"] == info
    assert sorted(fetched["run"]["data"]["tags"], key=str) == sorted(tags, key=str)
    assert fetched["run"]["inputs"] == {} and fetched["run"]["outputs"] == {}
    assert get(client, "/runs/get", run_uuid=run_id)["run"]["info"] == info

    updated = post(
        client,
        "/runs/update",
        {"run_id": run_id, "run_uuid": run_id, "status": "FINISHED", "end_time": T0 + 5},
    )
    assert updated == {"run_info": {**info, "status": "FINISHED", "end_time": T0 + 5}}
    # Protobuf enums may travel as numbers; a rename keeps the mlflow.runName tag in step.
    renamed = post(client, "/runs/update", {"run_id": run_id, "status": 4, "run_name": "second"})
    assert renamed["run_info"]["status"] == "FAILED"
    assert renamed["run_info"]["run_name"] == "second"
    run_tags = get(client, "/runs/get", run_id=run_id)["run"]["data"]["tags"]
    assert {"key": "mlflow.runName", "value": "second"} in run_tags


def test_delete_and_restore_run(client: TestClient) -> None:
    run_id = new_run(client)
    assert post(client, "/runs/delete", {"run_id": run_id}) == {}
    assert get(client, "/runs/get", run_id=run_id)["run"]["info"]["lifecycle_stage"] == "deleted"
    assert post(client, "/runs/search", {"experiment_ids": ["0"]}) == {}
    deleted = post(
        client, "/runs/search", {"experiment_ids": ["0"], "run_view_type": "DELETED_ONLY"}
    )
    assert [r["info"]["run_id"] for r in deleted["runs"]] == [run_id]
    assert post(client, "/runs/restore", {"run_id": run_id}) == {}
    assert get(client, "/runs/get", run_id=run_id)["run"]["info"]["lifecycle_stage"] == "active"


def test_logging_and_the_run_it_builds(client: TestClient) -> None:
    run_id = new_run(client, start_time=T0)
    metric = {"run_id": run_id, "run_uuid": run_id, "key": "loss", "value": 0.5}
    assert post(client, "/runs/log-metric", {**metric, "timestamp": T0, "step": 1}) == {}
    # What the mlflow client sends for NaN and infinities, int64 as digit strings.
    post(
        client,
        "/runs/log-metric",
        {**metric, "value": "NaN", "timestamp": str(T0 + 1), "step": "2"},
    )
    post(client, "/runs/log-metric", {**metric, "key": "inf", "value": "Infinity", "timestamp": T0})
    post(
        client, "/runs/log-metric", {**metric, "key": "ninf", "value": "-Infinity", "timestamp": T0}
    )
    assert post(client, "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "1"}) == {}
    post(client, "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "1"})  # same: fine
    assert post(client, "/runs/set-tag", {"run_id": run_id, "key": "t", "value": "x"}) == {}
    post(client, "/runs/set-tag", {"run_id": run_id, "key": "gone", "value": "y"})
    assert post(client, "/runs/delete-tag", {"run_id": run_id, "key": "gone"}) == {}
    batch = {
        "run_id": run_id,
        "metrics": [{"key": "acc", "value": 0.25, "timestamp": T0, "step": 3}],
        "params": [{"key": "q", "value": "2"}],
        "tags": [{"key": "u", "value": "3"}],
    }
    assert post(client, "/runs/log-batch", batch) == {}

    data = get(client, "/runs/get", run_id=run_id)["run"]["data"]
    by_key = {m["key"]: m for m in data["metrics"]}
    assert by_key == {
        "loss": {"key": "loss", "value": "NaN", "timestamp": T0 + 1, "step": 2},
        "inf": {"key": "inf", "value": "Infinity", "timestamp": T0, "step": 0},
        "ninf": {"key": "ninf", "value": "-Infinity", "timestamp": T0, "step": 0},
        "acc": {"key": "acc", "value": 0.25, "timestamp": T0, "step": 3},
    }
    assert sorted(data["params"], key=str) == [
        {"key": "p", "value": "1"},
        {"key": "q", "value": "2"},
    ]
    tags = {t["key"]: t["value"] for t in data["tags"]}
    assert tags["t"] == "x" and tags["u"] == "3" and "gone" not in tags

    history = get(client, "/metrics/get-history", run_id=run_id, metric_key="loss")
    assert history == {
        "metrics": [
            {"key": "loss", "value": 0.5, "timestamp": T0, "step": 1},
            {"key": "loss", "value": "NaN", "timestamp": T0 + 1, "step": 2},
        ]
    }
    assert get(client, "/metrics/get-history", run_uuid=run_id, metric_key="nothing") == {}


def test_log_batch_with_metrics_only_and_tags(client: TestClient) -> None:
    run_id = new_run(client)
    metrics = points("a", range(500)) + points("b", range(498))
    tags = [{"key": "x", "value": "1"}, {"key": "x", "value": "2"}]  # the last one wins
    assert (
        post(client, "/runs/log-batch", {"run_id": run_id, "metrics": metrics, "tags": tags}) == {}
    )
    run = get(client, "/runs/get", run_id=run_id)["run"]
    assert {m["key"]: m["step"] for m in run["data"]["metrics"]} == {"a": 499, "b": 497}
    assert {"key": "x", "value": "2"} in run["data"]["tags"]
    history = get(client, "/metrics/get-history", run_id=run_id, metric_key="b")["metrics"]
    assert history == points("b", range(498))


def test_search_runs(client: TestClient) -> None:
    ids = []
    for i in range(5):
        run_id = new_run(client, start_time=T0 + i, run_name=f"r{i}")
        post(client, "/runs/log-batch", {"run_id": run_id, "metrics": points("m", range(i, i + 1))})
        post(
            client,
            "/runs/log-parameter",
            {"run_id": run_id, "key": "even", "value": str(i % 2 == 0)},
        )
        ids.append(run_id)
    body = {
        "experiment_ids": ["0"],
        "filter": "metrics.m >= 1 and params.even = 'True'",
        "order_by": ["metrics.m DESC"],
        "max_results": 1,
    }
    first = post(client, "/runs/search", body)
    assert [r["info"]["run_id"] for r in first["runs"]] == [ids[4]]
    run = first["runs"][0]
    assert run["data"]["metrics"] == [{"key": "m", "value": 4.5, "timestamp": T0 + 4, "step": 4}]
    assert run["outputs"] == {}
    second = post(client, "/runs/search", {**body, "page_token": first["next_page_token"]})
    assert [r["info"]["run_id"] for r in second["runs"]] == [ids[2]]
    assert "next_page_token" not in second
    everything = post(client, "/runs/search", {"experiment_ids": ["0"]})
    assert [r["info"]["run_id"] for r in everything["runs"]] == ids[::-1]  # start_time DESC


def test_datasets(client: TestClient) -> None:
    run_id = new_run(client)
    dataset_input = {
        "tags": [{"key": "mlflow.data.context", "value": "train"}],
        "dataset": {
            "name": "iris",
            "digest": "abc123",
            "source_type": "local",
            "source": '{"uri": "/x"}',
            "schema": '{"mlflow_colspec": []}',
            "profile": '{"num_rows": 3}',
        },
    }
    assert post(client, "/runs/log-inputs", {"run_id": run_id, "datasets": [dataset_input]}) == {}
    run = get(client, "/runs/get", run_id=run_id)["run"]
    assert run["inputs"] == {"dataset_inputs": [dataset_input]}
    found = post(
        client, "/runs/search", {"experiment_ids": ["0"], "filter": "datasets.name = 'iris'"}
    )
    assert [r["info"]["run_id"] for r in found["runs"]] == [run_id]
    # MLflow 3 also sends model inputs here; an empty request only checks the run.
    assert post(client, "/runs/log-inputs", {"run_id": run_id}) == {}


def test_log_model_appends_to_the_history_tag(client: TestClient) -> None:
    run_id = new_run(client)
    for path in ("model", "other"):
        model = {
            "artifact_path": path,
            "flavors": {"python_function": {}},
            "run_id": run_id,
            "utc_time_created": "2024-01-01 00:00:00.000000",
        }
        assert (
            post(client, "/runs/log-model", {"run_id": run_id, "model_json": json.dumps(model)})
            == {}
        )
    tags = get(client, "/runs/get", run_id=run_id)["run"]["data"]["tags"]
    history = json.loads(next(t["value"] for t in tags if t["key"] == "mlflow.log-model.history"))
    assert [m["artifact_path"] for m in history] == ["model", "other"]


def test_run_outputs(client: TestClient) -> None:
    run_id = new_run(client)
    model = post(client, "/logged-models", {"experiment_id": "0", "source_run_id": run_id})["model"]
    model_id = model["info"]["model_id"]
    body = {"run_id": run_id, "models": [{"model_id": model_id, "step": 3}]}
    assert post(client, "/runs/outputs", body) == {}
    assert post(client, "/runs/outputs", body) == {}  # idempotent
    run = get(client, "/runs/get", run_id=run_id)["run"]
    assert run["outputs"] == {"model_outputs": [{"model_id": model_id, "step": 3}]}
    assert post(client, "/runs/outputs", {"run_id": run_id, "models": []}) == {}


# ---------------------------------------------------------------- metric histories


def test_get_history_pages(client: TestClient) -> None:
    run_id = new_run(client)
    post(client, "/runs/log-batch", {"run_id": run_id, "metrics": points("m", range(25))})
    seen: list[dict[str, Any]] = []
    token = None
    pages = 0
    while True:
        params = {"run_id": run_id, "metric_key": "m", "max_results": 10}
        page = get(
            client, "/metrics/get-history", **params, **({"page_token": token} if token else {})
        )
        seen.extend(page["metrics"])
        pages += 1
        token = page.get("next_page_token")
        if not token:
            break
    assert pages == 3 and seen == points("m", range(25))
    exact = get(client, "/metrics/get-history", run_id=run_id, metric_key="m", max_results=25)
    assert "next_page_token" not in exact and len(exact["metrics"]) == 25
    default = get(client, "/metrics/get-history", run_id=run_id, metric_key="m")
    assert len(default["metrics"]) == 25


def test_get_history_bulk_interval(client: TestClient) -> None:
    first, second = new_run(client), new_run(client)
    for start in range(0, 1000, 500):
        batch = points("m", range(start, start + 500))
        post(client, "/runs/log-batch", {"run_id": first, "metrics": batch})
    post(client, "/runs/log-batch", {"run_id": second, "metrics": points("m", range(3))})
    path = "/metrics/get-history-bulk-interval"
    sampled = get(client, path, run_ids=[first, second], metric_key="m", max_results=10)["metrics"]
    first_steps = [m["step"] for m in sampled if m["run_id"] == first]
    assert len(first_steps) == 10 and first_steps == sorted(first_steps)
    assert first_steps[0] == 0 and first_steps[-1] == 999
    assert [m["step"] for m in sampled if m["run_id"] == second] == [0, 1, 2]
    assert sampled[0] == {"key": "m", "value": 0.5, "timestamp": T0, "step": 0, "run_id": first}
    window = get(
        client, path, run_ids=first, metric_key="m", start_step=100, end_step=200, max_results=7
    )["metrics"]
    steps = [m["step"] for m in window]
    assert len(steps) == 7 and steps[0] == 100 and steps[-1] == 200
    default = get(client, path, run_ids=first, metric_key="m")["metrics"]
    assert len(default) == 320
    assert get(client, path, run_ids=first, metric_key="none") == {}


# ---------------------------------------------------------------- artifacts


def test_list_artifacts(client: TestClient, tmp_path: Path) -> None:
    run_id = new_run(client)
    root = tmp_path / "dest" / "0" / run_id / "artifacts"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("abc")
    (root / "sub" / "b.bin").write_bytes(b"\x00" * 10)
    root_uri = f"mlflow-artifacts:/0/{run_id}/artifacts"
    assert get(client, "/artifacts/list", run_id=run_id) == {
        "root_uri": root_uri,
        "files": [
            {"path": "a.txt", "is_dir": False, "file_size": 3},
            {"path": "sub", "is_dir": True},
        ],
    }
    assert get(client, "/artifacts/list", run_id=run_id, path="sub") == {
        "root_uri": root_uri,
        "files": [{"path": "sub/b.bin", "is_dir": False, "file_size": 10}],
    }
    assert get(client, "/artifacts/list", run_id=run_id, path="missing") == {"root_uri": root_uri}
    assert get(client, "/artifacts/list", run_id=run_id, path="a.txt") == {"root_uri": root_uri}


def test_the_ajax_prefix_serves_the_same(client: TestClient) -> None:
    status, out = call(client, "GET", "/experiments/get", params={"experiment_id": "0"})
    ajax = call(
        client,
        "GET",
        "/experiments/get",
        params={"experiment_id": "0"},
        prefix="/ajax-api/2.0/mlflow",
    )
    assert status == 200 and ajax == (200, out)


def test_wire_reads_what_the_server_writes(client: TestClient) -> None:
    """The ``*_from_json`` direction (the REST client store's) inverts the responses."""
    store = client.app.state.context.tracking  # type: ignore[attr-defined]
    run_id = new_run(client, start_time=T0, run_name="w", tags=[{"key": "t", "value": "1"}])
    metrics = [{"key": "nan", "value": "NaN", "timestamp": T0, "step": 1}, *points("m", range(2))]
    params = [{"key": "p", "value": "v"}]
    post(client, "/runs/log-batch", {"run_id": run_id, "metrics": metrics, "params": params})
    dataset = {"name": "d", "digest": "x1", "source_type": "local", "source": "{}"}
    post(client, "/runs/log-inputs", {"run_id": run_id, "datasets": [{"dataset": dataset}]})
    post(client, "/runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": T0 + 9})

    run = wire.run_from_json(get(client, "/runs/get", run_id=run_id)["run"])
    expected = store.get_run(run_id)
    assert run.info == expected.info
    assert run.data.params == expected.data.params and run.data.tags == expected.data.tags
    assert math.isnan(run.data.metrics.pop("nan")) and run.data.metrics == {"m": 1.5}
    assert run.inputs == expected.inputs
    experiment = get(client, "/experiments/get", experiment_id="0")["experiment"]
    assert wire.experiment_from_json(experiment) == store.get_experiment("0")
    history = get(client, "/metrics/get-history", run_id=run_id, metric_key="m")["metrics"]
    assert [wire.metric_from_json(m) for m in history] == store.get_metric_history(run_id, "m")
    assert wire.metric_from_json({"key": "k", "value": "-Infinity", "timestamp": "3"}) == (
        Metric("k", -math.inf, 3, 0)
    )


# ---------------------------------------------------------------- errors


INVALID = "INVALID_PARAMETER_VALUE"
MISSING = "RESOURCE_DOES_NOT_EXIST"


def test_bodies_that_are_not_json_objects(lite: TestClient) -> None:
    out_of_range = b'{"run_id": "r", "metrics": [{"key": "k", "value": 1e400, "timestamp": 1}]}'
    for content in (b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe", out_of_range):
        fails(lite, "POST", "/experiments/create", 400, "BAD_REQUEST", content=content)
        fails(lite, "POST", "/runs/log-batch", 400, "BAD_REQUEST", content=content)
    # An empty body is an empty message: its required fields are missing.
    message = fails(lite, "POST", "/experiments/create", 400, INVALID, content=b"")
    assert message == "Missing value for required parameter 'name'."


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/experiments/create", {"name": 5}),
        ("/experiments/create", {"name": "x", "tags": "t"}),
        ("/experiments/create", {"name": "x", "tags": [{"key": 1, "value": "v"}]}),
        ("/experiments/search", {"max_results": "many"}),
        ("/experiments/search", {"order_by": "name"}),
        ("/runs/create", {"experiment_id": "0", "start_time": "soon"}),
        ("/runs/create", {"experiment_id": "0", "start_time": 1.5}),
        ("/runs/create", {"experiment_id": 0}),
        ("/runs/update", {"run_id": "r", "end_time": [1]}),
        ("/runs/search", {"experiment_ids": "0"}),
        ("/runs/search", {"experiment_ids": [0]}),
        ("/runs/search", {"experiment_ids": ["0"], "max_results": True}),
        ("/runs/log-metric", {"run_id": "r", "key": "k", "value": "high", "timestamp": 1}),
        ("/runs/log-metric", {"run_id": "r", "key": "k", "value": 1, "timestamp": 2**64}),
        ("/runs/log-metric", {"run_id": "r", "key": "k", "value": True, "timestamp": 1}),
        ("/runs/log-metric", {"run_id": ["r"], "key": "k", "value": 1, "timestamp": 1}),
        ("/runs/log-parameter", {"run_id": "r", "key": "k", "value": 5}),
        ("/runs/set-tag", {"run_id": "r", "key": {"a": 1}, "value": "v"}),
        ("/runs/log-batch", {"run_id": "r", "metrics": "x"}),
        ("/runs/log-batch", {"run_id": "r", "metrics": [5]}),
        ("/runs/log-batch", {"run_id": "r", "metrics": [{"key": 5, "value": 1, "timestamp": 1}]}),
        (
            "/runs/log-batch",
            {"run_id": "r", "metrics": [{"key": "k", "value": 1, "timestamp": "x"}]},
        ),
        ("/runs/log-batch", {"run_id": "r", "params": [{"key": "k", "value": {"a": 1}}]}),
        ("/runs/log-batch", {"run_id": "r", "tags": {"key": "k"}}),
        ("/runs/log-inputs", {"run_id": "r", "datasets": [{"dataset": "iris"}]}),
        ("/runs/log-inputs", {"run_id": "r", "datasets": [{"dataset": {"name": "n"}}]}),
        ("/runs/log-model", {"run_id": "r", "model_json": {"artifact_path": "m"}}),
        ("/runs/outputs", {"run_id": "r", "models": "m"}),
        ("/runs/outputs", {"run_id": "r", "models": [{"model_id": "m", "step": "first"}]}),
    ],
)
def test_wrong_json_types_are_invalid(lite: TestClient, path: str, body: Any) -> None:
    fails(lite, "POST", path, 400, INVALID, body=body)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/experiments/create", {}, "name"),
        ("GET", "/experiments/get", {}, "experiment_id"),
        ("GET", "/experiments/get-by-name", {}, "experiment_name"),
        ("POST", "/experiments/update", {"experiment_id": "0"}, "new_name"),
        ("POST", "/runs/create", {}, "experiment_id"),
        ("GET", "/runs/get", {}, "run_id"),
        ("POST", "/runs/delete", {}, "run_id"),
        ("POST", "/runs/log-metric", {"run_id": "r", "value": 1, "timestamp": 1}, "key"),
        ("POST", "/runs/log-metric", {"run_id": "r", "key": "k", "timestamp": 1}, "value"),
        ("POST", "/runs/log-metric", {"run_id": "r", "key": "k", "value": 1}, "timestamp"),
        ("POST", "/runs/log-batch", {"metrics": []}, "run_id"),
        ("POST", "/runs/log-batch", {"run_id": "r", "metrics": [{"key": "k"}]}, "metrics[0].value"),
        ("POST", "/runs/log-model", {"run_id": "r"}, "model_json"),
        ("POST", "/runs/outputs", {"run_id": "r"}, "models"),
        ("GET", "/metrics/get-history", {"run_id": "r"}, "metric_key"),
        ("GET", "/metrics/get-history-bulk-interval", {"metric_key": "m"}, "run_ids"),
        ("GET", "/artifacts/list", {}, "run_id"),
    ],
)
def test_missing_required_fields(
    lite: TestClient, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    if method == "GET":
        message = fails(lite, method, path, 400, INVALID, params=body)
    else:
        message = fails(lite, method, path, 400, INVALID, body=body)
    assert message == f"Missing value for required parameter '{field}'."


def test_unknown_ids_are_not_found(lite: TestClient) -> None:
    unknown = "0123456789abcdef0123456789abcdef"
    fails(lite, "GET", "/experiments/get", 404, MISSING, params={"experiment_id": "999"})
    fails(lite, "GET", "/experiments/get-by-name", 404, MISSING, params={"experiment_name": "no"})
    fails(
        lite, "POST", "/experiments/update", 404, MISSING, {"experiment_id": "9", "new_name": "x"}
    )
    fails(lite, "POST", "/experiments/delete", 404, MISSING, {"experiment_id": "9"})
    fails(lite, "POST", "/runs/create", 404, MISSING, {"experiment_id": "9"})
    fails(lite, "GET", "/runs/get", 404, MISSING, params={"run_id": unknown})
    fails(lite, "POST", "/runs/update", 404, MISSING, {"run_id": unknown, "status": "FINISHED"})
    fails(lite, "POST", "/runs/delete", 404, MISSING, {"run_id": unknown})
    metric = {"run_id": unknown, "key": "k", "value": 1, "timestamp": 1}
    fails(lite, "POST", "/runs/log-metric", 404, MISSING, metric)
    fails(lite, "POST", "/runs/log-batch", 404, MISSING, {"run_id": unknown, "metrics": [metric]})
    fails(lite, "POST", "/runs/log-model", 404, MISSING, log_model_body(unknown))
    fails(lite, "POST", "/runs/outputs", 404, MISSING, {"run_id": unknown, "models": []})
    history = {"run_id": unknown, "metric_key": "k"}
    fails(lite, "GET", "/metrics/get-history", 404, MISSING, params=history)
    bulk = {"run_ids": unknown, "metric_key": "k"}
    fails(lite, "GET", "/metrics/get-history-bulk-interval", 404, MISSING, params=bulk)
    fails(lite, "GET", "/artifacts/list", 404, MISSING, params={"run_id": unknown})
    run_id = new_run(lite)
    fails(lite, "POST", "/runs/delete-tag", 404, MISSING, {"run_id": run_id, "key": "none"})
    tag = {"experiment_id": "0", "key": "none"}
    fails(lite, "POST", "/experiments/delete-experiment-tag", 404, MISSING, tag)


def log_model_body(run_id: str) -> dict[str, Any]:
    model = {"artifact_path": "m", "flavors": {}, "run_id": run_id, "utc_time_created": "now"}
    return {"run_id": run_id, "model_json": json.dumps(model)}


def test_malformed_ids_are_invalid(lite: TestClient) -> None:
    fails(lite, "GET", "/experiments/get", 400, INVALID, params={"experiment_id": "abc"})
    fails(lite, "GET", "/runs/get", 400, INVALID, params={"run_id": "../etc"})


def test_oversized_batches(lite: TestClient) -> None:
    run_id = new_run(lite)
    params = [{"key": f"p{i}", "value": "v"} for i in range(101)]
    tags = [{"key": f"t{i}", "value": "v"} for i in range(101)]
    for body in (
        {"metrics": points("m", range(1001))},
        {"params": params},
        {"tags": tags},
        {"metrics": points("m", range(900)), "params": params[:100], "tags": tags[:1]},
    ):
        message = fails(lite, "POST", "/runs/log-batch", 400, INVALID, {"run_id": run_id, **body})
        assert "at most" in message
    assert "metrics" not in get(lite, "/runs/get", run_id=run_id)["run"]["data"]


def test_params_cannot_change(lite: TestClient) -> None:
    run_id = new_run(lite)
    post(lite, "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "1"})
    changed = {"run_id": run_id, "key": "p", "value": "2"}
    assert "Changing param values" in fails(
        lite, "POST", "/runs/log-parameter", 400, INVALID, changed
    )
    batch = {
        "run_id": run_id,
        "metrics": points("m", range(3)),
        "params": [{"key": "p", "value": "3"}],
    }
    fails(lite, "POST", "/runs/log-batch", 400, INVALID, batch)
    # The batch is one transaction: its metrics were not written either.
    assert "metrics" not in get(lite, "/runs/get", run_id=run_id)["run"]["data"]
    twice = {"run_id": run_id, "params": [{"key": "n", "value": "1"}, {"key": "n", "value": "2"}]}
    fails(lite, "POST", "/runs/log-batch", 400, INVALID, twice)


def test_invalid_values_the_store_refuses(lite: TestClient) -> None:
    run_id = new_run(lite)
    bad_key = {"run_id": run_id, "key": "../up", "value": 1, "timestamp": 1}
    fails(lite, "POST", "/runs/log-metric", 400, INVALID, bad_key)
    fails(lite, "POST", "/runs/log-batch", 400, INVALID, {"run_id": run_id, "metrics": [bad_key]})
    fails(lite, "POST", "/runs/update", 400, INVALID, {"run_id": run_id, "status": "BOGUS"})
    fails(lite, "POST", "/runs/update", 400, INVALID, {"run_id": run_id, "status": 9})
    fails(lite, "POST", "/runs/log-model", 400, INVALID, {"run_id": run_id, "model_json": "{x"})
    incomplete = {"run_id": run_id, "model_json": json.dumps({"artifact_path": "m"})}
    assert "flavors" in fails(lite, "POST", "/runs/log-model", 400, INVALID, incomplete)
    fails(lite, "POST", "/experiments/search", 400, INVALID, {"view_type": "SOME"})
    fails(lite, "POST", "/experiments/search", 400, INVALID, {"max_results": 0})
    fails(
        lite, "POST", "/runs/search", 400, INVALID, {"experiment_ids": ["0"], "max_results": 10**6}
    )
    fails(lite, "GET", "/artifacts/list", 400, INVALID, params={"run_id": run_id, "path": "../x"})
    post(lite, "/runs/delete", {"run_id": run_id})
    metric = {"run_id": run_id, "key": "k", "value": 1, "timestamp": 1}
    assert "deleted" in fails(lite, "POST", "/runs/log-metric", 400, INVALID, metric)


def test_duplicate_experiment(lite: TestClient) -> None:
    post(lite, "/experiments/create", {"name": "same"})
    fails(lite, "POST", "/experiments/create", 400, "RESOURCE_ALREADY_EXISTS", {"name": "same"})
    post(lite, "/experiments/create", {"name": "other"})
    rename = {"experiment_id": "2", "new_name": "same"}
    fails(lite, "POST", "/experiments/update", 400, "RESOURCE_ALREADY_EXISTS", rename)


def test_bad_filters_and_orders(lite: TestClient) -> None:
    search = {"experiment_ids": ["0"]}
    fails(lite, "POST", "/runs/search", 400, INVALID, {**search, "filter": "metrics.m >"})
    fails(lite, "POST", "/runs/search", 400, INVALID, {**search, "order_by": ["nonsense x y"]})
    fails(lite, "POST", "/experiments/search", 400, INVALID, {"filter": "name =="})
    fails(lite, "POST", "/experiments/search", 400, INVALID, {"order_by": ["bogus"]})


def test_bad_page_tokens(lite: TestClient) -> None:
    run_id = new_run(lite)
    for token in ("garbage", "eyJvZmZzZXQiOiAtMX0="):  # the second is {"offset": -1}
        fails(
            lite,
            "POST",
            "/runs/search",
            400,
            INVALID,
            {"experiment_ids": ["0"], "page_token": token},
        )
        fails(lite, "POST", "/experiments/search", 400, INVALID, {"page_token": token})
        history = {"run_id": run_id, "metric_key": "m", "page_token": token}
        fails(lite, "GET", "/metrics/get-history", 400, INVALID, params=history)


def test_history_request_limits(lite: TestClient) -> None:
    run_id = new_run(lite)
    history = {"run_id": run_id, "metric_key": "m"}
    fails(lite, "GET", "/metrics/get-history", 400, INVALID, params={**history, "max_results": 0})
    fails(lite, "GET", "/metrics/get-history", 400, INVALID, params={**history, "max_results": "x"})
    path = "/metrics/get-history-bulk-interval"
    bulk = {"run_ids": run_id, "metric_key": "m"}
    many = {**bulk, "run_ids": [run_id] * 101}
    assert "at most 100" in fails(lite, "GET", path, 400, INVALID, params=many)
    fails(lite, "GET", path, 400, INVALID, params={**bulk, "start_step": 5})
    fails(lite, "GET", path, 400, INVALID, params={**bulk, "end_step": 5})
    fails(lite, "GET", path, 400, INVALID, params={**bulk, "start_step": 5, "end_step": 1})
    fails(lite, "GET", path, 400, INVALID, params={**bulk, "max_results": 0})
    fails(lite, "GET", path, 400, INVALID, params={**bulk, "max_results": 2501})


def test_wrong_method_is_405_json(lite: TestClient) -> None:
    fails(lite, "GET", "/runs/log-batch", 405, "BAD_REQUEST")
    fails(lite, "POST", "/runs/get", 405, "BAD_REQUEST", {})
    fails(lite, "DELETE", "/experiments/search", 405, "BAD_REQUEST")
    fails(lite, "POST", "/no/such/endpoint", 404, "ENDPOINT_NOT_FOUND", {})


_WRONG_VALUES: list[Any] = [None, 5, -1.5, "x", "", True, [], [1, "a"], {}, {"key": 1}, "NaN"]


def test_no_request_field_value_causes_a_server_error(lite: TestClient) -> None:
    """Every field of every endpoint, set to values of every JSON type: 4xx or 200, never 5xx."""
    run_id = new_run(lite)
    valid = {"run_id": run_id, "experiment_id": "0", "key": "k", "metric_key": "k"}
    for path, methods, message_type, _ in ENDPOINTS:
        for field in msgspec.structs.fields(message_type):
            for value in _WRONG_VALUES:
                body = {**valid, field.encode_name: value}
                if "POST" in methods:
                    response = lite.post(API + path, json=body)
                else:
                    query = {k: v for k, v in body.items() if isinstance(v, (str, int, list))}
                    response = lite.get(API + path, params=query)
                assert response.status_code < 500, (path, body, response.text)
                out = response.json()
                assert response.status_code == 200 or set(out) == {"error_code", "message"}


def test_nan_is_never_null_on_the_wire(lite: TestClient) -> None:
    run_id = new_run(lite)
    batch = [
        {"key": "v", "value": v, "timestamp": 1, "step": i} for i, v in enumerate(["NaN", 1.0])
    ]
    post(lite, "/runs/log-batch", {"run_id": run_id, "metrics": batch})
    values = [
        m["value"]
        for m in get(lite, "/metrics/get-history", run_id=run_id, metric_key="v")["metrics"]
    ]
    assert values == ["NaN", 1.0]
    assert not any(isinstance(v, float) and math.isnan(v) for v in values)


def test_null_fields_mean_not_set_as_in_proto3_json(lite: TestClient) -> None:
    experiment_id = lite.post(
        f"{API}/experiments/create", json={"name": "nulls", "artifact_location": None}
    ).json()["experiment_id"]
    search = lite.post(
        f"{API}/runs/search",
        json={"experiment_ids": [experiment_id], "page_token": None, "filter": None},
    )
    assert search.status_code == 200, search.text
    # A null where a value is required is still a missing value; null list elements are refused.
    missing = lite.post(f"{API}/runs/create", json={"experiment_id": None, "run_name": "x"})
    assert missing.status_code == 400
    assert "experiment_id" in missing.json()["message"]
    bad = lite.post(f"{API}/runs/search", json={"experiment_ids": [experiment_id, None]})
    assert bad.status_code == 400
    assert bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
