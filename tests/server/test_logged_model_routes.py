"""/logged-models over HTTP: MLflow's exact JSON, MLflow's error codes, and the real client."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cairn.server.app import create_app
from cairn.server.config import ServerConfig

API = "/api/2.0/mlflow"


@pytest.fixture
def config(tmp_path: Path) -> ServerConfig:
    return ServerConfig(
        backend_store_uri=f"sqlite:///{tmp_path}/server.db",
        artifacts_destination=str(tmp_path / "destination"),
    )


@pytest.fixture
def client(config: ServerConfig) -> Iterator[TestClient]:
    with TestClient(create_app(config), base_url="http://localhost") as test_client:
        yield test_client


@pytest.fixture
def run_id(client: TestClient) -> str:
    store = client.app.state.context.tracking  # type: ignore[attr-defined]
    return str(store.create_run("0", "alice", None, {}, "r").info.run_id)


def call(client: TestClient, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    response = client.request(method, API + path, json=body)
    return response.status_code, response.json()


def create(client: TestClient, **body: Any) -> dict[str, Any]:
    status, out = call(client, "POST", "/logged-models", {"experiment_id": "0", **body})
    assert status == 200, out
    return out["model"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------- happy paths, exact JSON


def test_the_log_model_sequence(client: TestClient, run_id: str) -> None:
    """What mlflow's log_model sends, in order, answered exactly as MLflow answers."""
    status, created = call(
        client,
        "POST",
        "/logged-models",
        {
            "experiment_id": "0",
            "name": "model",
            "source_run_id": run_id,
            "model_type": "sklearn",
            "params": [{"key": "alpha", "value": "0.5"}],
            "tags": [{"key": "mlflow.user", "value": "alice"}, {"key": "a", "value": "1"}],
        },
    )
    assert status == 200
    info = created["model"]["info"]
    model_id, created_at = info["model_id"], info["creation_timestamp_ms"]
    expected_info = {
        "model_id": model_id,
        "experiment_id": "0",
        "name": "model",
        "creation_timestamp_ms": created_at,
        "last_updated_timestamp_ms": created_at,
        "artifact_uri": f"mlflow-artifacts:/0/models/{model_id}/artifacts",
        "status": "LOGGED_MODEL_PENDING",
        "model_type": "sklearn",
        "source_run_id": run_id,
        "tags": [{"key": "a", "value": "1"}, {"key": "mlflow.user", "value": "alice"}],
    }
    expected = {"info": expected_info, "data": {"params": [{"key": "alpha", "value": "0.5"}]}}
    assert created == {"model": expected}
    assert call(client, "GET", f"/logged-models/{model_id}") == (200, {"model": expected})

    status, ready = call(
        client,
        "PATCH",
        f"/logged-models/{model_id}",
        {"model_id": model_id, "status": "LOGGED_MODEL_READY"},
    )
    assert status == 200
    updated_at = ready["model"]["info"]["last_updated_timestamp_ms"]
    assert updated_at >= created_at
    expected_info |= {"status": "LOGGED_MODEL_READY", "last_updated_timestamp_ms": updated_at}
    assert ready == {"model": expected}


def test_a_bare_model(client: TestClient) -> None:
    model = create(client)
    info = model["info"]
    assert set(info) == {
        "model_id",
        "experiment_id",
        "name",
        "creation_timestamp_ms",
        "last_updated_timestamp_ms",
        "artifact_uri",
        "status",
        "model_type",
        "source_run_id",
    }
    assert (info["model_type"], info["source_run_id"], model["data"]) == ("", "", {})
    assert create(client, name="", model_type="")["info"]["name"]  # "" means unset: generated


def test_params_tags_and_delete(client: TestClient) -> None:
    model_id = create(client, params=[{"key": "a", "value": "1"}])["info"]["model_id"]
    one = f"/logged-models/{model_id}"
    params = [{"key": "b", "value": "2"}, {"key": "a", "value": "1"}, {"key": "c"}]
    assert call(client, "POST", f"{one}/params", {"model_id": model_id, "params": params}) == (
        200,
        {},
    )
    tags = [{"key": "x", "value": "1"}, {"key": "x", "value": "2"}, {"key": "dir/t", "value": "v"}]
    assert call(client, "PATCH", f"{one}/tags", {"tags": tags}) == (200, {})
    assert call(client, "DELETE", f"{one}/tags/dir/t") == (200, {})
    model = call(client, "GET", one)[1]["model"]
    assert model["info"]["tags"] == [{"key": "x", "value": "2"}]
    assert model["data"]["params"] == [
        {"key": "a", "value": "1"},
        {"key": "b", "value": "2"},
        {"key": "c", "value": ""},
    ]
    assert call(client, "DELETE", one, {"model_id": model_id}) == (200, {})
    assert call(client, "GET", one) == (
        404,
        {
            "error_code": "RESOURCE_DOES_NOT_EXIST",
            "message": f"Logged model with ID '{model_id}' not found.",
        },
    )
    status, deleted = call(client, "GET", f"{one}?allow_deleted=true")
    assert (status, deleted["model"]["info"]["model_id"]) == (200, model_id)
    assert call(client, "POST", "/logged-models/search", {"experiment_ids": ["0"]}) == (200, {})


