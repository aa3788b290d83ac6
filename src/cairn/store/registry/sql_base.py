"""What the SQL registry store's parts share: the row lookups and locks, tag writes, errors.

Every write locks the registered model's row first (PostgreSQL ``FOR UPDATE``; SQLite write
transactions already hold the database lock from ``BEGIN IMMEDIATE``), so concurrent writers of
one model queue up instead of overwriting each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from cairn import validation
from cairn.errors import CairnError
from cairn.store.db import schema as t
from cairn.store.db.engine import is_sqlite
from cairn.store.registry.audit import SqlAuditMixin
from cairn.store.registry.sql_webhooks import SqlWebhooksMixin

_rm = t.registered_models
_mv = t.model_versions
_mvt = t.model_version_tags
_al = t.registered_model_aliases


def model_not_found(name: str) -> CairnError:
    return CairnError.not_found(f"Registered Model with name={name} not found")


def version_not_found(name: str, version: int) -> CairnError:
    return CairnError.not_found(f"Model Version (name={name}, version={version}) not found")


def model_exists(name: str) -> CairnError:
    return CairnError.exists(f"Registered Model (name={name}) already exists.")


def optional_text(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise CairnError.invalid(f"Invalid {what} {value!r}: it must be a string.")
    if value is not None and "\x00" in value:
        raise CairnError.invalid(f"Invalid {what}: it contains a NUL character.")
    return value


def checked_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    if tags is not None and not isinstance(tags, Mapping):
        raise CairnError.invalid(f"Invalid tags {tags!r}: expected a mapping of key to value.")
    return dict(validation.validate_registry_tag(k, v) for k, v in (tags or {}).items())


class SqlRegistryBase(SqlAuditMixin, SqlWebhooksMixin):
    """Row helpers of :class:`~cairn.store.registry.sql.SqlRegistryStore`."""

    engine: Engine

    def _model_row(self, conn: Connection, name: str, lock: bool = False) -> Any:
        query = select(_rm).where(_rm.c.name == name)
        if lock and not is_sqlite(self.engine):
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise model_not_found(name)
        return row

    def _version_row(self, conn: Connection, name: str, version: int) -> Any:
        row = conn.execute(select(_mv).where(_mv.c.name == name, _mv.c.version == version)).first()
        if row is None:
            raise version_not_found(name, version)
        return row

    def _locked_version(self, conn: Connection, name: str, version: int) -> Any:
        """Lock the model (every write of a model queues behind the others), then the row."""
        self._model_row(conn, name, lock=True)
        return self._version_row(conn, name, version)

    def _touch_model(self, conn: Connection, name: str, now: int) -> None:
        conn.execute(update(_rm).where(_rm.c.name == name).values(last_updated_time=now))

    def _version_tags(self, conn: Connection, name: str, version: int) -> dict[str, str]:
        rows = conn.execute(
            select(_mvt.c.key, _mvt.c.value).where(_mvt.c.name == name, _mvt.c.version == version)
        )
        return {key: value for key, value in rows}

    def _version_aliases(self, conn: Connection, name: str, version: int) -> list[str]:
        rows = conn.execute(
            select(_al.c.alias)
            .where(_al.c.name == name, _al.c.version == version)
            .order_by(_al.c.alias)
        )
        return list(rows.scalars())

    def _set_tag(
        self, conn: Connection, table: Any, owner: dict[str, Any], key: str, value: str
    ) -> str | None:
        """Set a tag of a locked owner; the value it replaced, or None."""
        where = [table.c[k] == v for k, v in owner.items()] + [table.c.key == key]
        old = conn.execute(select(table.c.value).where(*where)).scalar()
        if old is None:
            conn.execute(insert(table).values(**owner, key=key, value=value))
        else:
            conn.execute(update(table).where(*where).values(value=value))
        return old

    def _delete_tag(
        self, conn: Connection, table: Any, owner: dict[str, Any], key: str
    ) -> str | None:
        where = [table.c[k] == v for k, v in owner.items()] + [table.c.key == key]
        old = conn.execute(select(table.c.value).where(*where)).scalar()
        if old is not None:
            conn.execute(delete(table).where(*where))
        return old
