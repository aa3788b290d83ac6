"""Rows to registry entities, a page at a time: a fixed handful of queries per page (models,
their tags, aliases, the newest version in each stage and those versions' tags), never one
per model or version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from cairn.entities.registry import ModelVersion, RegisteredModel, Stage
from cairn.store.db import schema as t

# Names per IN list: well inside every database's limit on bound parameters.
_CHUNK = 500

_rm = t.registered_models
_mv = t.model_versions


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def version_entity(
    row: Any, tags: dict[str, str] | None = None, aliases: list[str] | None = None
) -> ModelVersion:
    return ModelVersion(
        name=row.name,
        version=row.version,
        creation_timestamp=row.creation_time,
        last_updated_timestamp=row.last_updated_time,
        current_stage=row.current_stage,
        source=row.source,
        status=row.status,
        user_id=row.user_id,
        description=row.description,
        run_id=row.run_id,
        model_id=row.model_id,
        run_link=row.run_link,
        status_message=row.status_message,
        tags=tags or {},
        aliases=aliases or [],
    )


def _aliases_by_name(conn: Connection, names: Sequence[str]) -> dict[str, dict[str, int]]:
    a = t.registered_model_aliases
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for chunk in _chunks(names):
        rows = conn.execute(
            select(a.c.name, a.c.alias, a.c.version)
            .where(a.c.name.in_(chunk))
            .order_by(a.c.name, a.c.alias)
        )
        for name, alias, version in rows:
            out[name][alias] = version
    return out


def _version_aliases(aliases: dict[str, int], version: int) -> list[str]:
    return [alias for alias, v in aliases.items() if v == version]


def _version_tags(
    conn: Connection, names: Sequence[str], versions: set[int]
) -> dict[tuple[str, int], dict[str, str]]:
    """Tags of the versions named; reads ``names x versions`` and keeps what was asked for."""
    mt = t.model_version_tags
    out: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
    for chunk in _chunks(names):
        query = select(mt.c.name, mt.c.version, mt.c.key, mt.c.value).where(mt.c.name.in_(chunk))
        if len(versions) <= _CHUNK:
            query = query.where(mt.c.version.in_(sorted(versions)))
        for name, version, key, value in conn.execute(query):
            if version in versions:
                out[(name, version)][key] = value
    return out


def load_versions(conn: Connection, keys: Sequence[tuple[str, int]]) -> list[ModelVersion]:
    """The versions ``keys`` name, in that order; keys that do not exist are left out."""
    if not keys:
        return []
    names = list(dict.fromkeys(name for name, _ in keys))
    versions = {version for _, version in keys}
    rows: dict[tuple[str, int], Any] = {}
    for chunk in _chunks(names):
        query = select(_mv).where(_mv.c.name.in_(chunk))
        if len(versions) <= _CHUNK:
            query = query.where(_mv.c.version.in_(sorted(versions)))
        for row in conn.execute(query):
            rows[(row.name, row.version)] = row
    wanted = [key for key in keys if key in rows]
    tags = _version_tags(conn, names, versions)
    aliases = _aliases_by_name(conn, names)
    return [
        version_entity(rows[key], tags.get(key), _version_aliases(aliases[key[0]], key[1]))
        for key in wanted
    ]


def latest_version_rows(conn: Connection, names: Sequence[str]) -> dict[str, list[Any]]:
    """Per model, the newest version in each stage (MLflow's ``latest_versions``), in stage
    order."""
    out: dict[str, list[Any]] = defaultdict(list)
    for chunk in _chunks(names):
        rank = (
            func.row_number()
            .over(partition_by=(_mv.c.name, _mv.c.current_stage), order_by=_mv.c.version.desc())
            .label("rank")
        )
        ranked = select(_mv, rank).where(_mv.c.name.in_(chunk)).subquery()
        for row in conn.execute(select(ranked).where(ranked.c.rank == 1)):
            out[row.name].append(row)
    order = {stage: i for i, stage in enumerate(Stage.ALL)}
    for rows in out.values():
        rows.sort(key=lambda row: order.get(row.current_stage, len(order)))
    return out


def load_models(conn: Connection, names: Sequence[str]) -> list[RegisteredModel]:
    """The registered models ``names`` name, in that order, with their tags, aliases and
    latest versions; names that do not exist are left out."""
    if not names:
        return []
    names = list(dict.fromkeys(names))
    rows: dict[str, Any] = {}
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    rt = t.registered_model_tags
    for chunk in _chunks(names):
        for row in conn.execute(select(_rm).where(_rm.c.name.in_(chunk))):
            rows[row.name] = row
        for name, key, value in conn.execute(
            select(rt.c.name, rt.c.key, rt.c.value).where(rt.c.name.in_(chunk))
        ):
            tags[name][key] = value
    aliases = _aliases_by_name(conn, names)
    latest = latest_version_rows(conn, names)
    latest_keys = {(row.name, row.version) for rows_ in latest.values() for row in rows_}
    latest_tags = (
        _version_tags(conn, list(latest), {version for _, version in latest_keys})
        if latest_keys
        else {}
    )
    out = []
    for name in names:
        row = rows.get(name)
        if row is None:
            continue
        versions = [
            version_entity(
                v,
                latest_tags.get((name, v.version)),
                _version_aliases(aliases[name], v.version),
            )
            for v in latest.get(name, ())
        ]
        out.append(
            RegisteredModel(
                name=row.name,
                creation_timestamp=row.creation_time,
                last_updated_timestamp=row.last_updated_time,
                user_id=row.user_id,
                description=row.description,
                tags=dict(tags[name]),
                aliases=dict(aliases[name]),
                latest_versions=versions,
            )
        )
    return out
