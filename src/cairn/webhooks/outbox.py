"""The delivery outbox in SQL: claim due rows, record attempts, release claims.

A claim is a conditional UPDATE that moves the row's ``next_attempt_time`` to the end of a
lease, on the condition that it still holds the value just read: of several processes (or
threads) reading the same due row, exactly one changes it (rowcount 1), on SQLite and on
PostgreSQL alike. Results are written under the same condition, so a claim that outlived its
lease (and was taken over) cannot overwrite the newer attempt's record.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import Engine, and_, exists, func, select, update

from cairn.clock import now_ms
from cairn.entities.webhook import DeliveryStatus, WebhookStatus
from cairn.store.db import schema as t
from cairn.store.db.engine import read_transaction, write_transaction
from cairn.webhooks.sender import Attempt
from cairn.webhooks.settings import WebhookSettings

d = t.webhook_deliveries
w = t.webhooks


@dataclass(frozen=True)
class Claim:
    delivery_id: str
    lease: int  # the next_attempt_time that marks the row as ours
    attempts: int
    body: str
    url: str
    secret: str | None
    active: bool


def claim_due(engine: Engine, limit: int, settings: WebhookSettings) -> list[Claim]:
    """Up to ``limit`` due deliveries, each claimed by this caller alone, oldest due first."""
    now = now_ms()
    due = (
        select(d.c.delivery_id, d.c.next_attempt_time)
        .where(d.c.status == DeliveryStatus.PENDING, d.c.next_attempt_time <= now)
        .order_by(d.c.next_attempt_time, d.c.delivery_id)
        .limit(limit)
    )
    with read_transaction(engine) as conn:
        candidates = conn.execute(due).all()
    if not candidates:
        return []
    lease = now + settings.lease_ms
    claimed: list[Claim] = []
    with write_transaction(engine) as conn:
        for delivery_id, seen in candidates:
            taken = conn.execute(
                update(d)
                .where(
                    d.c.delivery_id == delivery_id,
                    d.c.status == DeliveryStatus.PENDING,
                    d.c.next_attempt_time == seen,
                )
                .values(next_attempt_time=lease)
            )
            if taken.rowcount != 1:
                continue  # another process (or thread) got there first
            row = conn.execute(
                select(d.c.attempts, d.c.payload, w.c.url, w.c.secret, w.c.status)
                .join(w, w.c.webhook_id == d.c.webhook_id)
                .where(d.c.delivery_id == delivery_id)
            ).one()
            claimed.append(
                Claim(
                    delivery_id,
                    lease,
                    row.attempts,
                    row.payload,
                    row.url,
                    row.secret,
                    row.status == WebhookStatus.ACTIVE,
                )
            )
    return claimed


def retry_delay_s(attempts: int, attempt: Attempt, settings: WebhookSettings) -> float:
    """Wait before the next attempt: the receiver's Retry-After if it gave one, else
    exponential backoff (base * 2^(n-1)) with jitter over its upper half."""
    if attempt.retry_after_s is not None:
        return min(attempt.retry_after_s, settings.max_retry_after_s)
    ceiling = min(settings.backoff_s * 2 ** (attempts - 1), settings.max_backoff_s)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def record(engine: Engine, claim: Claim, attempt: Attempt, settings: WebhookSettings) -> str:
    """Write one attempt's outcome; the delivery's new status."""
    now = now_ms()
    attempts = claim.attempts + 1
    next_time: int | None = None
    if attempt.ok:
        status = DeliveryStatus.SUCCEEDED
    elif attempt.retryable and attempts < settings.max_attempts:
        status = DeliveryStatus.PENDING
        next_time = now + int(retry_delay_s(attempts, attempt, settings) * 1000)
    else:
        status = DeliveryStatus.FAILED
    with write_transaction(engine) as conn:
        conn.execute(
            update(d)
            .where(_still_ours(claim))
            .values(
                status=status,
                attempts=attempts,
                next_attempt_time=next_time,
                last_attempt_time=now,
                response_status=attempt.response_status,
                error=attempt.error,
            )
        )
    return status


def abandon(engine: Engine, claim: Claim, reason: str) -> None:
    """Give up on a delivery without sending it (its webhook was disabled meanwhile)."""
    with write_transaction(engine) as conn:
        conn.execute(
            update(d)
            .where(_still_ours(claim))
            .values(status=DeliveryStatus.FAILED, next_attempt_time=None, error=reason)
        )


def release(engine: Engine, claims: list[Claim]) -> None:
    """Make claimed deliveries due again at once. Only for claims whose attempt has not
    started: one in flight keeps its lease, or its success could be sent twice and never
    recorded."""
    if not claims:
        return
    with write_transaction(engine) as conn:
        for claim in claims:
            conn.execute(update(d).where(_still_ours(claim)).values(next_attempt_time=now_ms()))


def next_due_ms(engine: Engine) -> int | None:
    """When the earliest pending delivery is due (claimed ones: when their lease ends);
    None if nothing is pending."""
    query = select(func.min(d.c.next_attempt_time)).where(d.c.status == DeliveryStatus.PENDING)
    with read_transaction(engine) as conn:
        value = conn.execute(query).scalar()
    return None if value is None else int(value)


def has_due(engine: Engine) -> bool:
    query = select(
        exists().where(d.c.status == DeliveryStatus.PENDING, d.c.next_attempt_time <= now_ms())
    )
    with read_transaction(engine) as conn:
        return bool(conn.execute(query).scalar())


def _still_ours(claim: Claim):  # type: ignore[no-untyped-def]
    return and_(
        d.c.delivery_id == claim.delivery_id,
        d.c.status == DeliveryStatus.PENDING,
        d.c.next_attempt_time == claim.lease,
    )
