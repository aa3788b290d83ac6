"""The webhook endpoints over HTTP: MLflow's JSON and errors in-process, then the real mlflow
client and cairn's REST store against a live ``cairn server`` that delivers to a real receiver.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cairn.server.app import create_app
from cairn.server.config import ServerConfig
from cairn.store.registry.rest import RestRegistryStore
from cairn.webhooks import dispatcher
from webhook_receiver import Receiver, running_receiver

API = "/api/2.0/mlflow"
DELIVERIES = "/api/2.0/cairn/webhooks/deliveries"
MV_CREATED = {"entity": "MODEL_VERSION", "action": "CREATED"}
RM_CREATED = {"entity": "REGISTERED_MODEL", "action": "CREATED"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "live_server" in metafunc.fixturenames:
        backends = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
        metafunc.parametrize("live_server", backends, indirect=True, scope="module")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    config = ServerConfig(
        backend_store_uri=f"sqlite:///{tmp_path}/server.db",
        artifacts_destination=str(tmp_path / "destination"),
    )
    with TestClient(create_app(config), base_url="http://localhost") as test_client:
        yield test_client
    dispatcher.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def _create(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "hook", "url": "https://hooks.example.com/x", "events": [MV_CREATED]}
    response = client.post(f"{API}/webhooks", json={**body, **fields})
    assert response.status_code == 200, response.text
    return dict(response.json()["webhook"])


# ---------------------------------------------------------------------- in-process


def test_create_answers_mlflows_json(client: TestClient) -> None:
    hook = _create(client, description="d", secret="s", status="DISABLED")
    assert hook["name"] == "hook" and hook["url"] == "https://hooks.example.com/x"
    assert hook["events"] == [MV_CREATED]
    assert hook["status"] == "DISABLED" and hook["description"] == "d"
    assert isinstance(hook["creation_timestamp"], int)
    assert hook["has_secret"] is True and "secret" not in hook
    for prefix in (API, "/ajax-api/2.0/mlflow"):
        got = client.get(f"{prefix}/webhooks/{hook['webhook_id']}")
        assert got.json() == {"webhook": hook}


def test_cairn_events_stay_out_of_mlflows_list(client: TestClient) -> None:
    renamed = {"entity": "REGISTERED_MODEL", "action": "RENAMED"}
    hook = _create(client, events=[RM_CREATED, renamed])
    assert hook["events"] == [RM_CREATED]
    assert hook["cairn_events"] == ["registered_model.created", "registered_model.renamed"]


def test_list_update_delete(client: TestClient) -> None:
    ids = [_create(client, name=f"h{i}")["webhook_id"] for i in range(3)]
    first = client.get(f"{API}/webhooks", params={"max_results": 2}).json()
    assert len(first["webhooks"]) == 2 and first["next_page_token"]
    rest = client.get(
        f"{API}/webhooks", params={"max_results": 2, "page_token": first["next_page_token"]}
    ).json()
    assert "next_page_token" not in rest
    assert sorted(w["webhook_id"] for w in first["webhooks"] + rest["webhooks"]) == sorted(ids)

    patched = client.patch(
        f"{API}/webhooks/{ids[0]}", json={"status": "DISABLED", "events": [RM_CREATED]}
    )
    assert patched.status_code == 200
    assert patched.json()["webhook"]["status"] == "DISABLED"
    assert patched.json()["webhook"]["events"] == [RM_CREATED]
    assert patched.json()["webhook"]["name"] == "h0"

    assert client.delete(f"{API}/webhooks/{ids[0]}").json() == {}
    gone = client.get(f"{API}/webhooks/{ids[0]}")
    assert gone.status_code == 404
    assert gone.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://x.example.com", "events": [MV_CREATED]},  # no name
        {"name": "h", "events": [MV_CREATED]},  # no url
        {"name": "h", "url": "https://x.example.com"},  # no events
        {"name": "h", "url": "https://x.example.com", "events": []},
        {"name": "h", "url": "https://x.example.com", "events": "MODEL_VERSION"},
        {"name": "h", "url": "https://x.example.com", "events": [{"entity": "MODEL_VERSION"}]},
        {"name": "h", "url": "https://x.example.com", "events": [{"entity": 1, "action": 1}]},
        {"name": "h", "url": "https://x.example.com", "events": [{"entity": "RUN", "action": "X"}]},
        {"name": "h", "url": "gopher://x.example.com", "events": [MV_CREATED]},
        {"name": "h", "url": "http://169.254.169.254/", "events": [MV_CREATED]},
        {"name": "no spaces", "url": "https://x.example.com", "events": [MV_CREATED]},
        {"name": "h", "url": "https://x.example.com", "events": [MV_CREATED], "status": "ON"},
        {"name": ["h"], "url": "https://x.example.com", "events": [MV_CREATED]},
    ],
)
def test_bad_requests_get_mlflows_error_json(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post(f"{API}/webhooks", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert response.json()["message"]
    assert client.get(f"{API}/webhooks").json() == {}  # an empty list left out, as in MLflow


@pytest.mark.parametrize(
    ("method", "path", "params", "status"),
    [
        ("GET", "/webhooks/nope", None, 404),
        ("PATCH", "/webhooks/nope", None, 404),
        ("DELETE", "/webhooks/nope", None, 404),
        ("POST", "/webhooks/nope/test", None, 404),
        ("GET", "/webhooks", {"max_results": 5000}, 400),
        ("GET", "/webhooks", {"max_results": "many"}, 400),
        ("GET", "/webhooks", {"page_token": "garbage"}, 400),
    ],
)
def test_bad_ids_and_pages(
    client: TestClient, method: str, path: str, params: Any, status: int
) -> None:
    response = client.request(
        method, f"{API}{path}", params=params, json={} if method != "GET" else None
    )
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error_code", "message"}


def test_test_ping_and_the_delivery_log(client: TestClient, receiver: Receiver) -> None:
    hook = _create(client, url=receiver.url, events=[MV_CREATED, RM_CREATED])
    one = f"{API}/webhooks/{hook['webhook_id']}"
    answer = client.post(f"{one}/test", json={"event": RM_CREATED}).json()
    assert answer["result"] == {"success": True, "response_status": 200}
    assert answer["delivery"]["event"] == "registered_model.created"
    assert receiver.requests[0].json["entity"] == "registered_model"

    receiver.status = 500
    failed = client.post(f"{one}/test", json={}).json()
    assert failed["result"]["success"] is False
    assert failed["result"]["response_status"] == 500
    assert "500" in failed["result"]["error_message"]

    log = client.get(DELIVERIES, params={"webhook_id": hook["webhook_id"]}).json()
    assert [d["status"] for d in log["deliveries"]] == ["FAILED", "SUCCEEDED"]
    assert log["deliveries"][0]["event"] == "model_version.created"  # the first subscribed
    page = client.get(
        "/ajax-api/2.0/cairn/webhooks/deliveries",
        params={"webhook_id": hook["webhook_id"], "max_results": 1},
    ).json()
    assert len(page["deliveries"]) == 1 and page["next_page_token"]
    missing = client.get(DELIVERIES)
    assert missing.status_code == 400
    assert missing.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert client.get(DELIVERIES, params={"webhook_id": "nope"}).status_code == 404


# ---------------------------------------------------------------------- live server


@pytest.fixture
def mlflow_client(live_server: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    return mlflow.MlflowClient(tracking_uri=live_server, registry_uri=live_server)


def test_the_mlflow_client(mlflow_client: Any, receiver: Receiver) -> None:
    from mlflow.entities.webhook import WebhookEvent, WebhookStatus
    from mlflow.exceptions import MlflowException

    events = [
        WebhookEvent("registered_model", "created"),
        WebhookEvent("model_version_alias", "created"),
    ]
    hook = mlflow_client.create_webhook(
        name="mlflow-made", url=receiver.url, events=events, secret="shh", description="d"
    )
    assert hook.events == events and hook.status == WebhookStatus.ACTIVE
    assert hook.secret is None  # never returned
    listed = mlflow_client.list_webhooks()
    assert hook.webhook_id in [w.webhook_id for w in listed]
    assert mlflow_client.get_webhook(hook.webhook_id).description == "d"

    result = mlflow_client.test_webhook(hook.webhook_id)
    assert result.success and result.response_status == 200
    ping = receiver.wait_for(1)[0]
    assert ping.signed_by("shh")
    assert ping.json["entity"] == "registered_model"

    # A real registry change through the server reaches the receiver, signed.
    mlflow_client.create_registered_model("from-mlflow")
    event = receiver.wait_for(2)[1]
    assert event.signed_by("shh")
    assert (event.json["action"], event.json["data"]["name"]) == ("created", "from-mlflow")

    updated = mlflow_client.update_webhook(hook.webhook_id, status=WebhookStatus.DISABLED)
    assert updated.status == WebhookStatus.DISABLED
    with pytest.raises(MlflowException, match="Invalid webhook URL"):
        mlflow_client.create_webhook(name="bad", url="ftp://x", events=events)
    mlflow_client.delete_webhook(hook.webhook_id)
    with pytest.raises(MlflowException, match="not found"):
        mlflow_client.get_webhook(hook.webhook_id)


def test_cairns_rest_store(live_server: str, receiver: Receiver) -> None:
    store = RestRegistryStore(live_server)
    events = ["registered_model.created", "registered_model.renamed"]  # one is cairn's own
    hook = store.create_webhook("rest-made", receiver.url, events, secret="k")
    assert hook.events == events and hook.has_secret
    assert store.get_webhook(hook.webhook_id) == hook
    assert hook.webhook_id in [w.webhook_id for w in store.list_webhooks(max_results=1000)]

    delivery = store.test_webhook(hook.webhook_id, "registered_model.renamed")
    assert (delivery.status, delivery.response_status) == ("SUCCEEDED", 200)
    assert delivery.delivery_id and delivery.event == "registered_model.renamed"
    (logged,) = store.list_webhook_deliveries(hook.webhook_id)
    assert logged == delivery

    changed = store.update_webhook(hook.webhook_id, events=["model_version.created"], secret="")
    assert changed.events == ["model_version.created"] and not changed.has_secret
    store.delete_webhook(hook.webhook_id)
    from cairn.errors import CairnError

    with pytest.raises(CairnError) as info:
        store.get_webhook(hook.webhook_id)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    store.close()


def test_several_server_processes_send_each_delivery_once(
    cairn_server: Any, db_uri: str, receiver: Receiver
) -> None:
    """Three workers on one database, each with its own dispatcher, all claiming from the
    same outbox: every event arrives, and only once."""
    server = cairn_server("--workers", "3", backend_store_uri=db_uri)
    store = RestRegistryStore(server.url)
    hook = store.create_webhook("many", receiver.url, ["registered_model.created"])
    names = [f"model-{i}" for i in range(24)]
    for name in names:
        store.create_registered_model(name)
    requests = receiver.wait_for(len(names), timeout_s=120)
    assert sorted(r.json["data"]["name"] for r in requests) == sorted(names)
    ids = [r.headers["X-MLflow-Delivery-Id"] for r in requests]
    assert len(set(ids)) == len(ids)
    deadline = time.monotonic() + 60
    while True:
        log = store.list_webhook_deliveries(hook.webhook_id)
        if all(d.status == "SUCCEEDED" for d in log):
            break
        assert time.monotonic() < deadline, log
        time.sleep(0.05)
    assert sorted(d.delivery_id for d in log) == sorted(ids)
    assert all(d.attempts == 1 for d in log)
    assert len(receiver.requests) == len(names)  # nothing sent twice
    store.close()
