"""The registry from Python: ``cairn.register_model``, ``RegistryClient`` and the same methods
on ``TrackingClient``, ``registered_model_name`` in ``log_model``, and loading registered
versions through ``models:/`` URIs, on the embedded SQLite store with real scikit-learn models.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed")
pytest.importorskip("skops", reason="skops is not installed")

from sklearn.linear_model import LogisticRegression

import cairn
import cairn.pyfunc
import cairn.sklearn
from cairn.errors import CairnError
from cairn.registry.client import RegistryClient, RegistryMethods
from cairn.tracking import config
from cairn.tracking.client import TrackingClient

REGISTRY_METHODS = (
    "create_registered_model",
    "get_registered_model",
    "rename_registered_model",
    "update_registered_model",
    "delete_registered_model",
    "search_registered_models",
    "get_latest_versions",
    "set_registered_model_tag",
    "delete_registered_model_tag",
    "create_model_version",
    "get_model_version",
    "update_model_version",
    "transition_model_version_stage",
    "delete_model_version",
    "get_model_version_download_uri",
    "search_model_versions",
    "set_model_version_tag",
    "delete_model_version_tag",
    "set_registered_model_alias",
    "delete_registered_model_alias",
    "get_model_version_by_alias",
    "copy_model_version",
    "get_model_version_lineage",
    "get_registry_history",
    "create_webhook",
    "list_webhooks",
    "get_webhook",
    "update_webhook",
    "delete_webhook",
    "test_webhook",
    "list_webhook_deliveries",
)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.random(60), "b": rng.random(60)})


@pytest.fixture(scope="module")
def models(data: pd.DataFrame) -> list[LogisticRegression]:
    """Three models that predict differently on ``data``: a > 0.5, a <= 0.5, b > 0.5."""
    targets = [data.a > 0.5, data.a <= 0.5, data.b > 0.5]
    fitted = [LogisticRegression(C=100).fit(data, t.astype(int)) for t in targets]
    predictions = [m.predict(data) for m in fitted]
    assert not np.array_equal(predictions[0], predictions[1])
    assert not np.array_equal(predictions[0], predictions[2])
    return fitted


def _log(model: LogisticRegression, data: pd.DataFrame, **kwargs):  # type: ignore[no-untyped-def]
    with cairn.start_run():
        return cairn.sklearn.log_model(model, name="model", input_example=data[:3], **kwargs)


def _predicts(uri: str, model: LogisticRegression, data: pd.DataFrame) -> None:
    np.testing.assert_array_equal(cairn.pyfunc.load_model(uri).predict(data), model.predict(data))


# ----------------------------------------------------------------------------- the issue


def test_the_issue_snippet_works_verbatim(models, data) -> None:
    infos = [_log(m, data) for m in models]
    for info in infos:
        cairn.register_model(info.model_uri, "churn")
    client = cairn.RegistryClient()
    client.set_registered_model_alias("churn", "champion", 3)
    model = cairn.pyfunc.load_model("models:/churn@champion")
    np.testing.assert_array_equal(model.predict(data), models[2].predict(data))
    _predicts("models:/churn/3", models[2], data)
    _predicts("models:/churn/1", models[0], data)
    _predicts("models:/churn/2", models[1], data)

    # The alias moves; the URI follows it.
    client.set_registered_model_alias("churn", "champion", "1")
    _predicts("models:/churn@champion", models[0], data)


def test_register_model_creates_the_model_once_and_records_lineage(models, data) -> None:
    info = _log(models[0], data)
    first = cairn.register_model(info.model_uri, "churn", tags={"stage": "candidate", "n": 1})
    second = cairn.register_model(info.model_uri, "churn")
    assert (first.version, second.version) == (1, 2)
    assert first.status == "READY" and first.source == info.model_uri
    assert first.model_id == info.model_id and first.run_id == info.run_id
    assert first.tags == {"stage": "candidate", "n": "1"}
    assert first.model_uri == "models:/churn/1"
    assert cairn.RegistryClient().get_registered_model("churn").name == "churn"


def test_register_a_runs_uri_finds_the_runs_logged_model(models, data) -> None:
    info = _log(models[1], data)
    version = cairn.register_model(f"runs:/{info.run_id}/model", "churn")
    assert version.run_id == info.run_id and version.model_id == info.model_id
    _predicts("models:/churn/1", models[1], data)


def test_register_from_an_alias_pins_the_version_it_names(models, data) -> None:
    info = _log(models[0], data)
    cairn.register_model(info.model_uri, "churn")
    client = cairn.RegistryClient()
    client.set_registered_model_alias("churn", "champion", 1)
    pinned = cairn.register_model("models:/churn@champion", "churn-prod")
    assert pinned.source == "models:/churn/1" and pinned.model_id == info.model_id
    _predicts("models:/churn-prod/1", models[0], data)


def test_register_a_numbered_version_uri_keeps_its_lineage(models, data) -> None:
    info = _log(models[0], data)
    cairn.register_model(info.model_uri, "churn")
    copied = cairn.register_model("models:/churn/1", "churn-prod")  # the store resolves it
    assert copied.source == "models:/churn/1"
    assert (copied.run_id, copied.model_id) == (info.run_id, info.model_id)
    _predicts("models:/churn-prod/1", models[0], data)


def test_register_model_errors_are_clear(models, data) -> None:
    with pytest.raises(CairnError) as excinfo:
        cairn.register_model("models:/m-00000000000000000000000000000000", "churn")
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(CairnError, match="no registered model named 'nope'"):
        cairn.register_model("models:/nope@champion", "churn")
    with pytest.raises(CairnError, match="Invalid model URI"):
        cairn.register_model("", "churn")


def test_log_model_with_registered_model_name(models, data) -> None:
    with cairn.start_run() as run:
        first = cairn.sklearn.log_model(models[0], name="m", registered_model_name="churn")
        second = cairn.sklearn.log_model(models[1], name="m", registered_model_name="churn")
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)
    version = cairn.RegistryClient().get_model_version("churn", 2)
    assert version.model_id == second.model_id and version.run_id == run.info.run_id
    assert version.source == f"models:/{second.model_id}"
    _predicts("models:/churn/latest", models[1], data)
    _predicts("models:/churn/1", models[0], data)
    assert _log(models[0], data).registered_model_version is None


def test_copy_model_version_across_models(models, data) -> None:
    for model in models[:2]:
        cairn.register_model(_log(model, data).model_uri, "churn")
    client = cairn.RegistryClient()
    client.set_registered_model_alias("churn", "champion", 2)

    copied = client.copy_model_version("models:/churn@champion", "churn-prod")
    assert (copied.name, copied.version) == ("churn-prod", 1)
    assert copied.source == "models:/churn/2"
    original = client.get_model_version("churn", 2)
    assert (copied.run_id, copied.model_id) == (original.run_id, original.model_id)
    _predicts("models:/churn-prod/1", models[1], data)

    again = client.copy_model_version("models:/churn/1", "churn-prod")  # an existing target
    assert again.version == 2
    _predicts("models:/churn-prod/latest", models[0], data)
    with pytest.raises(CairnError, match="no version 9"):
        client.copy_model_version("models:/churn/9", "churn-prod")
    with pytest.raises(CairnError, match="Invalid model URI"):
        client.copy_model_version("runs:/abc/model", "churn-prod")


# ----------------------------------------------------------------------------- the client


def test_one_implementation_serves_both_clients() -> None:
    for name in REGISTRY_METHODS:
        method = getattr(RegistryMethods, name)
        assert getattr(RegistryClient, name) is method, name
        assert getattr(TrackingClient, name) is method, name


def test_tracking_client_manages_the_registry(models, data) -> None:
    client = TrackingClient()
    created = client.create_registered_model("churn", tags={"team": "risk"}, description="v0")
    assert created.tags == {"team": "risk"} and created.description == "v0"
    info = _log(models[0], data)
    v1 = client.create_model_version("churn", info.model_uri, model_id=info.model_id)
    v2 = client.create_model_version("churn", info.model_uri, description="second")
    assert (v1.version, v2.version, v2.description) == (1, 2, "second")

    assert client.update_registered_model("churn", "about churn").description == "about churn"
    assert client.update_model_version("churn", "2", "edited").description == "edited"
    client.set_registered_model_tag("churn", "owner", 7)
    client.set_model_version_tag("churn", "1", "validated", True)
    assert client.get_registered_model("churn").tags == {"team": "risk", "owner": "7"}
    assert client.get_model_version("churn", 1).tags == {"validated": "True"}
    client.delete_registered_model_tag("churn", "team")
    client.delete_model_version_tag("churn", 1, "validated")
    assert client.get_registered_model("churn").tags == {"owner": "7"}
    assert client.get_model_version("churn", "1").tags == {}

    staged = client.transition_model_version_stage("churn", 1, "production")
    assert staged.current_stage == "Production"
    client.transition_model_version_stage(
        "churn", "2", "Production", archive_existing_versions=True
    )
    assert client.get_model_version("churn", 1).current_stage == "Archived"
    latest = client.get_latest_versions("churn", ["Production"])
    assert [v.version for v in latest] == [2]

    client.set_registered_model_alias("churn", "champion", 2)
    assert client.get_model_version_by_alias("churn", "champion").version == 2
    assert client.get_registered_model("churn").aliases == {"champion": 2}
    client.delete_registered_model_alias("churn", "champion")
    assert client.get_registered_model("churn").aliases == {}

    found = client.search_registered_models(filter_string="name LIKE 'chu%'")
    assert [m.name for m in found] == ["churn"]
    versions = client.search_model_versions("name = 'churn'", order_by=["version_number ASC"])
    assert [v.version for v in versions] == [1, 2]
    assert client.get_model_version_download_uri("churn", 1).endswith("/artifacts")

    renamed = client.rename_registered_model("churn", "attrition")
    assert renamed.name == "attrition"
    _predicts("models:/attrition/1", models[0], data)
    client.delete_model_version("attrition", 1)
    with pytest.raises(CairnError) as excinfo:
        client.get_model_version("attrition", 1)
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.delete_registered_model("attrition")
    with pytest.raises(CairnError) as excinfo:
        client.get_registered_model("attrition")
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize("version", ["abc", "0", "-1", 0, "1.5", None])
def test_versions_are_ints_or_their_text(version) -> None:
    client = RegistryClient()
    client.create_registered_model("churn")
    with pytest.raises(CairnError, match="Invalid model version") as excinfo:
        client.get_model_version("churn", version)
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"


def test_lineage_and_history_through_the_client(models, data) -> None:
    info = _log(models[0], data)
    client = RegistryClient()
    version = cairn.register_model(info.model_uri, "churn")
    client.set_registered_model_alias("churn", "champion", version.version)
    lineage = client.get_model_version_lineage("churn", "1")
    assert lineage.run_id == info.run_id and lineage.model_id == info.model_id
    events = client.get_registry_history("churn")
    assert [e.event for e in events][:3] == [
        "model_version_alias.created",
        "model_version.created",
        "registered_model.created",
    ]
    assert {e.user_id for e in events} == {version.user_id}
    only_v1 = client.get_registry_history("churn", version="1")
    assert only_v1 and {e.version for e in only_v1} == {1}


def test_webhooks_through_the_client() -> None:
    client = RegistryClient()
    hook = client.create_webhook(
        "ci", "https://example.com/hook", ["model_version.created"], secret="s3cret"
    )
    assert client.get_webhook(hook.webhook_id).name == "ci"
    assert [h.webhook_id for h in client.list_webhooks()] == [hook.webhook_id]
    updated = client.update_webhook(hook.webhook_id, description="deploys", status="DISABLED")
    assert updated.description == "deploys" and updated.status == "DISABLED"
    assert list(client.list_webhook_deliveries(hook.webhook_id)) == []
    client.delete_webhook(hook.webhook_id)
    assert list(client.list_webhooks()) == []


# ----------------------------------------------------------------------------- registry URI


def test_the_registry_can_live_apart_from_the_tracking_data(
    models, data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Versions registered in one store load while tracking points at another. (A SQL
    registry resolves sources against the tracking data in its own database, so models are
    registered where they were logged.)"""
    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    cairn.set_tracking_uri(shared)
    assert cairn.get_registry_uri() == shared
    cairn.register_model(_log(models[0], data).model_uri, "churn")

    cairn.set_tracking_uri(tmp_path / "mine.db")  # a plain path is a SQLite file
    cairn.set_registry_uri(tmp_path / "shared.db")
    assert cairn.get_registry_uri() == shared
    _predicts("models:/churn/1", models[0], data)
    assert [m.name for m in TrackingClient().search_registered_models()] == ["churn"]
    assert RegistryClient(registry_uri=cairn.get_tracking_uri()).search_registered_models() == []

    cairn.set_registry_uri(None)
    assert cairn.get_registry_uri() == cairn.get_tracking_uri()
    assert RegistryClient().search_registered_models() == []
    monkeypatch.setenv(config.REGISTRY_URI_ENV, shared)
    assert [m.name for m in RegistryClient().search_registered_models()] == ["churn"]
    _predicts("models:/churn/latest", models[0], data)


def test_import_cairn_stays_light() -> None:
    code = (
        "import sys, cairn; cairn.RegistryClient; cairn.register_model; cairn.set_registry_uri;"
        "print(','.join(m for m in ('sqlalchemy', 'numpy', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
