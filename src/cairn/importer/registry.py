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
- A version's source obeys the store's rule for sources
  (:mod:`cairn.store.registry.sql_sources`): files cairn has no copy of must be inside the
  artifact root the source gives the version's run or logged model. A version naming anything
  else (``..`` out of a run, a sibling directory, an arbitrary path, wherever the source's
  ``storage_location`` says) is not imported, and the summary says which and why.
- The audit trail gets one ``registered_model.created`` / ``model_version.created`` row per
  model or version the import creates, dated and attributed as in the source (or to
  ``cairn-import`` when MLflow recorded no user), marked ``imported_from``; re-imports and
  updates add none. Webhooks are not notified: an import replays history, it is not a change
  anyone subscribed to.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, Engine, insert, select, update

from cairn import validation
from cairn.clock import now_ms
from cairn.entities.registry import ModelVersion
from cairn.errors import (
    ENDPOINT_NOT_FOUND,
    NOT_IMPLEMENTED,
    RESOURCE_DOES_NOT_EXIST,
    CairnError,
)
from cairn.models.uri import parse_runs_uri
from cairn.registry.uri import parse_model_uri
from cairn.store.artifacts.paths import join_uri, safe_relative_path
from cairn.store.db import schema as t
from cairn.store.db.engine import read_transaction, write_transaction
from cairn.store.db.upsert import upsert
from cairn.store.registry.sql_sources import ACCEPTED_SOURCES, MAX_MODEL_ID_LENGTH, is_inside

if TYPE_CHECKING:
    from cairn.store.registry.rest import RestRegistryStore
    from cairn.store.tracking.rest import RestTrackingStore

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
    # Where the files are, as the source says (MLflow resolves models:/ sources on create).
    storage_location: str | None = None
    model_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # The artifact roots the source gives the version's run and logged model: the only
    # places files left outside cairn may be (see :func:`cairn.store.registry.sql_sources`).
    run_root: str | None = None
    model_root: str | None = None


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

ROOT_TABLES = ("runs", "logged_models")  # MLflow's; the artifact roots of versions' runs/models
_ID_BATCH = 500


