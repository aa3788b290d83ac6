"""cairn's REST webhook calls against a real ``mlflow server``, and a receiver that checks
MLflow's own deliveries with cairn's signature code: both sides speak the same protocol."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cairn.errors import CairnError
from cairn.store.registry.rest import RestRegistryStore
from rest_server import MlflowServer, mlflow_command
from webhook_receiver import Receiver, running_receiver

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    command = mlflow_command()
    if command is None:
        pytest.skip("no mlflow to run a server with: pip install mlflow==3.17.2")
    with pytest.MonkeyPatch.context() as env:
        # MLflow calls only public https receivers unless told; the test's is on loopback.
        env.setenv("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true")
        env.setenv("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https")
        server = MlflowServer(tmp_path_factory.mktemp("mlflow-webhooks"), command).start(180)
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def test_webhooks_on_an_mlflow_server(mlflow_server: MlflowServer, receiver: Receiver) -> None:
    store = RestRegistryStore(mlflow_server.url)
    events = ["registered_model.created", "model_version_tag.set"]
    hook = store.create_webhook("cairn-made", receiver.url, events, secret="k", description="d")
    assert (sorted(hook.events), hook.status, hook.description) == (sorted(events), "ACTIVE", "d")
    assert store.get_webhook(hook.webhook_id).url == receiver.url
    assert hook.webhook_id in [w.webhook_id for w in store.list_webhooks()]

    ping = store.test_webhook(hook.webhook_id, "model_version_tag.set")
    assert (ping.status, ping.response_status) == ("SUCCEEDED", 200)
    (request,) = receiver.wait_for(1)
    assert request.signed_by("k")  # MLflow's signature, checked by cairn's code
    assert (request.json["entity"], request.json["action"]) == ("model_version_tag", "set")

    store.create_registered_model("from-cairn")
    event = receiver.wait_for(2)[1]
    assert event.signed_by("k")
    assert event.json["data"]["name"] == "from-cairn"

    updated = store.update_webhook(hook.webhook_id, status="DISABLED")
    assert updated.status == "DISABLED"
    with pytest.raises(CairnError) as info:
        store.list_webhook_deliveries(hook.webhook_id)
    assert info.value.error_code == "NOT_IMPLEMENTED"  # MLflow keeps no delivery log
    store.delete_webhook(hook.webhook_id)
    with pytest.raises(CairnError) as info:
        store.get_webhook(hook.webhook_id)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    store.close()
