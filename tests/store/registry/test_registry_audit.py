"""The registry's audit trail on SQLite and PostgreSQL: one event per change (who, when, what,
before/after), in the change's own transaction, following renames and outliving deletes; and
the webhook payload each event hands to the outbox, in MLflow's shape for MLflow's events."""

from __future__ import annotations

from typing import Any, get_type_hints

import pytest
from mlflow.webhooks import types as mlflow_payloads
from sqlalchemy import Connection

from cairn.entities import Run
from cairn.entities.registry import REGISTRY_EVENTS, RegistryEvent
from cairn.errors import INVALID_PARAMETER_VALUE, CairnError
from cairn.store.registry.actor import acting_as
from cairn.store.registry.sql import SqlRegistryStore


class RecordingStore(SqlRegistryStore):
    """The real store, also keeping each (event, payload) it hands to the webhook outbox."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.payloads: list[tuple[str, dict[str, Any]]] = []

    def _enqueue_webhooks(
        self, conn: Connection, event_id: int, event: str, payload: dict[str, Any]
    ) -> int:
        self.payloads.append((event, payload))
        return super()._enqueue_webhooks(conn, event_id, event, payload)


@pytest.fixture
def store(db_uri: str, tracking: Any) -> RecordingStore:
    return RecordingStore(db_uri)


def _last(store: SqlRegistryStore, name: str | None = None) -> RegistryEvent:
    return store.get_registry_history(name, max_results=1)[0]


def _events(store: SqlRegistryStore, name: str | None = None) -> list[str]:
    return [e.event for e in store.get_registry_history(name, max_results=1000)]


def test_every_kind_of_change_is_recorded_with_who_and_what(
    store: RecordingStore, run: Run
) -> None:
    source = f"runs:/{run.info.run_id}/model"
    expected: list[tuple[str, int | None, Any, Any]] = []

    def check(event: str, version: int | None, before: Any, after: Any) -> None:
        last = _last(store, "m")
        assert (last.event, last.name, last.version) == (event, "m", version)
        assert (last.before, last.after) == (before, after)
        assert last.user_id == "carol"
        assert last.timestamp > 0
        expected.append((event, version, before, after))

    with acting_as("carol"):
        store.create_registered_model("m", tags={"k": "v"}, description="d")
        check(
            "registered_model.created",
            None,
            None,
            {"name": "m", "description": "d", "tags": {"k": "v"}},
        )
        store.update_registered_model("m", "d2")
        check("registered_model.updated", None, {"description": "d"}, {"description": "d2"})
        store.set_registered_model_tag("m", "k", "v2")
        check(
            "registered_model_tag.set",
            None,
            {"key": "k", "value": "v"},
            {"key": "k", "value": "v2"},
        )
        store.set_registered_model_tag("m", "new", "x")
        check("registered_model_tag.set", None, None, {"key": "new", "value": "x"})
        store.delete_registered_model_tag("m", "new")
        check("registered_model_tag.deleted", None, {"key": "new", "value": "x"}, None)
        store.create_model_version("m", source, tags={"t": "1"}, description="vd")
        created = _last(store, "m")
        assert created.event == "model_version.created" and created.version == 1
        assert created.before is None
        assert created.after is not None
        assert created.after["source"] == source
        assert created.after["storage_location"] == run.info.artifact_uri + "/model"
        assert created.after["run_id"] == run.info.run_id
        assert (created.after["tags"], created.after["description"]) == ({"t": "1"}, "vd")
        assert created.after["user_id"] == "carol"
        store.create_model_version("m", source)
        store.update_model_version("m", 1, "vd2")
        check("model_version.updated", 1, {"description": "vd"}, {"description": "vd2"})
        store.set_model_version_tag("m", 1, "t", "2")
        check("model_version_tag.set", 1, {"key": "t", "value": "1"}, {"key": "t", "value": "2"})
        store.delete_model_version_tag("m", 1, "t")
        check("model_version_tag.deleted", 1, {"key": "t", "value": "2"}, None)
        store.set_registered_model_alias("m", "champion", 1)
        check("model_version_alias.created", 1, None, {"alias": "champion", "version": 1})
        store.set_registered_model_alias("m", "champion", 2)
        check(
            "model_version_alias.created",
            2,
            {"alias": "champion", "version": 1},
            {"alias": "champion", "version": 2},
        )
        store.delete_registered_model_alias("m", "champion")
        check("model_version_alias.deleted", 2, {"alias": "champion", "version": 2}, None)
        store.transition_model_version_stage("m", 1, "Staging")
        check(
            "model_version.stage_changed",
            1,
            {"current_stage": "None"},
            {"current_stage": "Staging"},
        )
        store.set_registered_model_alias("m", "keep", 1)
        store.delete_model_version("m", 1)
        deleted = _last(store, "m")
        assert (deleted.event, deleted.version, deleted.after) == ("model_version.deleted", 1, None)
        assert deleted.before is not None
        assert deleted.before["aliases"] == ["keep"]
        assert deleted.before["current_stage"] == "Staging"
        assert deleted.before["description"] == "vd2"
    recorded = set(_events(store, "m"))
    assert recorded <= set(REGISTRY_EVENTS)
    assert {e for e, *_ in expected} <= recorded


def test_no_op_deletes_record_nothing(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    store.create_model_version("m", f"runs:/{run.info.run_id}/model")
    before = _events(store, "m")
    store.delete_registered_model_tag("m", "nope")
    store.delete_model_version_tag("m", 1, "nope")
    store.delete_registered_model_alias("m", "nope")
    assert _events(store, "m") == before


def test_failed_changes_record_nothing(store: SqlRegistryStore) -> None:
    store.create_registered_model("m")
    for call in (
        lambda: store.create_registered_model("m"),
        lambda: store.set_registered_model_alias("m", "a", 1),
        lambda: store.create_model_version("m", "/etc/passwd"),
        lambda: store.transition_model_version_stage("m", 1, "Staging"),
    ):
        with pytest.raises(CairnError):
            call()
    assert _events(store) == ["registered_model.created"]


def test_archiving_records_one_stage_change_per_version(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    for _ in range(3):
        store.create_model_version("m", f"runs:/{run.info.run_id}/model")
    store.transition_model_version_stage("m", 1, "Production")
    store.transition_model_version_stage("m", 2, "Production")
    store.transition_model_version_stage("m", 3, "Production", archive_existing_versions=True)
    changes = [
        (e.version, e.before, e.after) for e in store.get_registry_history("m", max_results=3)
    ]
    assert changes == [
        (3, {"current_stage": "None"}, {"current_stage": "Production"}),
        (2, {"current_stage": "Production"}, {"current_stage": "Archived"}),
        (1, {"current_stage": "Production"}, {"current_stage": "Archived"}),
    ]


def test_history_follows_a_rename_and_outlives_a_delete(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("old", tags={"k": "v"})
    store.create_model_version("old", f"runs:/{run.info.run_id}/model")
    store.set_registered_model_alias("old", "a", 1)
    store.rename_registered_model("old", "new")
    assert _events(store, "old") == []
    assert _events(store, "new") == [
        "registered_model.renamed",
        "model_version_alias.created",
        "model_version.created",
        "registered_model.created",
    ]
    renamed = _last(store, "new")
    assert (renamed.before, renamed.after) == ({"name": "old"}, {"name": "new"})
    store.delete_registered_model("new")
    history = store.get_registry_history("new")
    assert len(history) == 5
    deleted = history[0]
    assert deleted.event == "registered_model.deleted" and deleted.after is None
    assert deleted.before is not None
    assert deleted.before["tags"] == {"k": "v"}
    assert deleted.before["aliases"] == {"a": 1}
    assert deleted.before["versions"] == [1]


def test_history_of_a_version_of_all_models_and_paging(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("a")
    store.create_registered_model("b")
    store.create_model_version("a", f"runs:/{run.info.run_id}/model")
    store.create_model_version("a", f"runs:/{run.info.run_id}/model")
    store.set_model_version_tag("a", 2, "k", "v")
    assert [e.event for e in store.get_registry_history("a", 2)] == [
        "model_version_tag.set",
        "model_version.created",
    ]
    everything = store.get_registry_history()
    assert [e.name for e in everything] == ["a", "a", "a", "b", "a"]
    ids = [e.event_id for e in everything]
    assert ids == sorted(ids, reverse=True)
    first = store.get_registry_history(max_results=2)
    second = store.get_registry_history(max_results=2, page_token=first.token)
    third = store.get_registry_history(max_results=2, page_token=second.token)
    assert [e.event_id for e in [*first, *second, *third]] == ids
    assert third.token is None
    for bad in (
        lambda: store.get_registry_history(None, 1),
        lambda: store.get_registry_history("a", "x"),
        lambda: store.get_registry_history(max_results=0),
        lambda: store.get_registry_history(page_token="garbage"),
    ):
        with pytest.raises(CairnError) as info:
            bad()
        assert info.value.error_code == INVALID_PARAMETER_VALUE


# ---------------------------------------------------------------- webhook payloads

_MLFLOW_PAYLOADS = {
    "registered_model.created": mlflow_payloads.RegisteredModelCreatedPayload,
    "model_version.created": mlflow_payloads.ModelVersionCreatedPayload,
    "model_version_tag.set": mlflow_payloads.ModelVersionTagSetPayload,
    "model_version_tag.deleted": mlflow_payloads.ModelVersionTagDeletedPayload,
    "model_version_alias.created": mlflow_payloads.ModelVersionAliasCreatedPayload,
    "model_version_alias.deleted": mlflow_payloads.ModelVersionAliasDeletedPayload,
}


def test_webhook_payloads_have_mlflows_fields(store: RecordingStore, run: Run) -> None:
    store.create_registered_model("m", tags={"k": "v"}, description="d")
    store.update_registered_model("m", "d2")
    store.set_registered_model_tag("m", "k", "v2")
    store.delete_registered_model_tag("m", "k")
    store.create_model_version("m", f"runs:/{run.info.run_id}/model", tags={"t": "1"})
    store.update_model_version("m", 1, "x")
    store.set_model_version_tag("m", 1, "t", "2")
    store.delete_model_version_tag("m", 1, "t")
    store.set_registered_model_alias("m", "champion", 1)
    store.delete_registered_model_alias("m", "champion")
    store.transition_model_version_stage("m", 1, "Staging")
    store.rename_registered_model("m", "n")
    store.delete_model_version("n", 1)
    store.delete_registered_model("n")
    events = [event for event, _ in store.payloads]
    assert set(events) == set(REGISTRY_EVENTS)
    for event, payload in store.payloads:
        if event in _MLFLOW_PAYLOADS:
            assert set(payload) == set(get_type_hints(_MLFLOW_PAYLOADS[event])), event
        if "version" in payload:
            assert isinstance(payload["version"], str), event
    payloads = dict(store.payloads)
    assert payloads["model_version.created"] == {
        "name": "m",
        "version": "1",
        "source": f"runs:/{run.info.run_id}/model",
        "run_id": run.info.run_id,
        "tags": {"t": "1"},
        "description": None,
    }
    assert payloads["model_version_alias.created"] == {
        "name": "m",
        "alias": "champion",
        "version": "1",
    }
    assert payloads["registered_model.renamed"] == {"name": "m", "new_name": "n"}
    # The events are the audit rows' events, one payload per row.
    assert len(store.payloads) == len(store.get_registry_history(max_results=1000))
