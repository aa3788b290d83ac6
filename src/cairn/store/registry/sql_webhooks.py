"""Webhooks on the SQL registry store: a mixin of :class:`SqlRegistryStore`.

The outbox: :meth:`_enqueue_webhooks` runs inside the transaction that records a registry
event and writes one PENDING delivery per active webhook subscribed to it, so an event is
never lost and never waits on a receiver. :meth:`_after_registry_write` (called after the
commit) wakes this process's dispatcher (:mod:`cairn.webhooks.dispatcher`), which sends them;
only a committed transaction that queued something wakes it. The store's constructor starts
the dispatcher (:meth:`_start_webhook_dispatcher`): its sweep sends what other processes left
PENDING, also while this process writes nothing.

Secrets are stored as given (the HMAC key has to be read back to sign) and never returned:
entities only say ``has_secret``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, delete, event, insert, select, update

from cairn.clock import now_ms
from cairn.entities import PagedList
from cairn.entities.webhook import DeliveryStatus, Webhook, WebhookDelivery, WebhookStatus
from cairn.errors import CairnError
from cairn.search.paging import decode_page_token, encode_page_token
from cairn.store.db import schema as t
from cairn.store.db.engine import read_transaction, write_transaction
from cairn.validation import validate_max_results
from cairn.webhooks import dispatcher, payloads, rules, sender
from cairn.webhooks.settings import WebhookSettings

MAX_RESULTS_WEBHOOKS = 1000

w = t.webhooks
d = t.webhook_deliveries

# Per thread: the connection whose transaction queued deliveries, set by _enqueue_webhooks and
# read by _after_registry_write (which runs after the commit). A rollback of that connection
# clears it (_forget_rolled_back), so a failed write cannot wake the dispatcher later.
_queued = threading.local()


class SqlWebhooksMixin:
    engine: Engine

    # ------------------------------------------------------------------ webhooks

    def create_webhook(
        self,
        name: str,
        url: str,
        events: Sequence[str],
        description: str | None = None,
        secret: str | None = None,
        status: str | None = WebhookStatus.ACTIVE,
    ) -> Webhook:
        settings = WebhookSettings.from_env()
        now = now_ms()
        row = {
            "webhook_id": str(uuid.uuid4()),
            "name": rules.validate_name(name),
            "url": rules.validate_url(url, settings.allow_private),
            "description": rules.validate_description(description),
            "secret": rules.validate_secret(secret),
            "status": rules.validate_status(status or WebhookStatus.ACTIVE),
            "events_json": msgspec.json.encode(rules.validate_events(events)).decode(),
            "creation_time": now,
            "last_updated_time": now,
        }
        with write_transaction(self.engine) as conn:
            conn.execute(insert(w), [row])
        return _webhook(row)

    def get_webhook(self, webhook_id: str) -> Webhook:
        with read_transaction(self.engine) as conn:
            return _webhook(self._webhook_row(conn, webhook_id))

    def list_webhooks(
        self, max_results: int = 100, page_token: str | None = None
    ) -> PagedList[Webhook]:
        limit = validate_max_results(max_results, MAX_RESULTS_WEBHOOKS)
        offset = decode_page_token(page_token)
        query = (
            select(w)
            .order_by(w.c.creation_time.desc(), w.c.webhook_id)
            .offset(offset)
            .limit(limit + 1)
        )
        with read_transaction(self.engine) as conn:
            rows = conn.execute(query).mappings().all()
        token = encode_page_token(offset + limit) if len(rows) > limit else None
        return PagedList([_webhook(r) for r in rows[:limit]], token)

    def update_webhook(
        self,
        webhook_id: str,
        name: str | None = None,
        url: str | None = None,
        events: Sequence[str] | None = None,
        description: str | None = None,
        secret: str | None = None,
        status: str | None = None,
    ) -> Webhook:
        """Change the fields given (None leaves one as it is; "" clears the description or
        the secret)."""
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = rules.validate_name(name)
        if url is not None:
            values["url"] = rules.validate_url(url, WebhookSettings.from_env().allow_private)
        if events is not None:
            values["events_json"] = msgspec.json.encode(rules.validate_events(events)).decode()
        if description is not None:
            values["description"] = rules.validate_description(description)
        if secret is not None:
            values["secret"] = rules.validate_secret(secret)
        if status is not None:
            values["status"] = rules.validate_status(status)
        values["last_updated_time"] = now_ms()
        with write_transaction(self.engine) as conn:
            self._webhook_row(conn, webhook_id)
            conn.execute(update(w).where(w.c.webhook_id == webhook_id).values(**values))
            return _webhook(self._webhook_row(conn, webhook_id))

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete the webhook and its delivery log (pending deliveries are dropped)."""
        with write_transaction(self.engine) as conn:
            self._webhook_row(conn, webhook_id)
            conn.execute(delete(d).where(d.c.webhook_id == webhook_id))
            conn.execute(delete(w).where(w.c.webhook_id == webhook_id))

    def test_webhook(self, webhook_id: str, event: str | None = None) -> WebhookDelivery:
        """Send an example of ``event`` (the webhook's first event unless given) now, once,
        and log it. A receiver that fails is reported in the result, never raised."""
        with read_transaction(self.engine) as conn:
            row = self._webhook_row(conn, webhook_id)
        event = rules.validate_event(event) if event else _events(row)[0]
        body = payloads.envelope(event, payloads.example_data(event))
        delivery_id = str(uuid.uuid4())
        created = now_ms()
        attempt = sender.send(
            row["url"], row["secret"], delivery_id, body, WebhookSettings.from_env()
        )
        record = {
            "delivery_id": delivery_id,
            "webhook_id": webhook_id,
            "event": event,
            "event_id": None,
            "payload": body,
            "status": DeliveryStatus.SUCCEEDED if attempt.ok else DeliveryStatus.FAILED,
            "attempts": 1,
            "next_attempt_time": None,
            "last_attempt_time": now_ms(),
            "response_status": attempt.response_status,
            "error": attempt.error,
            "creation_time": created,
        }
        with write_transaction(self.engine) as conn:
            # The webhook may have been deleted while the ping was out: then log nothing.
            if conn.execute(select(w.c.webhook_id).where(w.c.webhook_id == webhook_id)).first():
                conn.execute(insert(d), [record])
        return _delivery(record)

    def list_webhook_deliveries(
        self, webhook_id: str, max_results: int = 100, page_token: str | None = None
    ) -> PagedList[WebhookDelivery]:
        """A webhook's deliveries, newest first."""
        limit = validate_max_results(max_results, MAX_RESULTS_WEBHOOKS)
        offset = decode_page_token(page_token)
        query = (
            select(d)
            .where(d.c.webhook_id == webhook_id)
            .order_by(d.c.creation_time.desc(), d.c.delivery_id)
            .offset(offset)
            .limit(limit + 1)
        )
        with read_transaction(self.engine) as conn:
            self._webhook_row(conn, webhook_id)
            rows = conn.execute(query).mappings().all()
        token = encode_page_token(offset + limit) if len(rows) > limit else None
        return PagedList([_delivery(r) for r in rows[:limit]], token)

    # ------------------------------------------------------------------ the outbox

    def _enqueue_webhooks(
        self, conn: Connection, event_id: int, event: str, payload: dict[str, Any]
    ) -> int:
        """Queue ``payload`` (the event's data) for every active webhook subscribed to
        ``event``; how many."""
        rows = conn.execute(
            select(w.c.webhook_id, w.c.events_json).where(w.c.status == WebhookStatus.ACTIVE)
        ).all()
        targets = [r.webhook_id for r in rows if event in msgspec.json.decode(r.events_json)]
        if not targets:
            return 0
        now = now_ms()
        body = payloads.envelope(event, payload, now)
        conn.execute(
            insert(d),
            [
                {
                    "delivery_id": str(uuid.uuid4()),
                    "webhook_id": webhook_id,
                    "event": event,
                    "event_id": event_id,
                    "payload": body,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_time": now,
                    "creation_time": now,
                }
                for webhook_id in targets
            ],
        )
        _queued.conn = conn
        return len(targets)

    def _after_registry_write(self) -> None:
        """After a commit: wake the dispatcher if that transaction queued deliveries (cheap
        if not)."""
        if getattr(_queued, "conn", None) is not None:
            _queued.conn = None
            dispatcher.wake(self.engine)

    def _watch_webhook_transactions(self) -> None:
        """Once per engine: have rollbacks forget what their transaction queued."""
        if not event.contains(self.engine, "rollback", _forget_rolled_back):
            event.listen(self.engine, "rollback", _forget_rolled_back)

    def _start_webhook_dispatcher(self) -> None:
        """Run this process's dispatcher for the database (cheap once it runs)."""
        dispatcher.start(self.engine)

    def _webhook_row(self, conn: Connection, webhook_id: str) -> Any:
        row = conn.execute(select(w).where(w.c.webhook_id == webhook_id)).mappings().first()
        if row is None:
            raise CairnError.not_found(f"Webhook with ID {webhook_id} not found.")
        return row


def _forget_rolled_back(conn: Connection) -> None:
    if getattr(_queued, "conn", None) is conn:
        _queued.conn = None


def _events(row: Any) -> list[str]:
    return list(msgspec.json.decode(row["events_json"]))


def _webhook(row: Any) -> Webhook:
    return Webhook(
        webhook_id=row["webhook_id"],
        name=row["name"],
        url=row["url"],
        events=_events(row),
        status=row["status"],
        creation_timestamp=row["creation_time"],
        last_updated_timestamp=row["last_updated_time"],
        description=row["description"],
        has_secret=bool(row["secret"]),
    )


def _delivery(row: Any) -> WebhookDelivery:
    return WebhookDelivery(
        delivery_id=row["delivery_id"],
        webhook_id=row["webhook_id"],
        event=row["event"],
        status=row["status"],
        attempts=row["attempts"],
        creation_timestamp=row["creation_time"],
        payload=row["payload"],
        event_id=row["event_id"],
        next_attempt_timestamp=row["next_attempt_time"],
        last_attempt_timestamp=row["last_attempt_time"],
        response_status=row["response_status"],
        error=row["error"],
    )
