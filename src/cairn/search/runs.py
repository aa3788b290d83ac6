"""Run search as one SELECT of run ids: filter, order and page in the database.

Conditions on metrics, params, tags and datasets are semi-joins, which never multiply rows and
compose with AND/OR/NOT without NULL surprises (a run lacking the metric fails ``metrics.m > 1``
and passes its negation). Equality, usually selective, is ``run_uuid IN (SELECT ...)`` so the
planner can start from the ``(key, value)`` index; anything else is a correlated EXISTS that
probes the child table's ``(run_uuid, key)`` primary key. Ordering by a metric, param or tag
LEFT JOINs that child once per key, far cheaper than a scalar subquery per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, Table, and_, select

from cairn.errors import CairnError
from cairn.search._sql import compare, compare_column, compare_id, compile_condition, direction
from cairn.search.ast import (
    ATTRIBUTE,
    DATASET,
    METRIC,
    PARAM,
    TAG,
    Comparison,
    OrderKey,
)
from cairn.search.paging import check_page
from cairn.search.parser import parse_filter, parse_order_by
from cairn.store.db.schema import datasets, input_tags, inputs, latest_metrics, params, runs, tags

DATASET_CONTEXT_TAG = "mlflow.data.context"

_ATTRIBUTE_COLUMNS: dict[str, ColumnElement[Any]] = {
    "run_id": runs.c.run_uuid,
    "run_name": runs.c.name,
    "status": runs.c.status,
    "user_id": runs.c.user_id,
    "artifact_uri": runs.c.artifact_uri,
    "lifecycle_stage": runs.c.lifecycle_stage,
    "experiment_id": runs.c.experiment_id,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
}

_KEYED_TABLES: dict[str, Table] = {METRIC: latest_metrics, PARAM: params, TAG: tags}

# Appended to every order: newest first, then run id so pages never overlap or skip.
_TIE_BREAKERS = (OrderKey(ATTRIBUTE, "start_time", False), OrderKey(ATTRIBUTE, "run_id", True))


def select_run_ids(
    *,
    experiment_ids: Sequence[str],
    stages: Sequence[str],
    filter_string: str | None,
    order_by: list[str] | None,
    offset: int,
    limit: int,
) -> Select[Any]:
    """The ids (one column, ``run_uuid``) of one page of matching runs, in the requested order.

    Raises CairnError (INVALID_PARAMETER_VALUE) for a bad filter, order_by or experiment id.
    """
    node = parse_filter(filter_string, "runs")
    keys = parse_order_by(order_by, "runs")
    check_page(offset, limit)
    where = [
        runs.c.experiment_id.in_(experiment_id_ints(experiment_ids)),
        runs.c.lifecycle_stage.in_(list(stages)),
    ]
    if node is not None:
        where.append(compile_condition(node, _comparison))
    source, ordering = _ordering([*keys, *_TIE_BREAKERS])
    return (
        select(runs.c.run_uuid)
        .select_from(source)
        .where(*where)
        .order_by(*ordering)
        .offset(offset)
        .limit(limit)
    )


def experiment_id_ints(experiment_ids: Iterable[str | int]) -> list[int]:
    """The API's string experiment ids as the integers the tables store."""
    ids = []
    for experiment_id in experiment_ids:
        text = str(experiment_id)
        if not (text.isascii() and text.isdigit()):
            raise CairnError.invalid(f"Invalid experiment id {experiment_id!r}: expected digits.")
        ids.append(int(text))
    return ids


# --- filter -----------------------------------------------------------------------------------


def _comparison(node: Comparison) -> ColumnElement[bool]:
    if node.entity_type == ATTRIBUTE:
        return _attribute(node)
    if node.entity_type == DATASET:
        return _dataset(node)
    return _keyed(node)


def _attribute(c: Comparison) -> ColumnElement[bool]:
    column = _ATTRIBUTE_COLUMNS[c.key]
    if c.key == "experiment_id":
        return compare_id(column, c.op, c.value)
    return compare_column(column, c.op, c.value)


def _keyed(c: Comparison) -> ColumnElement[bool]:
    """metrics./params./tags.: the run has the key, and (unless IS [NOT] NULL) its value matches.

    NaN metrics are stored as NULL, so no comparison matches them.
    """
    table = _KEYED_TABLES[c.entity_type]
    has_key = [table.c.run_uuid == runs.c.run_uuid, table.c.key == c.key]
    if c.op == "IS NULL":
        return ~_exists(table, *has_key)
    if c.op == "IS NOT NULL":
        return _exists(table, *has_key)
    value = float(c.value) if c.entity_type == METRIC else c.value  # type: ignore[arg-type]
    if c.op == "=":
        # Usually selective: an uncorrelated IN lets the planner start from the (key, value)
        # index and probe runs by primary key, instead of probing every run of the experiment.
        matching = select(table.c.run_uuid).where(table.c.key == c.key, table.c.value == value)
        return runs.c.run_uuid.in_(matching)
    return _exists(table, *has_key, compare(table.c.value, c.op, value))


def _dataset(c: Comparison) -> ColumnElement[bool]:
    """datasets.name/digest match a dataset the run used; datasets.context its input tag."""
    if c.key == "context":
        return _exists(
            input_tags,
            input_tags.c.run_uuid == runs.c.run_uuid,
            input_tags.c.key == DATASET_CONTEXT_TAG,
            compare(input_tags.c.value, c.op, c.value),
        )
    used = inputs.join(datasets, inputs.c.dataset_uuid == datasets.c.dataset_uuid)
    return _exists(
        used,
        inputs.c.run_uuid == runs.c.run_uuid,
        compare(datasets.c[c.key], c.op, c.value),
    )


def _exists(source: FromClause, *where: ColumnElement[bool]) -> ColumnElement[bool]:
    return select(1).select_from(source).where(*where).correlate(runs).exists()


# --- order ------------------------------------------------------------------------------------


def _ordering(keys: list[OrderKey]) -> tuple[FromClause, list[ColumnElement[Any]]]:
    """The FROM clause (runs plus one outer join per metric/param/tag key) and ORDER BY terms.

    Runs lacking an ordered value come last in both directions; NaN metrics rank above every
    number (last ascending, first descending) but before runs without the metric.
    """
    source: FromClause = runs
    terms: list[ColumnElement[Any]] = []
    seen: set[tuple[str, str]] = set()
    for key in keys:
        if (key.entity_type, key.key) in seen:
            continue  # a repeated key cannot change the order
        seen.add((key.entity_type, key.key))
        if key.entity_type == ATTRIBUTE:
            column = _ATTRIBUTE_COLUMNS[key.key]
            if column.nullable:  # type: ignore[attr-defined]
                terms.append(column.is_(None))
            terms.append(direction(column, key.ascending))
            continue
        joined = _KEYED_TABLES[key.entity_type].alias(f"order_{len(seen)}")
        source = source.outerjoin(
            joined, and_(joined.c.run_uuid == runs.c.run_uuid, joined.c.key == key.key)
        )
        terms.append(joined.c.run_uuid.is_(None))
        if key.entity_type == METRIC:
            terms.append(direction(joined.c.is_nan, key.ascending))
        terms.append(direction(joined.c.value, key.ascending))
    return source, terms