def test_metrics_linked_to_a_model(client: TestClient, run_id: str) -> None:
    from sqlalchemy import insert

    from cairn.store.db import schema

    model_id = create(client)["info"]["model_id"]
    store = client.app.state.context.tracking  # type: ignore[attr-defined]
    row = {"model_id": model_id, "run_id": run_id, "key": "acc", "step": 2, "timestamp": 7}
    with store.engine.begin() as conn:  # logging them via log-batch is not built yet
        conn.execute(
            insert(schema.logged_model_metrics),
            [
                {**row, "value": 0.5, "is_nan": False, "dataset_name": "val"},
                {**row, "timestamp": 8, "value": None, "is_nan": True, "dataset_name": None},
            ],
        )
    status, out = call(client, "GET", f"/logged-models/{model_id}")
    assert status == 200
    point = {"key": "acc", "timestamp": 7, "step": 2, "run_id": run_id, "model_id": model_id}
    assert out["model"]["data"] == {
        "metrics": [
            {**point, "value": 0.5, "dataset_name": "val"},
            {**point, "value": "NaN", "timestamp": 8},
        ]
    }


def test_search_as_runs_artifact_repo_does_it(client: TestClient, run_id: str) -> None:
    """Loading runs:/<run>/model searches by name and then matches the source run."""
    mine = create(client, name="model", source_run_id=run_id)
    create(client, name="model")
    create(client, name="other", source_run_id=run_id)
    body = {"experiment_ids": ["0"], "filter": "name = 'model'"}
    status, out = call(client, "POST", "/logged-models/search", body)
    assert status == 200 and set(out) == {"models"}
    assert [m for m in out["models"] if m["info"]["source_run_id"] == run_id] == [mine]
    body["filter"] += f" AND source_run_id = '{run_id}' AND status = 'LOGGED_MODEL_PENDING'"
    assert call(client, "POST", "/logged-models/search", body) == (200, {"models": [mine]})


def test_search_orders_and_pages(client: TestClient) -> None:
    ids = [create(client, name=f"m{i}")["info"]["model_id"] for i in range(3)]
    body: dict[str, Any] = {
        "experiment_ids": ["0"],
        "order_by": [{"field_name": "name", "ascending": False}],
        "max_results": 2,
    }
    status, first = call(client, "POST", "/logged-models/search", body)
    assert status == 200 and set(first) == {"models", "next_page_token"}
    body["page_token"] = first["next_page_token"]
    status, second = call(client, "POST", "/logged-models/search", body)
    assert status == 200 and set(second) == {"models"}
    found = [m["info"]["model_id"] for m in first["models"] + second["models"]]
    assert found == ids[::-1]
    assert call(client, "POST", "/logged-models/search", {"experiment_ids": []}) == (200, {})
    everything = {"experiment_ids": ["0"], "max_results": 0}  # 0 means the default, 100
    assert len(call(client, "POST", "/logged-models/search", everything)[1]["models"]) == 3


def test_both_api_prefixes(client: TestClient) -> None:
    model_id = create(client)["info"]["model_id"]
    response = client.get(f"/ajax-api/2.0/mlflow/logged-models/{model_id}")
    assert response.status_code == 200
    assert response.json()["model"]["info"]["model_id"] == model_id


