"""Deliveries end to end: registry changes reach a real receiver, signed, retried, logged.

Every test drives the SQL registry store (SQLite and PostgreSQL) and a real HTTP receiver on
127.0.0.1; waits are bounded polls on the delivery log, never timing assertions.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from cairn.entities.webhook import WebhookDelivery
from cairn.store.db import schema as t
from cairn.store.db.engine import _create_engine, write_transaction
from cairn.store.registry.sql import SqlRegistryStore
from cairn.webhooks import outbox
from cairn.webhooks.settings import WebhookSettings
from webhook_receiver import running_receiver

SECRET = "a-shared-secret"


def settled(
    store: SqlRegistryStore, webhook_id: str, count: int = 1, timeout_s: float = 30.0
) -> list[WebhookDelivery]:
    """The webhook's deliveries once ``count`` exist and none is PENDING any more."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = list(store.list_webhook_deliveries(webhook_id))
        if len(found) >= count and all(d.status != "PENDING" for d in found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.02)


def test_a_registry_change_is_delivered_signed(store: SqlRegistryStore) -> None:
    with running_receiver() as receiver:
        hook = store.create_webhook("ci", receiver.url, ["registered_model.created"], secret=SECRET)
        store.create_registered_model("fraud", tags={"team": "risk"}, description="d")
        (request,) = receiver.wait_for(1)
        (delivery,) = settled(store, hook.webhook_id)

    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-MLflow-Delivery-Id"] == delivery.delivery_id
    assert request.signed_by(SECRET)
    assert not request.signed_by("another secret")
    body = request.json
    assert set(body) == {"entity", "action", "timestamp", "data"}
    assert (body["entity"], body["action"]) == ("registered_model", "created")
    assert body["data"]["name"] == "fraud"
    assert body["data"]["tags"] == {"team": "risk"}
    assert request.body == delivery.payload
    assert delivery.status == "SUCCEEDED"
    assert (delivery.attempts, delivery.response_status, delivery.error) == (1, 200, None)
    assert delivery.event == "registered_model.created"
    assert delivery.event_id is not None


def test_without_a_secret_nothing_is_signed(store: SqlRegistryStore) -> None:
    with running_receiver() as receiver:
        store.create_webhook("plain", receiver.url, ["registered_model.created"])
        store.create_registered_model("m")
        (request,) = receiver.wait_for(1)
    assert "X-MLflow-Signature" not in request.headers
    assert request.headers["X-MLflow-Timestamp"].isdigit()


def test_failures_are_retried_with_backoff(store: SqlRegistryStore) -> None:
    with running_receiver(statuses=[500, 503]) as receiver:
        hook = store.create_webhook("flaky", receiver.url, ["registered_model.created"])
        store.create_registered_model("m")
        requests = receiver.wait_for(3)
        (delivery,) = settled(store, hook.webhook_id)
    assert delivery.status == "SUCCEEDED"
    assert (delivery.attempts, delivery.response_status, delivery.error) == (3, 200, None)
    # The same delivery each time: one id, one body (receivers de-duplicate by the id).
    assert len({r.headers["X-MLflow-Delivery-Id"] for r in requests}) == 1
    assert len({r.body for r in requests}) == 1


def test_a_receiver_that_keeps_failing_runs_out_of_attempts(store: SqlRegistryStore) -> None:
    with running_receiver(status=502) as receiver:
        hook = store.create_webhook("down", receiver.url, ["registered_model.created"])
        store.create_registered_model("m")
        (delivery,) = settled(store, hook.webhook_id)
        assert len(receiver.requests) == 3  # CAIRN_WEBHOOK_MAX_ATTEMPTS
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("FAILED", 3, 502)
    assert delivery.error is not None and "502" in delivery.error
    assert delivery.next_attempt_timestamp is None


def test_a_4xx_answer_is_not_retried(store: SqlRegistryStore) -> None:
    with running_receiver(status=404) as receiver:
        hook = store.create_webhook("gone", receiver.url, ["registered_model.created"])
        store.create_registered_model("m")
        (delivery,) = settled(store, hook.webhook_id)
        assert len(receiver.requests) == 1
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("FAILED", 1, 404)


