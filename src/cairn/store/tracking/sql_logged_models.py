"""MLflow 3 logged models on the SQL tracking store: a mixin of :class:`SqlTrackingStore`.

A logged model is created ``PENDING`` before its files are uploaded and finalized ``READY`` (or
``FAILED``) after, so a crash in between leaves a visibly unfinished model rather than a broken
one. Deleting only marks it deleted, as MLflow does: ``get_logged_model(allow_deleted=True)``
still finds it, everything else treats it as gone.

Search reuses the run-search filter language (see :mod:`cairn.search.parser`) with the
attributes of a model, so ``name = 'm' AND (metrics.acc > 0.9 OR tags.stage = 'prod')`` works;
``order_by`` takes MLflow's ``{"field_name", "ascending", "dataset_name", "dataset_digest"}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    delete,
    insert,
    not_,
    or_,
    select,
    update,
)

from cairn import validation
from cairn.clock import now_ms
from cairn.entities import (
    LifecycleStage,
    LoggedModel,
    LoggedModelMetric,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    PagedList,
)
from cairn.errors import CairnError
from cairn.search._sql import compare, compare_column, compare_id, compile_condition, direction
from cairn.search.ast import ATTRIBUTE, METRIC, PARAM, TAG, And, Comparison, Node, Not, Or
from cairn.search.paging import decode_page_token, encode_page_token
from cairn.search.parser import Kind, attribute_names, parse_filter, parse_order_by
from cairn.store.artifacts.paths import join_uri
from cairn.store.db import schema as t
from cairn.store.db.engine import read_transaction, write_transaction
from cairn.store.db.upsert import upsert
from cairn.tracking.names import generate_run_name

MAX_MODEL_NAME_LENGTH = 500
MAX_MODEL_TYPE_LENGTH = 500
SEARCH_LOGGED_MODELS_DEFAULT_RESULTS = 100
# Bounds the ids of one page, which travel as bind parameters (SQLite allows 32766).
MAX_RESULTS_SEARCH_LOGGED_MODELS = 10000
# MLflow's rule: names become URI path segments (models:/<name>/...), so no separators.
_BAD_NAME_CHARS = ("/", ":", ".", "%", '"', "'")

_lm = t.logged_models


# ------------------------------------------------------------------ the store mixin


class SqlLoggedModelsMixin:
    """Logged-model methods of the :class:`~cairn.store.tracking.protocol.TrackingStore`."""

    engine: Engine

    if TYPE_CHECKING:
        # Provided by SqlTrackingStore; they raise CairnError for unknown or malformed ids.
        def _experiment_row(self, conn: Connection, experiment_id: str) -> Any: ...
        def _run_row(self, conn: Connection, run_id: str) -> Any: ...
        def _active_run_row(self, conn: Connection, run_id: str) -> Any: ...

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """A new ``PENDING`` model with id ``m-<32 hex>``, named like runs when unnamed."""
        name = _validate_model_name(name) if name is not None else generate_run_name()
        if model_type is not None:
            _check_text("model_type", model_type, MAX_MODEL_TYPE_LENGTH)
        tag_rows = dict(validation.validate_tag(k, v) for k, v in (tags or {}).items())
        param_rows = dict(validation.validate_param(k, v) for k, v in (params or {}).items())
        model_id = f"m-{uuid.uuid4().hex}"
        now = now_ms()
        with write_transaction(self.engine) as conn:
            exp = self._experiment_row(conn, experiment_id)
            if exp.lifecycle_stage != LifecycleStage.ACTIVE:
                raise CairnError.invalid(
                    f"Cannot create a logged model in experiment '{experiment_id}': it is deleted."
                )
            if source_run_id is not None:
                self._run_row(conn, source_run_id)
            conn.execute(
                insert(_lm).values(
                    model_id=model_id,
                    experiment_id=exp.experiment_id,
                    name=name,
                    artifact_location=join_uri(
                        exp.artifact_location, "models", model_id, "artifacts"
                    ),
                    creation_timestamp=now,
                    last_updated_timestamp=now,
                    status=LoggedModelStatus.PENDING,
                    lifecycle_stage=LifecycleStage.ACTIVE,
                    model_type=model_type,
                    source_run_id=source_run_id,
                )
            )
            _insert_key_values(conn, t.logged_model_tags, model_id, tag_rows)
            _insert_key_values(conn, t.logged_model_params, model_id, param_rows)
            return _load_models(conn, [model_id])[0]

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        with read_transaction(self.engine) as conn:
            _model_row(conn, model_id, allow_deleted)
            return _load_models(conn, [model_id])[0]

    def finalize_logged_model(self, model_id: str, status: str | int) -> LoggedModel:
        """Record the upload outcome, ``READY`` or ``FAILED`` (MLflow's wire names work too)."""
        status = LoggedModelStatus.validate(status)
        with write_transaction(self.engine) as conn:
            _model_row(conn, model_id)
            _touch(conn, model_id, status=status)
            return _load_models(conn, [model_id])[0]

    def _link_model_metrics(self, conn: Connection, run_id: str, metrics: Sequence[Metric]) -> None:
        """Record run metrics that name a logged model as that model's metrics too (in the
        caller's transaction: an unknown model refuses the whole write)."""
        ids = sorted({m.model_id for m in metrics if m.model_id})
        known = set(
            conn.execute(
                select(_lm.c.model_id).where(
                    _lm.c.model_id.in_(ids), _lm.c.lifecycle_stage == LifecycleStage.ACTIVE
                )
            ).scalars()
        )
        missing = [i for i in ids if i not in known]
        if missing:
            raise CairnError.not_found(f"Logged model '{missing[0]}' not found.")
        rows = []
        for m in metrics:
            value = float(m.value)
            is_nan = value != value
            rows.append(
                {
                    "model_id": m.model_id,
                    "key": m.key,
                    "value": None if is_nan else value,
                    "is_nan": is_nan,
                    "step": m.step,
                    "timestamp": m.timestamp,
                    "run_id": run_id,
                    "dataset_name": m.dataset_name,
                    "dataset_digest": m.dataset_digest,
                }
            )
        keys = ("model_id", "key", "timestamp", "step", "run_id")
        upsert(conn, t.logged_model_metrics, rows, keys=keys, update=("value", "is_nan"))

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Add params; like a run's they never change (the same value again is fine)."""
        rows = dict(validation.validate_param(k, v) for k, v in params.items())
        p = t.logged_model_params
        with write_transaction(self.engine) as conn:
            _model_row(conn, model_id)
            upsert(
                conn,
                p,
                [{"model_id": model_id, "key": k, "value": v} for k, v in rows.items()],
                keys=("model_id", "key"),
                update=None,
            )
            # Read back after inserting: a concurrent writer's value is visible now too.
            for key, value in conn.execute(
                select(p.c.key, p.c.value).where(p.c.model_id == model_id, p.c.key.in_(list(rows)))
            ):
                if value != rows[key]:
                    raise CairnError.invalid(
                        f"Changing param values is not allowed. Param '{key}' of logged model "
                        f"'{model_id}' has value {value!r}; attempted to log {rows[key]!r}."
                    )

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        rows = dict(validation.validate_tag(k, v) for k, v in tags.items())
        with write_transaction(self.engine) as conn:
            _model_row(conn, model_id)
            upsert(
                conn,
                t.logged_model_tags,
                [{"model_id": model_id, "key": k, "value": v} for k, v in rows.items()],
                keys=("model_id", "key"),
                update=("value",),
            )

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        mt = t.logged_model_tags
        with write_transaction(self.engine) as conn:
            _model_row(conn, model_id)
            deleted = conn.execute(
                delete(mt).where(mt.c.model_id == model_id, mt.c.key == key)
            ).rowcount
            if not deleted:
                raise CairnError.not_found(f"No tag '{key}' on logged model '{model_id}'.")

    def delete_logged_model(self, model_id: str) -> None:
        """Mark the model deleted; its rows and files stay until garbage collection."""
        with write_transaction(self.engine) as conn:
            _model_row(conn, model_id)
            _touch(conn, model_id, lifecycle_stage=LifecycleStage.DELETED)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[Mapping[str, Any]] | None = None,
        max_results: int = SEARCH_LOGGED_MODELS_DEFAULT_RESULTS,
        page_token: str | None = None,
        datasets: Sequence[Mapping[str, Any]] | None = None,
    ) -> PagedList[LoggedModel]:
        """Active models of the experiments, newest first unless ``order_by`` says otherwise.

        ``datasets`` (``[{"dataset_name": ..., "dataset_digest": ...}]``) restricts metric
        conditions to metrics measured on those datasets, and alone keeps only models with such
        metrics.
        """
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        eids = [int(validation.validate_experiment_id(e)) for e in experiment_ids]
        limit = validation.validate_max_results(max_results, MAX_RESULTS_SEARCH_LOGGED_MODELS)
        offset = decode_page_token(page_token)
        query = _search_query(eids, filter_string, order_by, datasets).offset(offset)
        with read_transaction(self.engine) as conn:
            ids = list(conn.execute(query.limit(limit + 1)).scalars())
            models = _load_models(conn, ids[:limit])
        token = encode_page_token(offset + limit) if len(ids) > limit else None
        return PagedList(models, token)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record that the run produced these models (MLflow's ``runs/outputs``); idempotent."""
        rows = [
            {"run_uuid": run_id, "model_id": m.model_id, "step": validation.validate_step(m.step)}
            for m in models
        ]
        with write_transaction(self.engine) as conn:
            self._active_run_row(conn, run_id)
            for m in models:
                _model_row(conn, m.model_id)
            upsert(conn, t.run_outputs, rows, keys=("run_uuid", "model_id", "step"), update=None)

    def get_run_outputs(self, run_ids: Sequence[str]) -> dict[str, list[LoggedModelOutput]]:
        """The models each run produced (runs without any are left out), for ``Run.outputs``."""
        ro = t.run_outputs
        out: dict[str, list[LoggedModelOutput]] = {}
        with read_transaction(self.engine) as conn:
            for run_id, model_id, step in conn.execute(
                select(ro.c.run_uuid, ro.c.model_id, ro.c.step)
                .where(ro.c.run_uuid.in_(list(run_ids)))
                .order_by(ro.c.run_uuid, ro.c.step, ro.c.model_id)
            ):
                out.setdefault(run_id, []).append(LoggedModelOutput(model_id, step))
        return out


# ------------------------------------------------------------------ reading and writing rows


def _model_row(conn: Connection, model_id: str, allow_deleted: bool = False) -> Any:
    """The model's row, or RESOURCE_DOES_NOT_EXIST (a deleted model counts as missing)."""
    if not isinstance(model_id, str):
        raise CairnError.invalid(f"Invalid logged model id {model_id!r}: it must be a string.")
    row = conn.execute(
        select(_lm.c.model_id, _lm.c.lifecycle_stage).where(_lm.c.model_id == model_id)
    ).first()
    if row is None or (not allow_deleted and row.lifecycle_stage != LifecycleStage.ACTIVE):
        raise CairnError.not_found(f"Logged model with ID '{model_id}' not found.")
    return row


def _touch(conn: Connection, model_id: str, **values: object) -> None:
    conn.execute(
        update(_lm)
        .where(_lm.c.model_id == model_id)
        .values(last_updated_timestamp=now_ms(), **values)
    )


def _insert_key_values(conn: Connection, table: Any, model_id: str, rows: dict[str, str]) -> None:
    if rows:
        conn.execute(
            insert(table), [{"model_id": model_id, "key": k, "value": v} for k, v in rows.items()]
        )


def _load_models(conn: Connection, ids: Sequence[str]) -> list[LoggedModel]:
    """Whole models for ``ids`` in that order: one query per table, not one per model."""
    if not ids:
        return []
    rows = {r.model_id: r for r in conn.execute(select(_lm).where(_lm.c.model_id.in_(ids)))}
    tags: dict[str, dict[str, str]] = {}
    params: dict[str, dict[str, str]] = {}
    for table, target in ((t.logged_model_tags, tags), (t.logged_model_params, params)):
        for model_id, key, value in conn.execute(
            select(table.c.model_id, table.c.key, table.c.value)
            .where(table.c.model_id.in_(ids))
            .order_by(table.c.key)
        ):
            target.setdefault(model_id, {})[key] = value
    m = t.logged_model_metrics
    metrics: dict[str, list[LoggedModelMetric]] = {}
    for r in conn.execute(
        select(m).where(m.c.model_id.in_(ids)).order_by(m.c.key, m.c.timestamp, m.c.step)
    ):
        metrics.setdefault(r.model_id, []).append(
            LoggedModelMetric(
                key=r.key,
                value=float("nan") if r.is_nan else r.value,
                timestamp=r.timestamp,
                step=r.step,
                run_id=r.run_id,
                dataset_name=r.dataset_name,
                dataset_digest=r.dataset_digest,
            )
        )
    return [
        LoggedModel(
            model_id=r.model_id,
            experiment_id=str(r.experiment_id),
            name=r.name,
            artifact_location=r.artifact_location,
            creation_timestamp=r.creation_timestamp,
            last_updated_timestamp=r.last_updated_timestamp,
            status=r.status,
            model_type=r.model_type,
            source_run_id=r.source_run_id,
            status_message=r.status_message,
            tags=tags.get(r.model_id, {}),
            params=params.get(r.model_id, {}),
            metrics=metrics.get(r.model_id, []),
        )
        for r in (rows[i] for i in ids if i in rows)
    ]


def _validate_model_name(name: object) -> str:
    if not isinstance(name, str) or not name or any(c in name for c in _BAD_NAME_CHARS):
        raise CairnError.invalid(
            f"Invalid logged model name {name!r}: it must be a non-empty string without any of "
            f"{' '.join(_BAD_NAME_CHARS)}."
        )
    return _check_text("name", name, MAX_MODEL_NAME_LENGTH)


def _check_text(field: str, value: object, limit: int) -> str:
    """A string column's value: a str within ``limit`` and without NUL (PostgreSQL refuses it)."""
    if not isinstance(value, str) or "\x00" in value:
        raise CairnError.invalid(
            f"Invalid logged model {field} {value!r}: it must be a string without NUL characters."
        )
    if len(value) > limit:
        raise CairnError.invalid(
            f"Logged model {field} is {len(value)} characters long; the limit is {limit}."
        )
    return value


# ------------------------------------------------------------------ search

# The filter language of logged models is the parser's "logged_models": the run-search grammar
# with a model's attributes, each the column of the same name.
_KIND: Kind = "logged_models"

_ATTRIBUTE_COLUMNS: dict[str, ColumnElement[Any]] = {
    name: _lm.c[name] for name in attribute_names(_KIND)
}
_KEYED_TABLES = {
    METRIC: t.logged_model_metrics,
    PARAM: t.logged_model_params,
    TAG: t.logged_model_tags,
}


def _search_query(
    experiment_ids: list[int],
    filter_string: str | None,
    order_by: Sequence[Mapping[str, Any]] | None,
    datasets: Sequence[Mapping[str, Any]] | None,
) -> Select[Any]:
    """SELECT the ids of matching active models in order (the caller adds OFFSET/LIMIT)."""
    node = parse_filter(filter_string, _KIND)
    on_datasets = _datasets_condition(datasets)
    where = [
        _lm.c.experiment_id.in_(experiment_ids),
        _lm.c.lifecycle_stage == LifecycleStage.ACTIVE,
    ]
    if node is not None:
        where.append(compile_condition(node, lambda c: _comparison(c, on_datasets)))
    if on_datasets is not None and not any(c.entity_type == METRIC for c in _comparisons(node)):
        m = t.logged_model_metrics
        where.append(_exists(m.c.model_id == _lm.c.model_id, on_datasets))
    return select(_lm.c.model_id).where(*where).order_by(*_ordering(order_by))


def _comparisons(node: Node | None) -> Iterator[Comparison]:
    if isinstance(node, And | Or):
        for item in node.items:
            yield from _comparisons(item)
    elif isinstance(node, Not):
        yield from _comparisons(node.item)
    elif node is not None:
        yield node


def _comparison(node: Comparison, on_datasets: ColumnElement[bool] | None) -> ColumnElement[bool]:
    if node.entity_type == ATTRIBUTE:
        return _attribute(node)
    return _keyed(node, on_datasets)


def _attribute(c: Comparison) -> ColumnElement[bool]:
    column = _ATTRIBUTE_COLUMNS[c.key]
    if c.key == "experiment_id":
        return compare_id(column, c.op, c.value)
    value = c.value
    if c.key == "status" and c.op not in ("LIKE", "ILIKE"):
        # Accept MLflow's wire spellings: status = 'LOGGED_MODEL_READY' means READY.
        if isinstance(value, tuple):
            value = tuple(LoggedModelStatus.canonical(v) or v for v in value)
        elif isinstance(value, str):
            value = LoggedModelStatus.canonical(value) or value
    return compare_column(column, c.op, value)


def _keyed(c: Comparison, on_datasets: ColumnElement[bool] | None) -> ColumnElement[bool]:
    """metrics./params./tags.: the model has the key and a matching value.

    A metric matches when any of its points does (on ``datasets``, if given); NaN is stored as
    NULL and so matches no comparison.
    """
    table = _KEYED_TABLES[c.entity_type]
    where = [table.c.model_id == _lm.c.model_id, table.c.key == c.key]
    if c.entity_type == METRIC and on_datasets is not None:
        where.append(on_datasets)
    if c.op == "IS NULL":
        return not_(_exists(*where))
    if c.op == "IS NOT NULL":
        return _exists(*where)
    value = float(c.value) if c.entity_type == METRIC else c.value  # type: ignore[arg-type]
    return _exists(*where, compare(table.c.value, c.op, value))


def _exists(*where: ColumnElement[bool]) -> ColumnElement[bool]:
    return select(1).where(*where).correlate(_lm).exists()


def _datasets_condition(datasets: Sequence[Mapping[str, Any]] | None) -> ColumnElement[bool] | None:
    """Metric rows measured on any of ``datasets``; None when there is no dataset clause."""
    if not datasets:
        return None
    m = t.logged_model_metrics
    conditions = []
    for d in datasets:
        if not isinstance(d, Mapping):
            raise CairnError.invalid(f"Invalid dataset {d!r}: expected an object.")
        conditions.append(_on_dataset(m, d.get("dataset_name"), d.get("dataset_digest")))
    return or_(*conditions)


def _on_dataset(m: Any, name: object, digest: object) -> ColumnElement[bool]:
    if not isinstance(name, str) or not name:
        raise CairnError.invalid("Each dataset needs a non-empty 'dataset_name'.")
    if digest is None:
        return m.c.dataset_name == name
    if not isinstance(digest, str):
        raise CairnError.invalid(f"Invalid dataset_digest {digest!r}: it must be a string.")
    return and_(m.c.dataset_name == name, m.c.dataset_digest == digest)


def _ordering(order_by: Sequence[Mapping[str, Any]] | None) -> list[ColumnElement[Any]]:
    """ORDER BY terms, always ending in newest first and then model id, so pages never overlap.

    Models without the ordered value (no such metric, NaN) come last in both directions.
    """
    terms: list[ColumnElement[Any]] = []
    seen: set[tuple[object, ...]] = set()
    for clause in [*(order_by or ()), *_TIE_BREAKERS]:
        ident, column, ascending = _order_column(clause)
        if ident not in seen:  # a repeated clause cannot change the order
            seen.add(ident)
            terms.extend((column.is_(None), direction(column, ascending)))
    return terms


_TIE_BREAKERS = (
    {"field_name": "creation_timestamp", "ascending": False},
    {"field_name": "model_id", "ascending": True},
)


def _order_column(
    clause: Mapping[str, Any],
) -> tuple[tuple[object, ...], ColumnElement[Any], bool]:
    """(what the clause orders by, the column or metric subquery, ascending) of one clause."""
    if not isinstance(clause, Mapping):
        raise CairnError.invalid(f"Invalid order_by clause {clause!r}: expected an object.")
    field_name = clause.get("field_name")
    if not isinstance(field_name, str) or not field_name:
        raise CairnError.invalid(f"Invalid order_by clause {clause!r}: it needs a field_name.")
    (key,) = parse_order_by([field_name], _KIND)
    ascending = clause.get("ascending", key.ascending)
    if not isinstance(ascending, bool):
        raise CairnError.invalid(f"Invalid 'ascending' {ascending!r} in order_by: expected bool.")
    dataset_name, dataset_digest = clause.get("dataset_name"), clause.get("dataset_digest")
    if key.entity_type == ATTRIBUTE:
        if dataset_name is not None or dataset_digest is not None:
            raise CairnError.invalid(
                f"order_by {field_name!r}: dataset_name/dataset_digest apply to metrics only."
            )
        return (ATTRIBUTE, key.key), _ATTRIBUTE_COLUMNS[key.key], ascending
    if dataset_digest is not None and dataset_name is None:
        raise CairnError.invalid(f"order_by {field_name!r}: dataset_digest needs dataset_name.")
    m = t.logged_model_metrics
    where = [m.c.model_id == _lm.c.model_id, m.c.key == key.key]
    if dataset_name is not None:
        where.append(_on_dataset(m, dataset_name, dataset_digest))
    latest = (
        select(m.c.value)
        .where(*where)
        .order_by(m.c.timestamp.desc(), m.c.step.desc(), m.c.run_id)
        .limit(1)
        .correlate(_lm)
        .scalar_subquery()
    )
    return (METRIC, key.key, dataset_name, dataset_digest), latest, ascending