def read_sql_registry(engine: Engine) -> tuple[list[SourceRegisteredModel], int]:
    """The registry of an MLflow database (empty if it has none), and how many prompts it holds
    (MLflow 3 keeps prompts as registered models; cairn does not import them)."""
    from sqlalchemy import MetaData, inspect

    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        if not all(name in present for name in REGISTRY_TABLES):
            return [], 0
        meta = MetaData()
        optional = (*OPTIONAL_REGISTRY_TABLES, *ROOT_TABLES)
        wanted = [*REGISTRY_TABLES, *(n for n in optional if n in present)]
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
    rows: list[Mapping[str, Any]] = []
    highest: dict[str, int] = {}
    query = select(mv).where(*_in_default_workspace(mv)).order_by(mv.c.name, mv.c.version)
    for row in conn.execute(query).mappings():
        highest[row["name"]] = max(highest.get(row["name"], 0), int(row["version"]))
        if row.get("current_stage") != DELETED_STAGE:
            rows.append(row)
    run_ids = {_run_of(r.get("source"), r.get("run_id")) for r in rows}
    model_ids = {_model_of(r.get("source"), r.get("model_id")) for r in rows}
    run_roots = _sql_roots(conn, tables.get("runs"), "run_uuid", "artifact_uri", run_ids)
    model_roots = _sql_roots(
        conn, tables.get("logged_models"), "model_id", "artifact_location", model_ids
    )
    versions: dict[str, list[SourceModelVersion]] = {}
    for row in rows:
        name, number = row["name"], int(row["version"])
        source = row.get("source") or ""
        run_id, model_id = row.get("run_id") or None, row.get("model_id") or None
        versions.setdefault(name, []).append(
            SourceModelVersion(
                name=name,
                version=number,
                creation_time=row.get("creation_time"),
                last_updated_time=row.get("last_updated_time"),
                current_stage=row.get("current_stage") or "None",
                source=source,
                status=row.get("status") or "READY",
                user_id=row.get("user_id"),
                description=row.get("description"),
                run_id=run_id,
                run_link=row.get("run_link") or None,
                status_message=row.get("status_message"),
                storage_location=row.get("storage_location"),
                model_id=model_id,
                tags=version_tags.get((name, number), {}),
                run_root=run_roots.get(_run_of(source, run_id) or ""),
                model_root=model_roots.get(_model_of(source, model_id) or ""),
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


def _sql_roots(
    conn: Connection, table: Any, key: str, value: str, ids: Collection[str | None]
) -> dict[str, str]:
    """``key -> value`` of the rows of ``table`` (absent in older MLflow) with these ids."""
    wanted = sorted(i for i in ids if i)
    out: dict[str, str] = {}
    if table is None or key not in table.c or value not in table.c:
        return out
    for start in range(0, len(wanted), _ID_BATCH):
        query = select(table.c[key], table.c[value]).where(
            table.c[key].in_(wanted[start : start + _ID_BATCH])
        )
        out.update((k, v) for k, v in conn.execute(query) if v)
    return out


def _run_of(source: str | None, run_id: str | None) -> str | None:
    """The run whose artifact root a version's files may be in: its own, or the one its
    ``runs:/`` source names."""
    if run_id:
        return run_id
    if source and source.startswith("runs:"):
        with contextlib.suppress(CairnError):
            return parse_runs_uri(source)[0]
    return None


def _model_of(source: str | None, model_id: str | None) -> str | None:
    """The logged model whose artifact root a version's files may be in: its own, or the one
    its ``models:/<model_id>`` source names."""
    if model_id:
        return model_id
    if source and source.startswith("models:"):
        with contextlib.suppress(CairnError):
            return parse_model_uri(source).model_id
    return None


# ----------------------------------------------------------------------------- reading: server

# What a server without a registry answers (FEATURE_DISABLED is MLflow's, not one of cairn's).
_NO_REGISTRY = (ENDPOINT_NOT_FOUND, NOT_IMPLEMENTED, "FEATURE_DISABLED")


def read_server_registry(server: str) -> tuple[list[SourceRegisteredModel], int]:
    """The registry of an MLflow (or cairn) server through its REST API.

    A server does not show deleted versions, so ``highest_version`` counts only the live ones.
    A server without a registry has an empty one.
    """
    from cairn.store.registry.rest import RestRegistryStore
    from cairn.store.tracking.rest import RestTrackingStore

    registry = RestRegistryStore(server)
    tracking = RestTrackingStore(server)
    try:
        try:
            raw_models = list(_all_pages(registry.search_registered_models, _MODELS_PAGE))
        except CairnError as exc:
            if exc.error_code in _NO_REGISTRY:
                return [], 0
            raise
        by_name: dict[str, list[SourceModelVersion]] = {}
        roots = _ServerRoots(tracking)
        for found in _all_pages(registry.search_model_versions, _VERSIONS_PAGE):
            if found.current_stage != DELETED_STAGE:
                version = _server_version(registry, roots, found)
                by_name.setdefault(version.name, []).append(version)
    finally:
        registry.close()
        tracking.close()
    models, prompts = [], 0
    for model in raw_models:
        if model.tags.get(PROMPT_TAG) == "true":
            prompts += 1
            continue
        versions = sorted(by_name.get(model.name, []), key=lambda v: v.version)
        models.append(
            SourceRegisteredModel(
                name=model.name,
                creation_time=model.creation_timestamp or None,
                last_updated_time=model.last_updated_timestamp or None,
                description=model.description,
                user_id=model.user_id,
                tags=dict(model.tags),
                aliases=dict(model.aliases),
                versions=versions,
                highest_version=max((v.version for v in versions), default=0),
            )
        )
    return models, prompts


def _all_pages(search: Callable[..., Any], size: int) -> Iterator[Any]:
    """Every item of a paged registry search (``search_registered_models`` and the like)."""
    token: str | None = None
    while True:
        page = search(max_results=size, page_token=token)
        yield from page
        token = page.token
        if not token or not page:
            return


class _ServerRoots:
    """The artifact roots a server gives runs and logged models, each asked for once; None
    for one it does not have."""

    def __init__(self, tracking: RestTrackingStore) -> None:
        self.tracking = tracking
        self.runs: dict[str, str | None] = {}
        self.models: dict[str, str | None] = {}

    def run(self, run_id: str | None) -> str | None:
        if run_id and run_id not in self.runs:
            self.runs[run_id] = self._ask(lambda: self.tracking.get_run(run_id).info.artifact_uri)
        return self.runs.get(run_id or "")

    def model(self, model_id: str | None) -> str | None:
        if model_id and model_id not in self.models:
            self.models[model_id] = self._ask(
                lambda: self.tracking.get_logged_model(model_id).artifact_location
            )
        return self.models.get(model_id or "")

    @staticmethod
    def _ask(read: Callable[[], str | None]) -> str | None:
        try:
            return read() or None
        except CairnError as exc:
            if exc.error_code in (RESOURCE_DOES_NOT_EXIST, *_NO_REGISTRY):
                return None
            raise


def _server_version(
    registry: RestRegistryStore, roots: _ServerRoots, found: ModelVersion
) -> SourceModelVersion:
    storage = None
    if found.source.startswith("models:"):
        # The server resolved it when the version was made; ask where the files are.
        with contextlib.suppress(CairnError):
            storage = registry.get_model_version_download_uri(found.name, found.version) or None
    return SourceModelVersion(
        name=found.name,
        version=int(found.version),
        creation_time=found.creation_timestamp or None,
        last_updated_time=found.last_updated_timestamp or None,
        current_stage=found.current_stage or "None",
        source=found.source,
        status=found.status or "READY",
        user_id=found.user_id,
        description=found.description,
        run_id=found.run_id or None,
        run_link=found.run_link or None,
        status_message=found.status_message or None,
        storage_location=storage,
        model_id=found.model_id or None,
        tags=dict(found.tags),
        run_root=roots.run(_run_of(found.source, found.run_id)),
        model_root=roots.model(_model_of(found.source, found.model_id)),
    )


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
    # Versions left out because their source names files they may not (see ``_locate``).
    versions_refused: int = 0
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
        """Create or update one version; False when its number is taken by another version
        or its source is refused (reported, never written)."""
        mv = t.model_versions
        try:
            source, storage, model_id, outside = self._locate(conn, version, runs)
        except CairnError as exc:
            result.versions_refused += 1
            result.warnings.append(
                f"model {version.name!r} version {version.version} not imported: {exc.message}"
            )
            return False
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
    ) -> Located:
        """Where a version's files are in cairn, by the store's rule for sources (see
        :mod:`cairn.store.registry.sql_sources`); raises CairnError for a source it refuses.

        Files inside an imported run point at cairn's copy; ``runs:/`` sources keep their
        text (run ids are kept) and resolve to cairn's copy; ``models:/m-...`` sources name a
        logged model, found in cairn when it has it. Files cairn has no copy of stay where
        MLflow keeps them, but only inside the artifact root the source gives the version's
        run or logged model: never an arbitrary path, and never one that climbs out with ``..``.
        """
        source = version.source
        if not isinstance(source, str) or not source or "\x00" in source:
            raise _refused(source, "it is empty or not text")
        try:
            if version.run_id is not None:
                validation.validate_run_id(version.run_id)
        except CairnError as exc:
            raise _refused(source, exc.message.rstrip(".")) from None
        if version.model_id is not None and len(version.model_id) > MAX_MODEL_ID_LENGTH:
            raise _refused(source, f"model_id {version.model_id!r} is too long")
        run = runs.get(version.run_id or "")
        scheme = source.split(":", 1)[0].lower() if ":" in source else ""
        model_id = version.model_id
        location = version.storage_location or source
        if scheme == "runs":
            try:
                run_id, path = parse_runs_uri(source)
                validation.validate_run_id(run_id)
            except CairnError as exc:
                raise _refused(source, exc.message.rstrip(".")) from None
            if version.run_id and version.run_id != run_id:
                raise _refused(source, f"run_id {version.run_id!r} is not the run it names")
            run = runs.get(run_id)
            if run is not None:
                return Located(source, join_uri(run.cairn, path) if path else run.cairn, model_id)
            if location == source:  # MLflow resolves runs:/ when the files are read
                if not version.run_root:
                    raise _refused(source, "the source has no run with that id")
                location = join_uri(version.run_root, path) if path else version.run_root
        elif scheme == "models":
            try:
                parsed = parse_model_uri(source)
            except CairnError as exc:
                raise _refused(source, exc.message.rstrip(".")) from None
            if parsed.model_id is not None:
                if model_id and model_id != parsed.model_id:
                    raise _refused(source, f"model_id {model_id!r} is another logged model")
                model_id = parsed.model_id
                found = conn.execute(
                    select(t.logged_models.c.artifact_location).where(
                        t.logged_models.c.model_id == model_id
                    )
                ).scalar()
                if found is not None:
                    return Located(source, found, model_id)
            elif parsed.version is not None:  # a copied version: where the original is
                row = conn.execute(
                    select(t.model_versions.c.storage_location, t.model_versions.c.model_id).where(
                        t.model_versions.c.name == parsed.name,
                        t.model_versions.c.version == parsed.version,
                    )
                ).first()
                if row is not None and row.storage_location:
                    return Located(source, row.storage_location, row.model_id or model_id)
        else:
            moved = _moved(source, run)
            if moved is not None:
                return Located(moved, moved, model_id)
            location = source  # an artifact URI is where the files are, whatever else is said
        moved = _moved(location, run)
        if moved is not None:
            return Located(source, moved, model_id)
        roots = [
            root for root in (run.source if run else version.run_root, version.model_root) if root
        ]
        if "\x00" in location or not any(is_inside(location, root) for root in roots):
            which = "the artifact root of its run or logged model in the source"
            raise _refused(source, f"its files ({location!r}) are not inside {which}")
        return Located(source, location, model_id, outside=1)

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


class Located(NamedTuple):
    """Where an imported version's files are: its source, storage location and logged model;
    ``outside`` is 1 when they stay where the source keeps them."""

    source: str
    storage_location: str
    model_id: str | None = None
    outside: int = 0


def _refused(source: object, reason: str) -> CairnError:
    return CairnError.invalid(
        f"its source {source!r} is refused: {reason} (cairn accepts {ACCEPTED_SOURCES})"
    )


def _moved(uri: str, run: RunLocation | None) -> str | None:
    """cairn's copy of ``uri`` when it is inside the imported run's artifact root in the
    source (the same containment rule as the store's: no ``..``, no sibling sharing a
    prefix), else None."""
    if run is None or not is_inside(uri, run.source):
        return None
    root = run.source.rstrip("/")
    if not uri.startswith(root):
        return None  # the same place written another way (path vs file:): left where it is
    rest = safe_relative_path(uri[len(root) :].lstrip("/"))
    return join_uri(run.cairn, rest) if rest else run.cairn
