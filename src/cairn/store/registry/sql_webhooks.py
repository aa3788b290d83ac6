"""Webhooks on the SQL registry store: a mixin of :class:`SqlRegistryStore`.

The outbox: :meth:`_enqueue_webhooks` runs inside the transaction that records a registry
event and writes one PENDING delivery per active webhook subscribed to it, so an event is
never lost and never waits on a receiver. :meth:`_after_registry_write` (called after the
commit) wakes the dispatcher that sends them.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, insert, select

from cairn.clock import now_ms
from cairn.entities.webhook import DeliveryStatus, WebhookStatus
from cairn.store.db import schema as t


class SqlWebhooksMixin:
    engine: Engine

    def _enqueue_webhooks(
        self, conn: Connection, event_id: int, event: str, payload: dict[str, Any]
    ) -> int:
        """Queue ``payload`` for every active webhook subscribed to ``event``; how many."""
        rows = conn.execute(
            select(t.webhooks.c.webhook_id, t.webhooks.c.events_json).where(
                t.webhooks.c.status == WebhookStatus.ACTIVE
            )
        ).all()
        now = now_ms()
        body = msgspec.json.encode(payload).decode()
        deliveries = [
            {
                "delivery_id": uuid.uuid4().hex,
                "webhook_id": row.webhook_id,
                "event": event,
                "event_id": event_id,
                "payload": body,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_time": now,
                "creation_time": now,
            }
            for row in rows
            if event in msgspec.json.decode(row.events_json)
        ]
        if deliveries:
            conn.execute(insert(t.webhook_deliveries), deliveries)
        return len(deliveries)

    def _after_registry_write(self) -> None:
        """Wake the webhook dispatcher (written by the webhooks work; nothing to wake yet)."""
