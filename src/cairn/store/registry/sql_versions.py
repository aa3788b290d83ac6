"""Model versions on the SQL registry store: a mixin of :class:`SqlRegistryStore`.

A version is READY as soon as it is created (registration is synchronous); its number comes from
the model's ``next_version``, read under the model's row lock, so numbers are handed out once
and never reused, even after a delete. Its ``source`` is checked and resolved to the storage
location downloads read from by :mod:`cairn.store.registry.sql_sources`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, insert, select, update

from cairn import validation
from cairn.clock import now_ms
from cairn.entities import PagedList
from cairn.entities.registry import ModelVersion, ModelVersionLineage, ModelVersionStatus, Stage
from cairn.errors import CairnError
from cairn.search.paging import decode_page_token, encode_page_token
from cairn.search.registry import IS_PROMPT_TAG, select_model_version_keys
from cairn.store.db import schema as t
from cairn.store.db.engine import read_transaction, write_transaction
from cairn.store.registry.actor import current_actor
from cairn.store.registry.copying import copy_model_version
from cairn.store.registry.protocol import SEARCH_MODEL_VERSIONS_DEFAULT
from cairn.store.registry.sql_base import (
    SqlRegistryBase,
    checked_tags,
    optional_text,
    version_not_found,
)
from cairn.store.registry.sql_lineage import version_lineage
from cairn.store.registry.sql_load import load_versions, version_entity
from cairn.store.registry.sql_sources import ResolvedSource, resolve_source

if TYPE_CHECKING:
    from cairn.store.tracking.sql import SqlTrackingStore

_rm = t.registered_models
_mv = t.model_versions
_rmt = t.registered_model_tags
_mvt = t.model_version_tags

# Stages whose other versions ``archive_existing_versions`` may archive (MLflow's rule).
_ACTIVE_STAGES = (Stage.STAGING, Stage.PRODUCTION)


def _version_summary(row: Any, tags: Mapping[str, str], aliases: Sequence[str] = ()) -> dict:
    """A version as the audit trail keeps it on creation and deletion."""
    return {
        "version": row.version,
        "source": row.source,
        "storage_location": row.storage_location,
        "run_id": row.run_id,
        "model_id": row.model_id,
        "run_link": row.run_link,
        "description": row.description,
        "current_stage": row.current_stage,
        "user_id": row.user_id,
        "tags": dict(tags),
        "aliases": list(aliases),
    }


class SqlVersionsMixin(SqlRegistryBase):
    """The model-version methods of the registry store."""

    if TYPE_CHECKING:

        @property
        def _tracking(self) -> SqlTrackingStore: ...

    # ------------------------------------------------------------------ model versions

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        """A new READY version numbered from the model's ``next_version``; the source is
        checked and resolved to the version's storage location (see
        :mod:`cairn.store.registry.sql_sources`)."""
        name = validation.validate_model_name(name)
        tag_rows = checked_tags(tags)
        run_link = optional_text(run_link, "run_link")
        description = optional_text(description, "description")
        is_prompt = tag_rows.get(IS_PROMPT_TAG, "false").lower() == "true"
        resolved = resolve_source(
            source, run_id, model_id, self._tracking, self._storage_of, is_prompt
        )
        now, actor = now_ms(), current_actor()
        with write_transaction(self.engine) as conn:
            number = self._model_row(conn, name, lock=True).next_version
            conn.execute(
                update(_rm)
                .where(_rm.c.name == name)
                .values(next_version=number + 1, last_updated_time=now)
            )
            row = {
                "name": name,
                "version": number,
                "creation_time": now,
                "last_updated_time": now,
                "description": description,
                "user_id": actor,
                "current_stage": Stage.NONE,
                "source": source,
                "storage_location": resolved.storage_location,
                "run_id": resolved.run_id,
                "model_id": resolved.model_id,
                "run_link": run_link,
                "status": ModelVersionStatus.READY,
                "status_message": None,
            }
            conn.execute(insert(_mv).values(**row))
            if tag_rows:
                conn.execute(
                    insert(_mvt),
                    [
                        {"name": name, "version": number, "key": k, "value": v}
                        for k, v in tag_rows.items()
                    ],
                )
            created = SimpleNamespace(**row)
            entity = version_entity(created, tag_rows)
            self._record(
                conn,
                "model_version.created",
                name,
                number,
                None,
                _version_summary(created, tag_rows),
                timestamp=now,
                payload={
                    "name": name,
                    "version": str(number),
                    "source": source,
                    "run_id": resolved.run_id,
                    "tags": tag_rows,
                    "description": description,
                },
            )
        self._after_registry_write()
        return entity

    def _storage_of(self, name: str, version: int) -> ResolvedSource:
        """Where a registered version's files are (``models:/<name>/<version>`` sources)."""
        with read_transaction(self.engine) as conn:
            row = self._version_row(conn, name, version)
            prompt = conn.execute(
                select(_rmt.c.value).where(_rmt.c.name == name, _rmt.c.key == IS_PROMPT_TAG)
            ).scalar()
        if (prompt or "").lower() == "true":
            raise CairnError.invalid(
                f"Invalid model version source 'models:/{name}/{version}': a prompt's versions "
                "cannot be the source of a model version."
            )
        return ResolvedSource(row.storage_location or row.source, row.run_id, row.model_id)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        name = validation.validate_model_name(name)
        number = validation.validate_model_version(version)
        with read_transaction(self.engine) as conn:
            found = load_versions(conn, [(name, number)])
        if not found:
            raise version_not_found(name, number)
        return found[0]

    def update_model_version(
        self, name: str, version: int | str, description: str | None
    ) -> ModelVersion:
        name = validation.validate_model_name(name)
        number = validation.validate_model_version(version)
        description = optional_text(description, "description")
        now = now_ms()
        with write_transaction(self.engine) as conn:
            row = self._locked_version(conn, name, number)
            conn.execute(
                update(_mv)
                .where(_mv.c.name == name, _mv.c.version == number)
                .values(description=description, last_updated_time=now)
            )
            self._record(
                conn,
                "model_version.updated",
                name,
                number,
                {"description": row.description},
                {"description": description},
                timestamp=now,
                payload={"name": name, "version": str(number), "description": description},
            )
            entity = load_versions(conn, [(name, number)])[0]
        self._after_registry_write()
        return entity

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to a stage; with ``archive_existing_versions`` (Staging and
        Production only) the model's other versions in that stage go to Archived, each
        recorded as its own stage change."""
        name = validation.validate_model_name(name)
        number = validation.validate_model_version(version)
        stage = Stage.validate(stage)
        if archive_existing_versions and stage not in _ACTIVE_STAGES:
            raise CairnError.invalid(
                f"archive_existing_versions needs the target stage to be Staging or Production, "
                f"not {stage!r}."
            )
        now = now_ms()
        with write_transaction(self.engine) as conn:
            row = self._locked_version(conn, name, number)
            others = []
            if archive_existing_versions:
                others = list(
                    conn.execute(
                        select(_mv.c.version)
                        .where(
                            _mv.c.name == name,
                            _mv.c.version != number,
                            _mv.c.current_stage == stage,
                        )
                        .order_by(_mv.c.version)
                    ).scalars()
                )
            for other in others:
                self._set_stage(conn, name, other, stage, Stage.ARCHIVED, now)
            if row.current_stage != stage:
                self._set_stage(conn, name, number, row.current_stage, stage, now)
            else:
                conn.execute(
                    update(_mv)
                    .where(_mv.c.name == name, _mv.c.version == number)
                    .values(last_updated_time=now)
                )
            self._touch_model(conn, name, now)
            entity = load_versions(conn, [(name, number)])[0]
        self._after_registry_write()
        return entity

    def _set_stage(
        self, conn: Connection, name: str, version: int, old: str, new: str, now: int
    ) -> None:
        conn.execute(
            update(_mv)
            .where(_mv.c.name == name, _mv.c.version == version)
            .values(current_stage=new, last_updated_time=now)
        )
        self._record(
            conn,
            "model_version.stage_changed",
            name,
            version,
            {"current_stage": old},
            {"current_stage": new},
            timestamp=now,
            payload={"name": name, "version": str(version), "stage": new, "previous_stage": old},
        )

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version with its tags and the aliases that pointed at it. Its number is
        never given out again."""
        name = validation.validate_model_name(name)
        number = validation.validate_model_version(version)
        now = now_ms()
        with write_transaction(self.engine) as conn:
            row = self._locked_version(conn, name, number)
            before = _version_summary(
                row,
                self._version_tags(conn, name, number),
                self._version_aliases(conn, name, number),
            )
            conn.execute(delete(_mv).where(_mv.c.name == name, _mv.c.version == number))
            self._touch_model(conn, name, now)
            self._record(
                conn,
                "model_version.deleted",
                name,
                number,
                before,
                None,
                timestamp=now,
                payload={"name": name, "version": str(number)},
            )
        self._after_registry_write()

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        name = validation.validate_model_name(name)
        number = validation.validate_model_version(version)
        with read_transaction(self.engine) as conn:
            row = self._version_row(conn, name, number)
        return str(row.storage_location or row.source)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSIONS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        limit = validation.validate_max_results(
            max_results, validation.MAX_RESULTS_SEARCH_MODEL_VERSIONS
        )
        offset = decode_page_token(page_token)
        query = select_model_version_keys(
            filter_string, list(order_by) if order_by else None, offset, limit + 1
        )
        with read_transaction(self.engine) as conn:
            keys = [(name, version) for name, version in conn.execute(query)]
            versions = load_versions(conn, keys[:limit])
        token = encode_page_token(offset + limit) if len(keys) > limit else None
        return PagedList(versions, token)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: str) -> None:
        name = validation.validate_model_name(name)
        number = validation.validate_model_version(version)
        key, value = validation.validate_registry_tag(key, value)
        with write_transaction(self.engine) as conn:
            self._locked_version(conn, name, number)
            old = self._set_tag(conn, _mvt, {"name": name, "version": number}, key, value)
            self._record(
                conn,
                "model_version_tag.set",
                name,
                number,
                None if old is None else {"key": key, "value": old},
                {"key": key, "value": value},
                timestamp=now_ms(),
                payload={"name": name, "version": str(number), "key": key, "value": value},
            )
        self._after_registry_write()

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        """Delete a version's tag; a tag that is not there is not an error (as in MLflow)."""
        name = validation.validate_model_name(name)
        number = validation.validate_model_version(version)
        key = validation.validate_key(key, "tag")
        with write_transaction(self.engine) as conn:
            self._locked_version(conn, name, number)
            old = self._delete_tag(conn, _mvt, {"name": name, "version": number}, key)
            if old is None:
                return
            self._record(
                conn,
                "model_version_tag.deleted",
                name,
                number,
                {"key": key, "value": old},
                None,
                timestamp=now_ms(),
                payload={"name": name, "version": str(number), "key": key},
            )
        self._after_registry_write()

    def copy_model_version(self, name: str, version: int | str, dst_name: str) -> ModelVersion:
        return copy_model_version(self, name, version, dst_name)

    # ------------------------------------------------------------------ lineage

    def get_model_version_lineage(self, name: str, version: int | str) -> ModelVersionLineage:
        """Where a version came from; parts that are gone are None or empty."""
        name = validation.validate_model_name(name)
        number = validation.validate_model_version(version)
        with read_transaction(self.engine) as conn:
            row = self._version_row(conn, name, number)
        return version_lineage(row, self._tracking)
