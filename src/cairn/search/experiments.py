"""Experiment search as one SELECT of experiment ids: filter, order and page in the database.

Same approach as run search (see :mod:`cairn.search.runs`): tag conditions are correlated
EXISTS subqueries on ``experiment_tags``' primary key, attributes compare columns directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, not_, select

from cairn.search._sql import compare, compare_column, compare_id, compile_condition, direction
from cairn.search.ast import ATTRIBUTE, Comparison, OrderKey
from cairn.search.paging import check_page
from cairn.search.parser import parse_filter, parse_order_by
from cairn.store.db.schema import experiment_tags, experiments

_ATTRIBUTE_COLUMNS: dict[str, ColumnElement[Any]] = {
    "name": experiments.c.name,
    "experiment_id": experiments.c.experiment_id,
    "creation_time": experiments.c.creation_time,
    "last_update_time": experiments.c.last_update_time,
}

# Appended to every order: newest first, then id so pages never overlap or skip.
_TIE_BREAKERS = (
    OrderKey(ATTRIBUTE, "creation_time", False),
    OrderKey(ATTRIBUTE, "experiment_id", True),
)


def select_experiment_ids(
    *,
    stages: Sequence[str],
    filter_string: str | None,
    order_by: list[str] | None,
    offset: int,
    limit: int,
) -> Select[Any]:
    """The ids (one column, ``experiment_id``) of one page of matching experiments, in order.

    Raises CairnError (INVALID_PARAMETER_VALUE) for a bad filter or order_by.
    """
    node = parse_filter(filter_string, "experiments")
    keys = parse_order_by(order_by, "experiments")
    check_page(offset, limit)
    where = [experiments.c.lifecycle_stage.in_(list(stages))]
    if node is not None:
        where.append(compile_condition(node, _comparison))
    return (
        select(experiments.c.experiment_id)
        .where(*where)
        .order_by(*_ordering([*keys, *_TIE_BREAKERS]))
        .offset(offset)
        .limit(limit)
    )


def _comparison(node: Comparison) -> ColumnElement[bool]:
    if node.entity_type == ATTRIBUTE:
        return _attribute(node)
    return _tag(node)


def _attribute(c: Comparison) -> ColumnElement[bool]:
    column = _ATTRIBUTE_COLUMNS[c.key]
    if c.key == "experiment_id":
        return compare_id(column, c.op, c.value)
    return compare_column(column, c.op, c.value)


def _tag(c: Comparison) -> ColumnElement[bool]:
    t = experiment_tags
    where = [t.c.experiment_id == experiments.c.experiment_id, t.c.key == c.key]
    if c.op not in ("IS NULL", "IS NOT NULL"):
        where.append(compare(t.c.value, c.op, c.value))
    exists = select(1).where(*where).correlate(experiments).exists()
    return not_(exists) if c.op == "IS NULL" else exists


def _ordering(keys: list[OrderKey]) -> list[ColumnElement[Any]]:
    """ORDER BY terms; experiments without a creation/update time come last either way."""
    terms: list[ColumnElement[Any]] = []
    seen: set[str] = set()
    for key in keys:
        if key.key in seen:
            continue
        seen.add(key.key)
        column = _ATTRIBUTE_COLUMNS[key.key]
        if column.nullable:  # type: ignore[attr-defined]
            terms.append(column.is_(None))
        terms.append(direction(column, key.ascending))
    return terms