def test_retry_after_is_honoured(store: SqlRegistryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    with running_receiver(status=429, headers={"Retry-After": "120"}) as receiver:
        hook = store.create_webhook("busy", receiver.url, ["registered_model.created"])
        store.create_registered_model("m")
        receiver.wait_for(1)
        deadline = time.monotonic() + 30
        while True:
            (delivery,) = store.list_webhook_deliveries(hook.webhook_id)
            if delivery.attempts == 1:
                break
            assert time.monotonic() < deadline
            time.sleep(0.02)
    assert (delivery.status, delivery.response_status) == ("PENDING", 429)
    assert delivery.next_attempt_timestamp is not None
    assert delivery.last_attempt_timestamp is not None
    # Two minutes later, not the 50 ms backoff.
    assert delivery.next_attempt_timestamp - delivery.last_attempt_timestamp >= 120_000


def test_network_errors_are_retried_and_logged(store: SqlRegistryStore) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hook = store.create_webhook("nobody", f"http://127.0.0.1:{port}/", ["registered_model.created"])
    store.create_registered_model("m")
    (delivery,) = settled(store, hook.webhook_id)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("FAILED", 3, None)
    assert delivery.error and "Connect" in delivery.error


def test_disabled_and_unsubscribed_webhooks_get_nothing(store: SqlRegistryStore) -> None:
    with running_receiver() as receiver, running_receiver() as silent:
        events = ["registered_model.created", "model_version_tag.set"]
        control = store.create_webhook("control", receiver.url, events)
        disabled = store.create_webhook("off", silent.url, events, status="DISABLED")
        other = store.create_webhook("other", silent.url, ["model_version.created"])
        store.create_registered_model("m")
        receiver.wait_for(1)
        settled(store, control.webhook_id)
        assert silent.requests == []
    # Deliveries are written with the event: nothing written now is nothing ever sent.
    assert list(store.list_webhook_deliveries(disabled.webhook_id)) == []
    assert list(store.list_webhook_deliveries(other.webhook_id)) == []


def test_a_webhook_disabled_before_sending_sends_nothing(
    store: SqlRegistryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_WEBHOOK_WORKERS", "1")  # the second waits for the first
    with running_receiver() as receiver:
        receiver.gate.clear()  # hold the first delivery at the receiver
        hook = store.create_webhook("hook", receiver.url, ["registered_model_tag.set"])
        store.create_registered_model("m")
        store.set_registered_model_tag("m", "k", "1")
        deadline = time.monotonic() + 30
        while not receiver.requests:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        store.set_registered_model_tag("m", "k", "2")  # queued while the first is out
        store.update_webhook(hook.webhook_id, status="DISABLED")
        receiver.gate.set()
        first, second = sorted(settled(store, hook.webhook_id, 2), key=lambda d: d.event_id or 0)
    assert first.status == "SUCCEEDED"
    assert (second.status, second.attempts) == ("FAILED", 0)
    assert second.error and "disabled" in second.error
    assert len(receiver.requests) == 1


def test_the_registry_call_does_not_wait_for_the_receiver(store: SqlRegistryStore) -> None:
    with running_receiver() as receiver:
        receiver.gate.clear()  # the receiver answers only when let go (or after 5 s)
        hook = store.create_webhook("slow", receiver.url, ["registered_model.created"])
        store.create_registered_model("m")
        # The call has returned; the receiver has not answered (and cannot have).
        assert not any(r.answered for r in receiver.requests)
        (pending,) = store.list_webhook_deliveries(hook.webhook_id)
        assert pending.status == "PENDING"
        receiver.gate.set()
        (delivery,) = settled(store, hook.webhook_id)
    assert delivery.status == "SUCCEEDED"


def test_pending_deliveries_survive_a_restart(db_uri: str) -> None:
    """A row queued by a process that ended before sending it goes out from the next store
    opened on the database."""
    first = SqlRegistryStore(db_uri)
    with running_receiver() as receiver:
        hook = first.create_webhook("later", receiver.url, ["registered_model.created"])
        # What a process that died right after its commit leaves: the row, and no dispatcher.
        with write_transaction(first.engine) as conn:
            first._enqueue_webhooks(conn, 1, "registered_model.created", {"name": "m"})
        from cairn.store.db.engine import dispose_engines

        dispose_engines()  # the next store gets a new engine, so a dispatcher of its own
        second = SqlRegistryStore(db_uri)
        (request,) = receiver.wait_for(1)
        (delivery,) = settled(second, hook.webhook_id)
    assert request.json["data"] == {"name": "m"}
    assert delivery.status == "SUCCEEDED"


def test_an_exiting_process_sends_its_due_deliveries(db_uri: str, tmp_path: Path) -> None:
    """An embedded script that changes the registry and exits at once still delivers."""
    store = SqlRegistryStore(db_uri)
    with running_receiver() as receiver:
        hook = store.create_webhook("exit", receiver.url, ["registered_model.created"])
        script = textwrap.dedent(
            f"""
            from cairn.store.registry.sql import SqlRegistryStore
            SqlRegistryStore({db_uri!r}).create_registered_model("from-a-script")
            """
        )
        env = {**os.environ, "CAIRN_WEBHOOK_EXIT_GRACE_S": "20"}
        subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
        # The child has exited: the request was sent before it did.
        assert len(receiver.requests) == 1
        (delivery,) = settled(store, hook.webhook_id)
    assert receiver.requests[0].json["data"]["name"] == "from-a-script"
    assert delivery.status == "SUCCEEDED"


def test_each_due_delivery_is_claimed_once(db_uri: str) -> None:
    """Claimers on separate engines (as separate processes have) never share a row."""
    store = SqlRegistryStore(db_uri)
    hook = store.create_webhook("claims", "http://127.0.0.1:9/", ["registered_model.created"])
    with write_transaction(store.engine) as conn:
        for i in range(40):
            store._enqueue_webhooks(conn, i, "registered_model.created", {"i": i})
    settings = WebhookSettings.from_env()
    engines = [_create_engine(db_uri) for _ in range(4)]
    claimed: list[list[str]] = [[] for _ in engines]
    start = threading.Barrier(len(engines))

    def claim(index: int) -> None:
        start.wait()
        for _ in range(20):
            batch = outbox.claim_due(engines[index], 5, settings)
            claimed[index].extend(c.delivery_id for c in batch)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    everything = [d for ids in claimed for d in ids]
    with store.engine.connect() as conn:
        queued = conn.execute(
            select(t.webhook_deliveries.c.delivery_id).where(
                t.webhook_deliveries.c.webhook_id == hook.webhook_id
            )
        ).scalars()
        queued_ids = set(queued)
    # The store's own dispatcher may have claimed some too; what the claimers got is
    # each row at most once.
    assert len(everything) == len(set(everything))
    assert set(everything) <= queued_ids


def test_test_pings_are_sent_now_and_logged(store: SqlRegistryStore) -> None:
    with running_receiver() as receiver:
        hook = store.create_webhook(
            "ping",
            receiver.url,
            ["model_version.created", "registered_model.created"],
            secret=SECRET,
        )
        result = store.test_webhook(hook.webhook_id)
        assert len(receiver.requests) == 1  # sent before test_webhook returned
        request = receiver.requests[0]
        other = store.test_webhook(hook.webhook_id, "model_version_alias.created")
    assert (result.status, result.attempts, result.response_status) == ("SUCCEEDED", 1, 200)
    assert result.event == "model_version.created"  # the first subscribed event
    assert result.event_id is None
    assert request.signed_by(SECRET)
    body = request.json
    assert (body["entity"], body["action"]) == ("model_version", "created")
    assert body["data"]["version"] == "1"
    assert other.event == "model_version_alias.created"
    logged = {d.delivery_id: d for d in store.list_webhook_deliveries(hook.webhook_id)}
    assert logged[result.delivery_id] == result


def test_a_failing_test_ping_is_reported_not_raised(store: SqlRegistryStore) -> None:
    with running_receiver(status=500) as receiver:
        hook = store.create_webhook("ping", receiver.url, ["registered_model.created"])
        result = store.test_webhook(hook.webhook_id)
        assert len(receiver.requests) == 1  # a test ping is one attempt
    assert (result.status, result.response_status) == ("FAILED", 500)
    assert result.error and "500" in result.error


def test_refused_destinations_fail_without_a_request(
    store: SqlRegistryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_receiver() as receiver:
        hook = store.create_webhook("local", receiver.url, ["registered_model.created"])
        monkeypatch.setenv("CAIRN_WEBHOOK_ALLOW_PRIVATE_IPS", "false")
        result = store.test_webhook(hook.webhook_id)
        assert receiver.requests == []
    assert result.status == "FAILED"
    assert result.error and "Refused destination" in result.error
