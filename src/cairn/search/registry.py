"""Registered-model and model-version search as one SELECT of keys: filter, order and page in
the database.

The language is the run-search one (see :mod:`cairn.search.parser`): AND, OR, NOT and
parentheses over attributes and ``tags.<key>`` (``tag.<key>`` too). Tag conditions are
correlated EXISTS subqueries on the tag tables' primary keys.

Prompts: MLflow keeps prompts (models tagged ``mlflow.prompt.is_prompt = 'true'``) in the same
tables and leaves them out of model search unless the filter asks about that tag; its client
always appends ``tag.`mlflow.prompt.is_prompt` != 'true'``. Here that one tag reads as
``'false'`` where it is missing, so the appended clause keeps every ordinary model, and a filter
that never mentions it gets the same exclusion added.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Select, not_, or_, select

from cairn.errors import CairnError
from cairn.search._sql import compare, compare_column, compile_condition, direction
from cairn.search.ast import ATTRIBUTE, And, Comparison, Node, Not, Or, OrderKey
from cairn.search.paging import check_page
from cairn.search.parser import parse_filter, parse_order_by
from cairn.store.db.schema import (
    model_version_tags,
    model_versions,
    registered_model_tags,
    registered_models,
)

IS_PROMPT_TAG = "mlflow.prompt.is_prompt"
_PROMPT_DEFAULT = "false"

_rm = registered_models
_mv = model_versions

_MODEL_COLUMNS: dict[str, ColumnElement[Any]] = {
    "name": _rm.c.name,
    "creation_timestamp": _rm.c.creation_time,
    "last_updated_timestamp": _rm.c.last_updated_time,
}

_VERSION_COLUMNS: dict[str, ColumnElement[Any]] = {
    "name": _mv.c.name,
    "version_number": _mv.c.version,
    "run_id": _mv.c.run_id,
    "source_path": _mv.c.source,
    "model_id": _mv.c.model_id,
    "user_id": _mv.c.user_id,
    "current_stage": _mv.c.current_stage,
    "status": _mv.c.status,
    "creation_timestamp": _mv.c.creation_time,
    "last_updated_timestamp": _mv.c.last_updated_time,
}

# What order_by accepts (MLflow's keys); the tie-breakers end every order so pages are stable.
_MODEL_ORDER_KEYS = frozenset({"name", "creation_timestamp", "last_updated_timestamp"})
_VERSION_ORDER_KEYS = frozenset(
    {"name", "version_number", "creation_timestamp", "last_updated_timestamp"}
)
_MODEL_TIE_BREAKERS = (OrderKey(ATTRIBUTE, "name", True),)
_VERSION_TIE_BREAKERS = (
    OrderKey(ATTRIBUTE, "name", True),
    OrderKey(ATTRIBUTE, "version_number", False),
)
# MLflow's default order of version search: recently changed first.
DEFAULT_VERSION_ORDER = ("last_updated_timestamp DESC", "name ASC", "version_number DESC")


def select_registered_model_names(
    filter_string: str | None, order_by: list[str] | None, offset: int, limit: int
) -> Select[Any]:
    """The names (one column, ``name``) of one page of matching registered models, in order.

    Raises CairnError (INVALID_PARAMETER_VALUE) for a bad filter or order_by.
    """
    node = parse_filter(filter_string, "registered_models")
    keys = _order_keys(order_by, "registered_models", _MODEL_ORDER_KEYS)
    check_page(offset, limit)
    where = _where(node, _model_comparison, _model_tag_exists)
    return (
        select(_rm.c.name)
        .where(*where)
        .order_by(*_ordering([*keys, *_MODEL_TIE_BREAKERS], _MODEL_COLUMNS))
        .offset(offset)
        .limit(limit)
    )


def select_model_version_keys(
    filter_string: str | None, order_by: list[str] | None, offset: int, limit: int
) -> Select[Any]:
    """The keys (``name``, ``version``) of one page of matching model versions, in order."""
    node = parse_filter(filter_string, "model_versions")
    keys = _order_keys(
        order_by or list(DEFAULT_VERSION_ORDER), "model_versions", _VERSION_ORDER_KEYS
    )
    check_page(offset, limit)
    where = _where(node, _version_comparison, _version_tag_exists)
    return (
        select(_mv.c.name, _mv.c.version)
        .where(*where)
        .order_by(*_ordering([*keys, *_VERSION_TIE_BREAKERS], _VERSION_COLUMNS))
        .offset(offset)
        .limit(limit)
    )


def _order_keys(items: list[str] | None, kind: Any, allowed: frozenset[str]) -> list[OrderKey]:
    keys = parse_order_by(items, kind)
    seen: set[str] = set()
    for key in keys:
        if key.key not in allowed:
            raise CairnError.invalid(
                f"Invalid order_by key {key.key!r}: expected one of {', '.join(sorted(allowed))}."
            )
        if key.key in seen:
            raise CairnError.invalid(f"order_by names {key.key!r} twice: {list(items or ())}.")
        seen.add(key.key)
    return keys


def _where(node: Node | None, leaf: Any, tag_exists: Any) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if node is not None:
        where.append(compile_condition(node, leaf))
    if node is None or not _mentions_prompt_tag(node):
        where.append(not_(tag_exists(IS_PROMPT_TAG, "=", "true")))
    return where


def _mentions_prompt_tag(node: Node) -> bool:
    if isinstance(node, And | Or):
        return any(_mentions_prompt_tag(item) for item in node.items)
    if isinstance(node, Not):
        return _mentions_prompt_tag(node.item)
    return node.entity_type != ATTRIBUTE and node.key == IS_PROMPT_TAG


def _model_comparison(c: Comparison) -> ColumnElement[bool]:
    if c.entity_type == ATTRIBUTE:
        return compare_column(_MODEL_COLUMNS[c.key], c.op, c.value)
    return _tag_condition(c, _model_tag_exists)


def _version_comparison(c: Comparison) -> ColumnElement[bool]:
    if c.entity_type == ATTRIBUTE:
        return compare_column(_VERSION_COLUMNS[c.key], c.op, c.value)
    return _tag_condition(c, _version_tag_exists)


def _tag_condition(c: Comparison, tag_exists: Any) -> ColumnElement[bool]:
    """A tag comparison: the tag must exist and match (the prompt tag defaults to 'false')."""
    if c.op == "IS NULL":
        return not_(tag_exists(c.key, None, None))
    if c.op == "IS NOT NULL":
        return tag_exists(c.key, None, None)
    matches = tag_exists(c.key, c.op, c.value)
    if c.key != IS_PROMPT_TAG or not _default_matches(c.op, str(c.value)):
        return matches
    return or_(matches, not_(tag_exists(c.key, None, None)))


def _default_matches(op: str, value: str) -> bool:
    """Whether the prompt tag's missing value ('false') passes ``op value``."""
    if op == "=":
        return value == _PROMPT_DEFAULT
    if op == "!=":
        return value != _PROMPT_DEFAULT
    if op == "ILIKE":
        return _like_matches(_PROMPT_DEFAULT, value.lower())
    return _like_matches(_PROMPT_DEFAULT, value)


def _like_matches(text: str, pattern: str) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text, re.DOTALL) is not None


def _model_tag_exists(key: str, op: str | None, value: Any) -> ColumnElement[bool]:
    t = registered_model_tags
    where = [t.c.name == _rm.c.name, t.c.key == key]
    if op is not None:
        where.append(compare(t.c.value, op, value))
    return select(1).where(*where).correlate(_rm).exists()


def _version_tag_exists(key: str, op: str | None, value: Any) -> ColumnElement[bool]:
    t = model_version_tags
    where = [t.c.name == _mv.c.name, t.c.version == _mv.c.version, t.c.key == key]
    if op is not None:
        where.append(compare(t.c.value, op, value))
    return select(1).where(*where).correlate(_mv).exists()


def _ordering(keys: list[OrderKey], columns: dict[str, ColumnElement[Any]]) -> list[Any]:
    terms: list[ColumnElement[Any]] = []
    seen: set[str] = set()
    for key in keys:
        if key.key in seen:
            continue
        seen.add(key.key)
        terms.append(direction(columns[key.key], key.ascending))
    return terms
