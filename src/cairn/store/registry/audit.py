"""The registry's audit trail: one ``registry_events`` row per change, written in the
transaction that makes the change, and handed to the webhook outbox in that same transaction.

``before``/``after`` hold only the fields the change touched (a description, a stage, an alias's
version, a tag's value); a creation's ``after`` and a deletion's ``before`` hold the whole
entity, so a deleted model can still be read from its history. Rows are never deleted: they
outlive the model, and a rename moves them to the new name so the history stays whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import Connection, Engine, insert, select

from cairn import validation
from cairn.entities import PagedList
from cairn.entities.registry import REGISTRY_EVENTS, RegistryEvent
from cairn.errors import CairnError
from cairn.search.paging import decode_page_token, encode_page_token
from cairn.store.db import schema as t
from cairn.store.db.engine import read_transaction
from cairn.store.registry.actor import current_actor

MAX_RESULTS_REGISTRY_HISTORY = 1000

_ev = t.registry_events
_decode = msgspec.json.Decoder(dict[str, Any] | None)


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


class SqlAuditMixin:
    """``_record`` for every write of :class:`SqlRegistryStore`, and the history read."""

    engine: Engine

    if TYPE_CHECKING:

        def _enqueue_webhooks(
            self, conn: Connection, event_id: int, event: str, payload: dict[str, Any]
        ) -> int: ...

    def _record(
        self,
        conn: Connection,
        event: str,
        name: str,
        version: int | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        *,
        timestamp: int,
        payload: dict[str, Any],
    ) -> int:
        """Write one event (who: :func:`current_actor`) and queue its webhooks; its id."""
        assert event in REGISTRY_EVENTS, event
        event_id = conn.execute(
            insert(_ev)
            .values(
                timestamp=timestamp,
                user_id=current_actor(),
                event=event,
                name=name,
                version=version,
                before_json=_json(before),
                after_json=_json(after),
            )
            .returning(_ev.c.event_id)
        ).scalar_one()
        self._enqueue_webhooks(conn, event_id, event, payload)
        return int(event_id)

    def get_registry_history(
        self,
        name: str | None = None,
        version: int | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> PagedList[RegistryEvent]:
        """Changes, newest first: of one model (and one of its versions), or of all models.

        A deleted model's history is still here; a renamed model's is under its new name.
        """
        where = []
        if name is not None:
            where.append(_ev.c.name == validation.validate_model_name(name))
        if version is not None:
            if name is None:
                raise CairnError.invalid("A registry history for a version needs the model name.")
            where.append(_ev.c.version == validation.validate_model_version(version))
        limit = validation.validate_max_results(max_results, MAX_RESULTS_REGISTRY_HISTORY)
        offset = decode_page_token(page_token)
        with read_transaction(self.engine) as conn:
            rows = conn.execute(
                select(_ev)
                .where(*where)
                .order_by(_ev.c.event_id.desc())
                .offset(offset)
                .limit(limit + 1)
            ).all()
        events = [
            RegistryEvent(
                event_id=row.event_id,
                timestamp=row.timestamp,
                user_id=row.user_id,
                event=row.event,
                name=row.name,
                version=row.version,
                before=_decode.decode(row.before_json) if row.before_json else None,
                after=_decode.decode(row.after_json) if row.after_json else None,
            )
            for row in rows[:limit]
        ]
        token = encode_page_token(offset + limit) if len(rows) > limit else None
        return PagedList(events, token)
