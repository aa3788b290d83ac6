"""The model registry part of an import: registered models, their versions, tags and aliases.

Read from MLflow's registry tables (a database source) or its REST API (a server source) into
plain records, then written straight into cairn's registry tables, as the runs are: the store's
API would number versions afresh and stamp the current time and user, and an import must keep
MLflow's version numbers, times and users.

Rules, so that re-running an import is safe:

- A model or version that exists already is updated from the source (description, stage,
  status, times; tags merged, aliases set). Nothing is ever deleted, as with runs.
- A version number cairn already uses for a *different* version (another creation time or run)
  is left alone and reported: the import never renumbers.
- ``next_version`` is set past the highest number the source ever used (a database keeps its
  deleted versions as ``Deleted_Internal`` rows, which are counted but not copied), so a
  version registered in cairn later never takes a number MLflow gave out.
- A version whose files are in one of the imported runs points at the cairn run's copy: its
  source is rewritten from the MLflow run's artifact location to cairn's.
- The audit trail gets one ``registered_model.created`` / ``model_version.created`` row per
  model or version the import creates, dated and attributed as in the source (or to
  ``cairn-import`` when MLflow recorded no user), marked ``imported_from``; re-imports and
  updates add none. Webhooks are not notified: an import replays history, it is not a change
  anyone subscribed to.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import Connection, Engine, insert, select, update

from cairn.clock import now_ms
from cairn.errors import CairnError
from cairn.store.artifacts.paths import join_uri
from cairn.store.db import schema as t
from cairn.store.db.engine import read_transaction, write_transaction
from cairn.store.db.upsert import upsert

REGISTRY_TABLES = ("registered_models", "model_versions")
OPTIONAL_REGISTRY_TABLES = (
    "registered_model_tags",
    "model_version_tags",
    "registered_model_aliases",
)
DELETED_STAGE = "Deleted_Internal"  # MLflow's soft-deleted version
PROMPT_TAG = "mlflow.prompt.is_prompt"  # MLflow 3 prompts live in the registry too
IMPORT_USER = "cairn-import"
_DEFAULT_WORKSPACE = "default"
_MODELS_PAGE = 1000
_VERSIONS_PAGE = 10_000


@dataclass(frozen=True)
class SourceModelVersion:
    name: str
    version: int
    creation_time: int | None
    last_updated_time: int | None
    current_stage: str
    source: str
    status: str
    user_id: str | None = None
    description: str | None = None
    run_id: str | None = None
    run_link: str | None = None
    status_message: str | None = None
    # Where the files are, when the source is a models:/ URI (MLflow resolved it on create).
    storage_location: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceRegisteredModel:
    name: str
    creation_time: int | None
    last_updated_time: int | None
    description: str | None
    user_id: str | None
    tags: dict[str, str]
    aliases: dict[str, int]
    versions: list[SourceModelVersion]
    # The highest version number ever given out, deleted versions included when known.
    highest_version: int


# ----------------------------------------------------------------------------- reading: database


def read_sql_registry(engine: Engine) -> tuple[list[SourceRegisteredModel], int]:
    """The registry of an MLflow database (empty if it has none), and how many prompts it holds
    (MLflow 3 keeps prompts as registered models; cairn does not import them)."""
    from sqlalchemy import MetaData, inspect

    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        if not all(name in present for name in REGISTRY_TABLES):
            return [], 0
        meta = MetaData()
        wanted = [*REGISTRY_TABLES, *(n for n in OPTIONAL_REGISTRY_TABLES if n in present)]
        meta.reflect(bind=conn, only=wanted)
        return _read_sql(conn, meta.tables)


def _in_default_workspace(table: Any) -> list[Any]:
    return [table.c.workspace == _DEFAULT_WORKSPACE] if "workspace" in table.c else []


def _read_sql(
    conn: Connection, tables: Mapping[str, Any]
) -> tuple[list[SourceRegisteredModel], int]:
    rm, mv = tables["registered_models"], tables["model_versions"]
    model_tags = _sql_tags(conn, tables.get("registered_model_tags"), ("name",))
    version_tags = _sql_tags(conn, tables.get("model_version_tags"), ("name", "version"))
    aliases: dict[str, dict[str, int]] = {}
    if "registered_model_aliases" in tables:
        ra = tables["registered_model_aliases"]
        query = select(ra.c.name, ra.c.alias, ra.c.version).where(*_in_default_workspace(ra))
        for name, alias, version in conn.execute(query):
            aliases.setdefault(name, {})[alias] = int(version)
    versions: dict[str, list[SourceModelVersion]] = {}
    highest: dict[str, int] = {}
    query = select(mv).where(*_in_default_workspace(mv)).order_by(mv.c.name, mv.c.version)
    for row in conn.execute(query).mappings():
        name, number = row["name"], int(row["version"])
        highest[name] = max(highest.get(name, 0), number)
        if row.get("current_stage") == DELETED_STAGE:
            continue
        versions.setdefault(name, []).append(
            SourceModelVersion(
                name=name,
                version=number,
                creation_time=row.get("creation_time"),
                last_updated_time=row.get("last_updated_time"),
                current_stage=row.get("current_stage") or "None",
                source=row.get("source") or "",
                status=row.get("status") or "READY",
                user_id=row.get("user_id"),
                description=row.get("description"),
                run_id=row.get("run_id") or None,
                run_link=row.get("run_link") or None,
                status_message=row.get("status_message"),
                storage_location=row.get("storage_location"),
                tags=version_tags.get((name, number), {}),
            )
        )
    models, prompts = [], 0
    query = select(rm).where(*_in_default_workspace(rm)).order_by(rm.c.name)
    for row in conn.execute(query).mappings():
        name = row["name"]
        tags = model_tags.get((name,), {})
        if tags.get(PROMPT_TAG) == "true":
            prompts += 1
            continue
        models.append(
            SourceRegisteredModel(
                name=name,
                creation_time=row.get("creation_time"),
                last_updated_time=row.get("last_updated_time"),
                description=row.get("description"),
                user_id=row.get("user_id"),  # MLflow's table has none; kept for other stores
                tags=tags,
                aliases=aliases.get(name, {}),
                versions=versions.get(name, []),
                highest_version=highest.get(name, 0),
            )
        )
    return models, prompts


def _sql_tags(
    conn: Connection, table: Any, keys: tuple[str, ...]
) -> dict[tuple[Any, ...], dict[str, str]]:
    out: dict[tuple[Any, ...], dict[str, str]] = {}
    if table is None:
        return out
    columns = [table.c[k] for k in keys]
    query = select(*columns, table.c.key, table.c.value).where(*_in_default_workspace(table))
    for row in conn.execute(query):
        ident = tuple(int(v) if k == "version" else v for k, v in zip(keys, row, strict=False))
        out.setdefault(ident, {})[row.key] = row.value or ""
    return out


# ----------------------------------------------------------------------------- reading: server


def read_server_registry(server: str) -> tuple[list[SourceRegisteredModel], int]:
    """The registry of an MLflow (or cairn) server through its REST API.

    A server does not show deleted versions, so ``highest_version`` counts only the live ones.
    A server without a registry has an empty one.
    """
    from cairn.store.http import HttpTransport

    transport = HttpTransport(server)
    try:
        try:
            raw_models = list(_pages(transport, "registered-models/search", "registered_models",
                                     _MODELS_PAGE))  # fmt: skip
        except CairnError as exc:
            if exc.error_code in ("ENDPOINT_NOT_FOUND", "NOT_FOUND", "FEATURE_DISABLED"):
                return [], 0
            raise
        by_name: dict[str, list[SourceModelVersion]] = {}
        for raw in _pages(transport, "model-versions/search", "model_versions", _VERSIONS_PAGE):
            version = _server_version(transport, raw)
            if version.current_stage != DELETED_STAGE:
                by_name.setdefault(version.name, []).append(version)
    finally:
        transport.close()
    models, prompts = [], 0
    for raw in raw_models:
        tags = {tag["key"]: tag.get("value", "") for tag in raw.get("tags", ())}
        if tags.get(PROMPT_TAG) == "true":
            prompts += 1
            continue
        versions = sorted(by_name.get(raw["name"], []), key=lambda v: v.version)
        models.append(
            SourceRegisteredModel(
                name=raw["name"],
                creation_time=_int(raw.get("creation_timestamp")),
                last_updated_time=_int(raw.get("last_updated_timestamp")),
                description=raw.get("description") or None,
                user_id=raw.get("user_id") or None,
                tags=tags,
                aliases={a["alias"]: int(a["version"]) for a in raw.get("aliases", ())},
                versions=versions,
                highest_version=max((v.version for v in versions), default=0),
            )
        )
    return models, prompts


def _pages(transport: Any, endpoint: str, key: str, size: int) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        params: dict[str, Any] = {"max_results": size}
        if token:
            params["page_token"] = token
        page = transport.call("GET", endpoint, params=params, idempotent=True)
        yield from page.get(key, ())
        token = page.get("next_page_token")
        if not token or not page.get(key):
            return


def _server_version(transport: Any, raw: dict[str, Any]) -> SourceModelVersion:
    source = raw.get("source") or ""
    storage = None
    if urlparse(source).scheme == "models":
        # The server resolved it when the version was made; ask where the files are.
        with contextlib.suppress(CairnError):
            storage = transport.call(
                "GET",
                "model-versions/get-download-uri",
                params={"name": raw["name"], "version": str(raw["version"])},
                idempotent=True,
            ).get("artifact_uri")
    return SourceModelVersion(
        name=raw["name"],
        version=int(raw["version"]),
        creation_time=_int(raw.get("creation_timestamp")),
        last_updated_time=_int(raw.get("last_updated_timestamp")),
        current_stage=raw.get("current_stage") or "None",
        source=source,
        status=raw.get("status") or "READY",
        user_id=raw.get("user_id") or None,
        description=raw.get("description") or None,
        run_id=raw.get("run_id") or None,
        run_link=raw.get("run_link") or None,
        status_message=raw.get("status_message") or None,
        storage_location=storage,
        tags={tag["key"]: tag.get("value", "") for tag in raw.get("tags", ())},
    )


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


# ----------------------------------------------------------------------------- writing


@dataclass
class ModelResult:
    """What importing one registered model did (or, in a dry run, would do)."""

    name: str
    created: bool = False
    changed: bool = False
    versions_created: int = 0
    versions_updated: int = 0
    versions_unchanged: int = 0
    # Versions whose files stay where MLflow keeps them (logged models, other stores).
    versions_outside: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunLocation:
    """An imported run's artifact root in the source and in cairn."""

    source: str
    cairn: str