def test_listing_proxied_model_artifacts(client: TestClient, config: ServerConfig) -> None:
    model_id = create(client)["info"]["model_id"]
    root = Path(config.artifacts_destination, "0", "models", model_id, "artifacts")
    (root / "sub").mkdir(parents=True)
    (root / "MLmodel").write_text("flavors: {}\n")
    (root / "sub" / "model.pkl").write_bytes(b"12345")
    listing = f"/logged-models/{model_id}/artifacts/directories"
    root_uri = f"mlflow-artifacts:/0/models/{model_id}/artifacts"
    assert call(client, "GET", listing) == (
        200,
        {
            "root_uri": root_uri,
            "files": [
                {"path": "MLmodel", "is_dir": False, "file_size": 12},
                {"path": "sub", "is_dir": True},
            ],
        },
    )
    assert call(client, "GET", f"{listing}?artifact_directory_path=sub") == (
        200,
        {
            "root_uri": root_uri,
            "files": [{"path": "sub/model.pkl", "is_dir": False, "file_size": 5}],
        },
    )
    assert call(client, "GET", f"{listing}?artifact_directory_path=missing") == (
        200,
        {"root_uri": root_uri},
    )


def test_listing_artifacts_under_a_plain_directory(client: TestClient, tmp_path: Path) -> None:
    experiment_root = tmp_path / "direct"
    store = client.app.state.context.tracking  # type: ignore[attr-defined]
    experiment_id = store.create_experiment("direct", str(experiment_root))
    model = create(client, experiment_id=experiment_id)
    root = Path(model["info"]["artifact_uri"])
    assert root == experiment_root / "models" / model["info"]["model_id"] / "artifacts"
    root.mkdir(parents=True)
    (root / "conda.yaml").write_text("x")
    listing = f"/logged-models/{model['info']['model_id']}/artifacts/directories"
    assert call(client, "GET", listing) == (
        200,
        {"root_uri": str(root), "files": [{"path": "conda.yaml", "is_dir": False, "file_size": 1}]},
    )


# ---------------------------------------------------------------- refusals, exact codes

BAD = "INVALID_PARAMETER_VALUE"
MISSING = "RESOURCE_DOES_NOT_EXIST"
UNKNOWN = "m-0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/logged-models", {}, 400, BAD),
        ("POST", "/logged-models", {"experiment_id": 0}, 400, BAD),
        ("POST", "/logged-models", {"experiment_id": "999"}, 404, MISSING),
        ("POST", "/logged-models", {"experiment_id": "0", "name": "a/b"}, 400, BAD),
        ("POST", "/logged-models", {"experiment_id": "0", "name": 5}, 400, BAD),
        ("POST", "/logged-models", {"experiment_id": "0", "tags": {"a": "b"}}, 400, BAD),
        ("POST", "/logged-models", {"experiment_id": "0", "tags": ["a"]}, 400, BAD),
        ("POST", "/logged-models", {"experiment_id": "0", "tags": [{"value": "v"}]}, 400, BAD),
        (
            "POST",
            "/logged-models",
            {"experiment_id": "0", "params": [{"key": "a", "value": 1}]},
            400,
            BAD,
        ),
        (
            "POST",
            "/logged-models",
            {"experiment_id": "0", "params": [{"key": "a", "value": "1"}, {"key": "a"}]},
            400,
            BAD,
        ),
        (
            "POST",
            "/logged-models",
            {"experiment_id": "0", "source_run_id": "0123456789abcdef0123456789abcdef"},
            404,
            MISSING,
        ),
        ("GET", f"/logged-models/{UNKNOWN}", None, 404, MISSING),
        ("GET", f"/logged-models/{UNKNOWN}/artifacts/directories", None, 404, MISSING),
        ("PATCH", f"/logged-models/{UNKNOWN}", {"status": "LOGGED_MODEL_READY"}, 404, MISSING),
        ("DELETE", f"/logged-models/{UNKNOWN}", None, 404, MISSING),
        ("POST", f"/logged-models/{UNKNOWN}/params", {"params": []}, 404, MISSING),
        ("PATCH", f"/logged-models/{UNKNOWN}/tags", {"tags": []}, 404, MISSING),
        ("DELETE", f"/logged-models/{UNKNOWN}/tags/a", None, 404, MISSING),
        ("PATCH", "/logged-models/{id}", {}, 400, BAD),
        ("PATCH", "/logged-models/{id}", {"status": "BOGUS"}, 400, BAD),
        ("PATCH", "/logged-models/{id}", {"status": 0}, 400, BAD),
        ("PATCH", "/logged-models/{id}", {"status": [2]}, 400, BAD),
        ("PATCH", "/logged-models/{id}", {"model_id": UNKNOWN, "status": 2}, 400, BAD),
        ("PATCH", "/logged-models/{id}", {"model_id": 7, "status": 2}, 400, BAD),
        ("POST", "/logged-models/{id}/params", {"params": "a=1"}, 400, BAD),
        ("POST", "/logged-models/{id}/params", {"params": [{"key": "../a"}]}, 400, BAD),
        ("PATCH", "/logged-models/{id}/tags", {"tags": [{"key": "t", "value": None}]}, 200, None),
        ("PATCH", "/logged-models/{id}/tags", {"tags": [{"key": "t", "value": 1.5}]}, 400, BAD),
        ("DELETE", "/logged-models/{id}/tags/nope", None, 404, MISSING),
        (
            "GET",
            "/logged-models/{id}/artifacts/directories?artifact_directory_path=../x",
            None,
            400,
            BAD,
        ),
        ("POST", "/logged-models/search", {}, 400, BAD),
        ("POST", "/logged-models/search", {"experiment_ids": "0"}, 400, BAD),
        ("POST", "/logged-models/search", {"experiment_ids": [0]}, 400, BAD),
        ("POST", "/logged-models/search", {"experiment_ids": ["abc"]}, 400, BAD),
        ("POST", "/logged-models/search", {"experiment_ids": ["0"], "max_results": "x"}, 400, BAD),
        ("POST", "/logged-models/search", {"experiment_ids": ["0"], "max_results": -1}, 400, BAD),
        ("POST", "/logged-models/search", {"experiment_ids": ["0"], "page_token": "?"}, 400, BAD),
        ("POST", "/logged-models/search", {"experiment_ids": ["0"], "filter": "name ="}, 400, BAD),
        ("POST", "/logged-models/search", {"experiment_ids": ["0"], "filter": 3}, 400, BAD),
        ("POST", "/logged-models/search", {"experiment_ids": ["0"], "order_by": "name"}, 400, BAD),
        (
            "POST",
            "/logged-models/search",
            {"experiment_ids": ["0"], "order_by": [{"field_name": "params.p"}]},
            400,
            BAD,
        ),
        (
            "POST",
            "/logged-models/search",
            {"experiment_ids": ["0"], "order_by": [{"field_name": "name", "ascending": "no"}]},
            400,
            BAD,
        ),
        ("POST", "/logged-models/search", {"experiment_ids": ["0"], "datasets": [{}]}, 400, BAD),
        ("POST", "/logged-models/search", {"experiment_ids": ["0"], "datasets": [1]}, 400, BAD),
    ],
)
def test_refusals(
    client: TestClient,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str | None,
) -> None:
    model_id = create(client)["info"]["model_id"]
    got_status, out = call(client, method, path.format(id=model_id), body)
    assert got_status == status, out
    if code is not None:
        assert out["error_code"] == code
        assert out["message"]


