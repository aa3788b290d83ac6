"""The dispatcher's life: it sweeps up what other processes left, keeps the lease of what it
is sending when it closes, sleeps until the next delivery is due, wakes only for committed
writes, and follows a database's engine across ``dispose_engines``.

Real SQLite/PostgreSQL and a real receiver; waits are bounded polls, never timed assertions.
"""

from __future__ import annotations

import gc
import logging
import time
import uuid
import weakref

import pytest
from sqlalchemy import insert, select

from cairn.clock import now_ms
from cairn.store.db import schema as t
from cairn.store.db.engine import (
    _create_engine,
    dispose_engines,
    get_engine,
    write_transaction,
)
from cairn.store.registry import sql_webhooks
from cairn.store.registry.sql import SqlRegistryStore
from cairn.webhooks import dispatcher
from cairn.webhooks.settings import WebhookSettings
from webhook_receiver import running_receiver

d = t.webhook_deliveries


def _queue_elsewhere(db_uri: str, webhook_id: str, due: int) -> str:
    """A PENDING delivery written as another process would: its own engine, no wake here."""
    delivery_id = str(uuid.uuid4())
    engine = _create_engine(db_uri)
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                insert(d).values(
                    delivery_id=delivery_id,
                    webhook_id=webhook_id,
                    event="registered_model.created",
                    event_id=None,
                    payload='{"entity": "registered_model", "action": "created", "data": {}}',
                    status="PENDING",
                    attempts=0,
                    next_attempt_time=due,
                    creation_time=now_ms(),
                )
            )
    finally:
        engine.dispose()
    return delivery_id


def _wait_until(check, timeout_s: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return found


def test_a_running_process_sends_what_another_process_left(
    db_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_WEBHOOK_SWEEP_S", "0.05")
    store = SqlRegistryStore(db_uri)  # a server: open, nothing pending, no writes of its own
    with running_receiver() as receiver:
        hook = store.create_webhook("left", receiver.url, ["registered_model.created"])
        delivery_id = _queue_elsewhere(db_uri, hook.webhook_id, now_ms())
        (request,) = receiver.wait_for(1)
        assert request.headers["X-MLflow-Delivery-Id"] == delivery_id
        _wait_until(lambda: store.list_webhook_deliveries(hook.webhook_id)[0].status == "SUCCEEDED")


def test_closing_keeps_the_lease_of_a_send_in_flight(store: SqlRegistryStore) -> None:
    with running_receiver(gate_timeout_s=60.0) as receiver:
        receiver.gate.clear()  # the request arrives; its answer waits
        hook = store.create_webhook("slow", receiver.url, ["registered_model.created"])
        store.create_registered_model("m")
        _wait_until(lambda: receiver.requests)
        dispatcher.shutdown(timeout_s=0)  # what a process exiting mid-send does
        with store.engine.connect() as conn:
            lease = conn.execute(select(d.c.next_attempt_time)).scalar_one()
        # Still claimed: no other process may send it again while the answer is on its way.
        assert lease > now_ms()
        receiver.gate.set()
        (delivery,) = _wait_until(
            lambda: [
                x for x in store.list_webhook_deliveries(hook.webhook_id) if x.status != "PENDING"
            ]
        )
    # The answer that came after the close is the one recorded: sent once, logged once.
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("SUCCEEDED", 1, 200)
    assert len(receiver.requests) == 1


def test_with_only_later_retries_it_sleeps_until_the_first_is_due(
    store: SqlRegistryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_WEBHOOK_SWEEP_S", "7200")
    hook = store.create_webhook("later", "http://127.0.0.1:9/", ["registered_model.created"])
    _queue_elsewhere(store.uri, hook.webhook_id, now_ms() + 3_600_000)  # due in an hour
    idle = dispatcher.Dispatcher("a test's own", store.engine)  # never started: one pass
    wait = idle._pass(WebhookSettings.from_env())
    assert wait is not None and 3000 < wait <= 3600  # about an hour, not a poll interval
    monkeypatch.setenv("CAIRN_WEBHOOK_SWEEP_S", "600")
    assert idle._pass(WebhookSettings.from_env()) == 600  # capped by the sweep


def test_a_rolled_back_write_wakes_nobody(
    store: SqlRegistryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_webhook("hook", "http://127.0.0.1:9/", ["registered_model.created"])
    woken: list[object] = []
    monkeypatch.setattr(sql_webhooks.dispatcher, "wake", woken.append)
    store.create_registered_model("m")  # queued and committed: one wake
    assert woken == [store.engine]
    woken.clear()
    with pytest.raises(RuntimeError), write_transaction(store.engine) as conn:
        assert store._enqueue_webhooks(conn, 1, "registered_model.created", {}) == 1
        raise RuntimeError("the write fails after queueing")
    store.set_registered_model_tag("m", "k", "v")  # a later write that queues nothing
    assert woken == []


def test_a_database_keeps_one_dispatcher_across_dispose_engines(db_uri: str) -> None:
    first = SqlRegistryStore(db_uri)
    old = weakref.ref(first.engine)
    del first
    dispose_engines()
    second = SqlRegistryStore(db_uri)
    mine = [x for x in dispatcher._dispatchers.values() if x._engine() is second.engine]
    assert len(mine) == 1
    assert mine[0].key == second.engine.url.render_as_string(hide_password=False)
    # The disposed engine is not kept alive by its dispatcher (once a pass under way ends).
    _wait_until(lambda: gc.collect() >= 0 and old() is None)


def test_a_database_that_fails_for_a_while_is_not_given_up(
    db_uri: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CAIRN_WEBHOOK_SWEEP_S", "0.02")  # also the longest pause between tries
    caplog.set_level(logging.DEBUG, logger="cairn.webhooks")
    engine = get_engine(db_uri)
    dispatcher.start(engine)  # no tables yet: every look at the outbox fails

    def failures() -> int:
        return sum("cannot read the outbox" in r.getMessage() for r in caplog.records)

    _wait_until(lambda: failures() >= 50)  # well past any "give up after n" limit
    store = SqlRegistryStore(db_uri)  # the database is back
    with running_receiver() as receiver:
        hook = store.create_webhook("back", receiver.url, ["registered_model.created"])
        _queue_elsewhere(db_uri, hook.webhook_id, now_ms())
        receiver.wait_for(1)
