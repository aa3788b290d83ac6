"""Webhooks in the SQL registry store: what is saved, what is refused, what is returned."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cairn.errors import CairnError
from cairn.store.registry.sql import SqlRegistryStore
from cairn.webhooks import dispatcher

URL = "https://hooks.example.com/registry"
EVENTS = ["model_version.created", "model_version_alias.created"]


@pytest.fixture(autouse=True)
def _stop_dispatchers() -> Iterator[None]:
    """Deliveries left pending (to closed ports) are not the next test's business."""
    yield
    dispatcher.shutdown()


def test_create_and_get(store: SqlRegistryStore) -> None:
    hook = store.create_webhook("deploy", URL, EVENTS, description="CD", secret="zq-secret")
    assert hook.name == "deploy" and hook.url == URL and hook.events == EVENTS
    assert (hook.status, hook.description, hook.has_secret) == ("ACTIVE", "CD", True)
    assert hook.creation_timestamp == hook.last_updated_timestamp > 0
    assert store.get_webhook(hook.webhook_id) == hook
    assert "zq-secret" not in repr(hook)  # the secret is never read back


def test_defaults(store: SqlRegistryStore) -> None:
    hook = store.create_webhook("plain", URL, ["registered_model.created"])
    assert (hook.status, hook.description, hook.has_secret) == ("ACTIVE", None, False)
    disabled = store.create_webhook("off", URL, ["registered_model.created"], status="DISABLED")
    assert disabled.status == "DISABLED"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "bad name"}, "Invalid webhook name"),
        ({"url": "ftp://example.com"}, "scheme"),
        ({"url": "http://169.254.169.254/"}, "link-local"),
        ({"events": []}, "non-empty"),
        ({"events": ["run.created"]}, "Unknown webhook event"),
        ({"status": "PAUSED"}, "ACTIVE or DISABLED"),
        ({"description": "x" * 5001}, "description"),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(
    store: SqlRegistryStore, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"name": "ok", "url": URL, "events": EVENTS, **kwargs}
    with pytest.raises(CairnError, match=message) as info:
        store.create_webhook(**args)  # type: ignore[arg-type]
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert list(store.list_webhooks()) == []


def test_loopback_needs_the_setting(
    store: SqlRegistryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert store.create_webhook("local", "http://127.0.0.1:9000/", EVENTS).url
    monkeypatch.setenv("CAIRN_WEBHOOK_ALLOW_PRIVATE_IPS", "false")
    with pytest.raises(CairnError, match="not a public address"):
        store.create_webhook("local2", "http://127.0.0.1:9000/", EVENTS)


def test_update_changes_only_what_is_given(store: SqlRegistryStore) -> None:
    hook = store.create_webhook("a", URL, EVENTS, description="d", secret="k")
    renamed = store.update_webhook(hook.webhook_id, name="b")
    assert (renamed.name, renamed.url, renamed.events, renamed.description) == (
        "b",
        URL,
        EVENTS,
        "d",
    )
    assert renamed.has_secret
    assert renamed.last_updated_timestamp >= hook.last_updated_timestamp
    changed = store.update_webhook(
        hook.webhook_id,
        url="http://example.org/x",
        events=["registered_model.created"],
        status="DISABLED",
    )
    assert (changed.url, changed.events, changed.status) == (
        "http://example.org/x",
        ["registered_model.created"],
        "DISABLED",
    )
    cleared = store.update_webhook(hook.webhook_id, description="", secret="")
    assert (cleared.description, cleared.has_secret) == (None, False)
    assert store.get_webhook(hook.webhook_id) == cleared


def test_a_refused_update_changes_nothing(store: SqlRegistryStore) -> None:
    hook = store.create_webhook("a", URL, EVENTS)
    with pytest.raises(CairnError):
        store.update_webhook(hook.webhook_id, name="fine", events=["nope"])
    assert store.get_webhook(hook.webhook_id) == hook


def test_unknown_webhooks(store: SqlRegistryStore) -> None:
    for call in (
        lambda: store.get_webhook("missing"),
        lambda: store.update_webhook("missing", name="x"),
        lambda: store.delete_webhook("missing"),
        lambda: store.test_webhook("missing"),
        lambda: store.list_webhook_deliveries("missing"),
    ):
        with pytest.raises(CairnError) as info:
            call()
        assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_list_pages_newest_first(store: SqlRegistryStore) -> None:
    created = [store.create_webhook(f"h{i}", URL, EVENTS) for i in range(5)]
    first = store.list_webhooks(max_results=2)
    assert len(first) == 2 and first.token
    second = store.list_webhooks(max_results=2, page_token=first.token)
    third = store.list_webhooks(max_results=2, page_token=second.token)
    seen = [*first, *second, *third]
    assert sorted(w.webhook_id for w in seen) == sorted(w.webhook_id for w in created)
    assert [w.creation_timestamp for w in seen] == sorted(
        (w.creation_timestamp for w in seen), reverse=True
    )
    assert third.token is None
    for bad in (0, 1001):
        with pytest.raises(CairnError, match="max_results"):
            store.list_webhooks(max_results=bad)
    with pytest.raises(CairnError, match="page_token"):
        store.list_webhooks(page_token="garbage")


def test_delete_removes_the_webhook_and_its_log(store: SqlRegistryStore) -> None:
    hook = store.create_webhook("gone", "http://127.0.0.1:9/", ["registered_model.created"])
    store.test_webhook(hook.webhook_id)  # logs one (failed) delivery
    assert len(store.list_webhook_deliveries(hook.webhook_id)) == 1
    store.delete_webhook(hook.webhook_id)
    with pytest.raises(CairnError):
        store.get_webhook(hook.webhook_id)
    assert list(store.list_webhooks()) == []


def test_registry_events_queue_deliveries(store: SqlRegistryStore) -> None:
    """Which writes queue what: one delivery per subscribed event, in the write's
    transaction (the port is closed: the log shows them, whatever became of them)."""
    hook = store.create_webhook(
        "all", "http://127.0.0.1:9/", ["registered_model.created", "registered_model_tag.set"]
    )
    store.create_registered_model("m")
    store.set_registered_model_tag("m", "k", "v")
    store.update_registered_model("m", "not subscribed")
    events = sorted(d.event for d in store.list_webhook_deliveries(hook.webhook_id))
    assert events == ["registered_model.created", "registered_model_tag.set"]