def test_malformed_json_is_a_bad_request(client: TestClient) -> None:
    response = client.post(
        f"{API}/logged-models", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "BAD_REQUEST"


# ---------------------------------------------------------------- the real mlflow client


@pytest.fixture
def server_url(config: ServerConfig) -> Iterator[str]:
    """The app behind a real HTTP server on a free loopback port, for clients that need one."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def test_the_mlflow_client_round_trips(server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModelStatus
    from mlflow.exceptions import MlflowException

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    client = MlflowClient(server_url)
    # 150 params: the client sends 100 with the create, then the rest to /params, then gets.
    params = {f"p{i}": str(i) for i in range(150)}
    model = client.create_logged_model("0", name="clf", params=params, tags={"a": "1"})
    assert (model.status, model.params, model.tags) == (
        LoggedModelStatus.PENDING,
        params,
        {"a": "1"},
    )
    assert model.artifact_location == f"mlflow-artifacts:/0/models/{model.model_id}/artifacts"
    ready = client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    assert ready.status == LoggedModelStatus.READY
    client.set_logged_model_tags(model.model_id, {"b": "2"})
    client.delete_logged_model_tag(model.model_id, "a")
    assert client.get_logged_model(model.model_id).tags == {"b": "2"}
    other = client.create_logged_model("0", name="clf")
    page = client.search_logged_models(["0"], filter_string="name = 'clf'", max_results=1)
    assert len(page) == 1 and page.token
    rest = client.search_logged_models(["0"], filter_string="name = 'clf'", page_token=page.token)
    assert rest.token is None
    assert sorted(m.model_id for m in [*page, *rest]) == sorted([model.model_id, other.model_id])
    client.delete_logged_model(model.model_id)
    with pytest.raises(MlflowException) as exc:
        client.get_logged_model(model.model_id)
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"