class RegistryWriter:
    """Writes source registered models into cairn's registry tables (or plans it, dry)."""

    def __init__(self, engine: Engine, source_uri: str, *, dry_run: bool = False) -> None:
        self.engine = engine
        self.source_uri = source_uri
        self.dry_run = dry_run

    def run_artifact_uris(self, run_ids: Collection[str]) -> dict[str, str]:
        """cairn's artifact roots of those of these runs it has."""
        ids = list(run_ids)
        out: dict[str, str] = {}
        with read_transaction(self.engine) as conn:
            for start in range(0, len(ids), 500):
                query = select(t.runs.c.run_uuid, t.runs.c.artifact_uri).where(
                    t.runs.c.run_uuid.in_(ids[start : start + 500])
                )
                out.update((rid, uri) for rid, uri in conn.execute(query))
        return out

    def import_model(
        self, model: SourceRegisteredModel, runs: Mapping[str, RunLocation]
    ) -> ModelResult:
        """Copy or update one registered model with its versions and aliases, in one
        transaction. ``runs`` maps imported run ids to their artifact roots."""
        result = ModelResult(model.name)
        transaction = read_transaction if self.dry_run else write_transaction
        with transaction(self.engine) as conn:
            row = conn.execute(
                select(t.registered_models).where(t.registered_models.c.name == model.name)
            ).first()
            if row is None:
                result.created = True
                if not self.dry_run:
                    self._create_model(conn, model)
            else:
                result.changed = self._update_model(conn, model, row)
            result.changed |= self._merge_tags(
                conn,
                t.registered_model_tags,
                {"name": model.name},
                model.tags,
            )
            kept = {
                v.version
                for v in model.versions
                if self._import_version(conn, v, runs, result, new_model=result.created)
            }
            result.changed |= self._aliases(conn, model, kept, result)
        if result.created:
            result.changed = False
        return result

    # ------------------------------------------------------------------ models

    def _create_model(self, conn: Connection, model: SourceRegisteredModel) -> None:
        created = model.creation_time or now_ms()
        conn.execute(
            insert(t.registered_models).values(
                name=model.name,
                creation_time=created,
                last_updated_time=model.last_updated_time or created,
                description=model.description,
                user_id=model.user_id,
                next_version=model.highest_version + 1,
            )
        )
        self._event(
            conn,
            "registered_model.created",
            model.name,
            None,
            created,
            model.user_id,
            {
                "name": model.name,
                "creation_timestamp": created,
                "user_id": model.user_id,
                "description": model.description,
                "tags": model.tags,
            },
        )

    def _update_model(self, conn: Connection, model: SourceRegisteredModel, row: Any) -> bool:
        values: dict[str, Any] = {
            "description": model.description,
            "next_version": max(row.next_version, model.highest_version + 1),
        }
        if model.last_updated_time:
            values["last_updated_time"] = max(row.last_updated_time, model.last_updated_time)
        if model.user_id:
            values["user_id"] = model.user_id
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        if changed and not self.dry_run:
            conn.execute(
                update(t.registered_models)
                .where(t.registered_models.c.name == model.name)
                .values(**changed)
            )
        # A higher next_version alone is bookkeeping, not a change anyone would see.
        return bool(set(changed) - {"next_version"})

    def _merge_tags(
        self, conn: Connection, table: Any, ident: Mapping[str, Any], tags: Mapping[str, str]
    ) -> bool:
        where = [table.c[k] == v for k, v in ident.items()]
        existing = dict(conn.execute(select(table.c.key, table.c.value).where(*where)).all())
        rows = [{**ident, "key": k, "value": v} for k, v in tags.items() if existing.get(k) != v]
        if rows and not self.dry_run:
            upsert(conn, table, rows, keys=(*ident, "key"), update=("value",))
        return bool(rows)

    # ------------------------------------------------------------------ versions

    def _import_version(
        self,
        conn: Connection,
        version: SourceModelVersion,
        runs: Mapping[str, RunLocation],
        result: ModelResult,
        *,
        new_model: bool,
    ) -> bool:
        """Create or update one version; False when its number is taken by another version."""
        mv = t.model_versions
        source, storage, model_id, outside = self._locate(conn, version, runs)
        result.versions_outside += outside
        created = version.creation_time or now_ms()
        values: dict[str, Any] = {
            "last_updated_time": version.last_updated_time or created,
            "description": version.description,
            "user_id": version.user_id,
            "current_stage": version.current_stage,
            "source": source,
            "storage_location": storage,
            "run_id": version.run_id,
            "model_id": model_id,
            "run_link": version.run_link,
            "status": version.status,
            "status_message": version.status_message,
        }
        row = None
        if not new_model:
            row = conn.execute(
                select(mv).where(mv.c.name == version.name, mv.c.version == version.version)
            ).first()
        if row is None:
            result.versions_created += 1
            if not self.dry_run:
                conn.execute(
                    insert(mv).values(
                        name=version.name,
                        version=version.version,
                        creation_time=created,
                        **values,
                    )
                )
                self._event(
                    conn,
                    "model_version.created",
                    version.name,
                    version.version,
                    created,
                    version.user_id,
                    {
                        "name": version.name,
                        "version": version.version,
                        "creation_timestamp": created,
                    }
                    | values
                    | {"tags": version.tags},
                )
        elif row.creation_time != created or (row.run_id or None) != version.run_id:
            result.warnings.append(
                f"model {version.name!r} version {version.version} already exists in cairn "
                "as another version (other creation time or run); left it alone"
            )
            return False
        else:
            changed = {k: v for k, v in values.items() if getattr(row, k) != v}
            if changed and not self.dry_run:
                conn.execute(
                    update(mv)
                    .where(mv.c.name == version.name, mv.c.version == version.version)
                    .values(**changed)
                )
            tags_changed = self._merge_tags(
                conn,
                t.model_version_tags,
                {"name": version.name, "version": version.version},
                version.tags,
            )
            if changed or tags_changed:
                result.versions_updated += 1
            else:
                result.versions_unchanged += 1
            return True
        self._merge_tags(
            conn,
            t.model_version_tags,
            {"name": version.name, "version": version.version},
            version.tags,
        )
        return True

    def _locate(
        self, conn: Connection, version: SourceModelVersion, runs: Mapping[str, RunLocation]
    ) -> tuple[str, str, str | None, int]:
        """(source, storage location, logged model id, 1 if the files stay outside cairn).

        Files inside an imported run point at cairn's copy; ``runs:/`` sources keep their
        text (run ids are kept) and resolve to cairn's copy; ``models:/m-...`` sources name a
        logged model, found in cairn when it has it, else left where MLflow keeps it.
        """
        source = version.source
        run = runs.get(version.run_id or "")
        if run is not None and _under(source, run.source):
            moved = run.cairn + source[len(run.source.rstrip("/")) :]
            return moved, moved, None, 0
        parsed = urlparse(source)
        if parsed.scheme == "runs":
            run_id, _, path = f"{parsed.netloc}{parsed.path}".strip("/").partition("/")
            run = runs.get(run_id)
            if run is not None:
                return source, join_uri(run.cairn, path) if path else run.cairn, None, 0
        parts = f"{parsed.netloc}{parsed.path}".strip("/").split("/")
        if parsed.scheme == "models" and len(parts) == 1 and parts[0].startswith("m-"):
            model_id = parts[0]
            location = conn.execute(
                select(t.logged_models.c.artifact_location).where(
                    t.logged_models.c.model_id == model_id
                )
            ).scalar()
            if location is not None:
                return source, location, model_id, 0
            return source, version.storage_location or source, model_id, 1
        return source, version.storage_location or source, None, 1

    # ------------------------------------------------------------------ aliases

    def _aliases(
        self,
        conn: Connection,
        model: SourceRegisteredModel,
        kept: set[int],
        result: ModelResult,
    ) -> bool:
        ra = t.registered_model_aliases
        existing = dict(
            conn.execute(select(ra.c.alias, ra.c.version).where(ra.c.name == model.name)).all()
        )
        rows = []
        for alias, version in sorted(model.aliases.items()):
            if version not in kept:
                result.warnings.append(
                    f"alias {alias!r} of model {model.name!r} points at version {version}, "
                    "which was not imported; alias left out"
                )
            elif existing.get(alias) != version:
                rows.append({"name": model.name, "alias": alias, "version": version})
        if rows and not self.dry_run:
            upsert(conn, ra, rows, keys=("name", "alias"), update=("version",))
        return bool(rows)

    # ------------------------------------------------------------------ audit

    def _event(
        self,
        conn: Connection,
        event: str,
        name: str,
        version: int | None,
        timestamp: int,
        user_id: str | None,
        after: Mapping[str, Any],
    ) -> None:
        conn.execute(
            insert(t.registry_events).values(
                timestamp=timestamp,
                user_id=user_id or IMPORT_USER,
                event=event,
                name=name,
                version=version,
                before_json=None,
                after_json=json.dumps({**after, "imported_from": self.source_uri}),
            )
        )


def _under(uri: str, root: str) -> bool:
    """Whether ``uri`` is ``root`` or a path below it."""
    root = root.rstrip("/")
    return bool(root) and (uri == root or uri.startswith(root + "/"))
