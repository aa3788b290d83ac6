"""The model registry on SQL databases, beside the tracking data (the same database).

Every public write is one transaction that locks the registered model's row first (PostgreSQL
``FOR UPDATE``; SQLite write transactions hold the database lock from ``BEGIN IMMEDIATE``), so
concurrent writers of one model queue up: version numbers come from the model's
``next_version`` and are never handed out twice or reused. Each change records its audit event
and queues its webhooks in the same transaction (:mod:`cairn.store.registry.audit`); the
webhook dispatcher is woken after the commit.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from cairn import validation
from cairn.clock import now_ms
from cairn.entities import PagedList
from cairn.entities.registry import ModelVersion, RegisteredModel, Stage
from cairn.errors import CairnError
from cairn.search.paging import decode_page_token, encode_page_token
from cairn.search.registry import select_registered_model_names
from cairn.store.db import schema as t
from cairn.store.db.engine import get_engine, read_transaction, write_transaction
from cairn.store.db.migrate import ensure_schema
from cairn.store.registry.actor import current_actor
from cairn.store.registry.protocol import SEARCH_REGISTERED_MODELS_DEFAULT
from cairn.store.registry.sql_base import checked_tags, model_exists, model_not_found, optional_text
from cairn.store.registry.sql_load import latest_version_rows, load_models, load_versions
from cairn.store.registry.sql_versions import SqlVersionsMixin

if TYPE_CHECKING:
    from cairn.store.tracking.sql import SqlTrackingStore

_rm = t.registered_models
_rmt = t.registered_model_tags
_mv = t.model_versions
_al = t.registered_model_aliases

_initialised: weakref.WeakSet[Engine] = weakref.WeakSet()


class SqlRegistryStore(SqlVersionsMixin):
    """A :class:`~cairn.store.registry.protocol.RegistryStore` on SQLAlchemy Core."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.engine = get_engine(uri)
        if self.engine not in _initialised:
            ensure_schema(self.engine)
            self._watch_webhook_transactions()
            _initialised.add(self.engine)
        self._start_webhook_dispatcher()

    @functools.cached_property
    def _tracking(self) -> SqlTrackingStore:
        """The tracking store of the same database: runs and logged models for sources and
        lineage."""
        from cairn.store.tracking.sql import SqlTrackingStore

        return SqlTrackingStore(self.uri)

    # ------------------------------------------------------------------ registered models

    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        name = validation.validate_model_name(name)
        tag_rows = checked_tags(tags)
        description = optional_text(description, "description")
        now, actor = now_ms(), current_actor()
        try:
            with write_transaction(self.engine) as conn:
                if conn.execute(select(_rm.c.name).where(_rm.c.name == name)).first():
                    raise model_exists(name)
                conn.execute(
                    insert(_rm).values(
                        name=name,
                        creation_time=now,
                        last_updated_time=now,
                        description=description,
                        user_id=actor,
                        next_version=1,
                    )
                )
                if tag_rows:
                    conn.execute(
                        insert(_rmt),
                        [{"name": name, "key": k, "value": v} for k, v in tag_rows.items()],
                    )
                summary = {"name": name, "description": description, "tags": tag_rows}
                self._record(
                    conn,
                    "registered_model.created",
                    name,
                    None,
                    None,
                    summary,
                    timestamp=now,
                    payload={"name": name, "tags": tag_rows, "description": description},
                )
        except IntegrityError:
            raise model_exists(name) from None
        self._after_registry_write()
        return RegisteredModel(
            name=name,
            creation_timestamp=now,
            last_updated_timestamp=now,
            user_id=actor,
            description=description,
            tags=tag_rows,
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        name = validation.validate_model_name(name)
        with read_transaction(self.engine) as conn:
            found = load_models(conn, [name])
        if not found:
            raise model_not_found(name)
        return found[0]

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        name = validation.validate_model_name(name)
        description = optional_text(description, "description")
        now = now_ms()
        with write_transaction(self.engine) as conn:
            row = self._model_row(conn, name, lock=True)
            conn.execute(
                update(_rm)
                .where(_rm.c.name == name)
                .values(description=description, last_updated_time=now)
            )
            self._record(
                conn,
                "registered_model.updated",
                name,
                None,
                {"description": row.description},
                {"description": description},
                timestamp=now,
                payload={"name": name, "description": description},
            )
            model = load_models(conn, [name])[0]
        self._after_registry_write()
        return model

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename; versions, tags and aliases follow (ON UPDATE CASCADE), and so does the
        audit trail, so the model's history stays whole under its new name."""
        name = validation.validate_model_name(name)
        new_name = validation.validate_model_name(new_name, "new_name")
        now = now_ms()
        try:
            with write_transaction(self.engine) as conn:
                self._model_row(conn, name, lock=True)
                if new_name == name:
                    return load_models(conn, [name])[0]
                if conn.execute(select(_rm.c.name).where(_rm.c.name == new_name)).first():
                    raise model_exists(new_name)
                conn.execute(
                    update(_rm)
                    .where(_rm.c.name == name)
                    .values(name=new_name, last_updated_time=now)
                )
                conn.execute(
                    update(_mv).where(_mv.c.name == new_name).values(last_updated_time=now)
                )
                conn.execute(
                    update(t.registry_events)
                    .where(t.registry_events.c.name == name)
                    .values(name=new_name)
                )
                self._record(
                    conn,
                    "registered_model.renamed",
                    new_name,
                    None,
                    {"name": name},
                    {"name": new_name},
                    timestamp=now,
                    payload={"name": name, "new_name": new_name},
                )
                model = load_models(conn, [new_name])[0]
        except IntegrityError:
            raise model_exists(new_name) from None
        self._after_registry_write()
        return model

    def delete_registered_model(self, name: str) -> None:
        """Delete the model with its versions, tags and aliases; its history stays."""
        name = validation.validate_model_name(name)
        now = now_ms()
        with write_transaction(self.engine) as conn:
            self._model_row(conn, name, lock=True)
            model = load_models(conn, [name])[0]
            versions = list(
                conn.execute(
                    select(_mv.c.version).where(_mv.c.name == name).order_by(_mv.c.version)
                ).scalars()
            )
            conn.execute(delete(_rm).where(_rm.c.name == name))
            before = {
                "name": name,
                "description": model.description,
                "user_id": model.user_id,
                "creation_timestamp": model.creation_timestamp,
                "tags": model.tags,
                "aliases": model.aliases,
                "versions": versions,
            }
            self._record(
                conn,
                "registered_model.deleted",
                name,
                None,
                before,
                None,
                timestamp=now,
                payload={"name": name},
            )
        self._after_registry_write()

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODELS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        limit = validation.validate_max_results(
            max_results, validation.MAX_RESULTS_SEARCH_REGISTERED_MODELS
        )
        offset = decode_page_token(page_token)
        query = select_registered_model_names(
            filter_string, list(order_by) if order_by else None, offset, limit + 1
        )
        with read_transaction(self.engine) as conn:
            names = list(conn.execute(query).scalars())
            models = load_models(conn, names[:limit])
        token = encode_page_token(offset + limit) if len(names) > limit else None
        return PagedList(models, token)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version in each stage (of ``stages``, or of all stages)."""
        name = validation.validate_model_name(name)
        if isinstance(stages, str):
            stages = [stages]
        wanted = {Stage.validate(stage) for stage in stages} if stages else set(Stage.ALL)
        with read_transaction(self.engine) as conn:
            self._model_row(conn, name)
            rows = latest_version_rows(conn, [name]).get(name, [])
            keys = [(row.name, row.version) for row in rows if row.current_stage in wanted]
            return load_versions(conn, keys)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        name = validation.validate_model_name(name)
        key, value = validation.validate_registry_tag(key, value)
        with write_transaction(self.engine) as conn:
            self._model_row(conn, name, lock=True)
            old = self._set_tag(conn, _rmt, {"name": name}, key, value)
            self._record(
                conn,
                "registered_model_tag.set",
                name,
                None,
                None if old is None else {"key": key, "value": old},
                {"key": key, "value": value},
                timestamp=now_ms(),
                payload={"name": name, "key": key, "value": value},
            )
        self._after_registry_write()

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Delete a tag; a tag that is not there is not an error (as in MLflow)."""
        name = validation.validate_model_name(name)
        key = validation.validate_key(key, "tag")
        with write_transaction(self.engine) as conn:
            self._model_row(conn, name, lock=True)
            old = self._delete_tag(conn, _rmt, {"name": name}, key)
            if old is None:
                return
            self._record(
                conn,
                "registered_model_tag.deleted",
                name,
                None,
                {"key": key, "value": old},
                None,
                timestamp=now_ms(),
                payload={"name": name, "key": key},
            )
        self._after_registry_write()

    # ------------------------------------------------------------------ aliases

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at a version; an alias already in use moves."""
        name = validation.validate_model_name(name)
        alias = validation.validate_alias(alias)
        number = validation.validate_model_version(version)
        with write_transaction(self.engine) as conn:
            self._locked_version(conn, name, number)
            where = (_al.c.name == name, _al.c.alias == alias)
            old = conn.execute(select(_al.c.version).where(*where)).scalar()
            if old is None:
                conn.execute(insert(_al).values(name=name, alias=alias, version=number))
            else:
                conn.execute(update(_al).where(*where).values(version=number))
            self._record(
                conn,
                "model_version_alias.created",
                name,
                number,
                None if old is None else {"alias": alias, "version": old},
                {"alias": alias, "version": number},
                timestamp=now_ms(),
                payload={"name": name, "alias": alias, "version": str(number)},
            )
        self._after_registry_write()

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias; one that is not set is not an error (as in MLflow)."""
        name = validation.validate_model_name(name)
        alias = validation.validate_alias(alias, reserved_ok=True)
        with write_transaction(self.engine) as conn:
            self._model_row(conn, name, lock=True)
            where = (_al.c.name == name, _al.c.alias == alias)
            old = conn.execute(select(_al.c.version).where(*where)).scalar()
            if old is None:
                return
            conn.execute(delete(_al).where(*where))
            self._record(
                conn,
                "model_version_alias.deleted",
                name,
                old,
                {"alias": alias, "version": old},
                None,
                timestamp=now_ms(),
                payload={"name": name, "alias": alias},
            )
        self._after_registry_write()

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at; ``latest`` is the highest version."""
        name = validation.validate_model_name(name)
        alias = validation.validate_alias(alias, reserved_ok=True)
        with read_transaction(self.engine) as conn:
            if alias.lower() == "latest":
                number = conn.execute(
                    select(func.max(_mv.c.version)).where(_mv.c.name == name)
                ).scalar()
            else:
                number = conn.execute(
                    select(_al.c.version).where(_al.c.name == name, _al.c.alias == alias)
                ).scalar()
            if number is None:
                self._model_row(conn, name)  # an unknown model is named as such
                if alias.lower() == "latest":
                    raise CairnError.not_found(f"Latest version not found for model {name}.")
                raise CairnError.invalid(f"Registered model alias {alias} not found.")
            return load_versions(conn, [(name, number)])[0]
