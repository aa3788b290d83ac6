"""SQL building blocks shared by run and experiment search.

The one subtle piece is LIKE: MLflow's LIKE is case-sensitive, PostgreSQL's LIKE already is,
but SQLite's is not (for ASCII). :func:`like` therefore builds a small construct that compiles
to ``LIKE`` everywhere except SQLite, where the pattern is translated to the equivalent
``GLOB`` (case-sensitive, and still able to use an index for prefix patterns). Both patterns are
bound parameters, so statements stay cacheable and dialect-neutral until compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Boolean, ColumnElement, String, and_, cast, literal, not_, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from cairn.search.ast import And, Comparison, Node, Not, Or, Value

LIKE_ESCAPE = "\\"


class _CaseSensitiveLike(FunctionElement[bool]):
    """``column LIKE pattern`` that is case-sensitive on every backend (see module docstring)."""

    type = Boolean()
    inherit_cache = True
    name = "cairn_case_sensitive_like"


@compiles(_CaseSensitiveLike)
def _compile_like(element: _CaseSensitiveLike, compiler: Any, **kw: Any) -> str:
    column, pattern, _glob = element.clauses
    return str(compiler.process(column.like(pattern, escape=LIKE_ESCAPE), **kw))


@compiles(_CaseSensitiveLike, "sqlite")
def _compile_glob(element: _CaseSensitiveLike, compiler: Any, **kw: Any) -> str:
    column, _pattern, glob = element.clauses
    return str(compiler.process(column.op("GLOB", is_comparison=True)(glob), **kw))


def like_to_glob(pattern: str) -> str:
    """The GLOB pattern matching what ``LIKE pattern ESCAPE '\\'`` matches, case-sensitively."""
    out: list[str] = []
    chars = iter(pattern)
    for c in chars:
        if c == LIKE_ESCAPE:
            out.append(_glob_literal(next(chars, "")))
        elif c == "%":
            out.append("*")
        elif c == "_":
            out.append("?")
        else:
            out.append(_glob_literal(c))
    return "".join(out)


def _glob_literal(c: str) -> str:
    return f"[{c}]" if c and c in "*?[" else c


def like(column: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
    return _CaseSensitiveLike(
        column, literal(pattern, String()), literal(like_to_glob(pattern), String())
    )


def compare(column: ColumnElement[Any], op: str, value: Value) -> ColumnElement[bool]:
    """``column <op> value`` for the binary operators of the filter language."""
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == ">":
        return column > value
    if op == ">=":
        return column >= value
    if op == "LIKE":
        return like(column, str(value))
    if op == "ILIKE":
        return column.ilike(str(value), escape=LIKE_ESCAPE)
    if op == "IN":
        return column.in_(list(value))  # type: ignore[arg-type]
    if op == "NOT IN":
        return column.not_in(list(value))  # type: ignore[arg-type]
    raise AssertionError(f"unhandled operator {op!r}")


def compare_column(column: ColumnElement[Any], op: str, value: Value) -> ColumnElement[bool]:
    """:func:`compare` plus ``IS [NOT] NULL``; never NULL itself, even on a nullable column.

    SQL's NULL would make ``NOT (end_time > 5)`` skip unfinished runs; with an explicit
    ``IS NOT NULL`` a missing value behaves like a missing metric: it fails the comparison and
    passes its negation.
    """
    if op == "IS NULL":
        return column.is_(None)
    if op == "IS NOT NULL":
        return column.is_not(None)
    if not column.nullable:  # type: ignore[attr-defined]
        return compare(column, op, value)
    return and_(column.is_not(None), compare(column, op, value))


def compare_id(column: ColumnElement[Any], op: str, value: Value) -> ColumnElement[bool]:
    """Compare an integer id column with the string form the API uses.

    Canonical decimal strings compare as integers (so the primary key index stays usable);
    anything else, and LIKE patterns, compare against the column's text.
    """
    values = value if isinstance(value, tuple) else (value,)
    if op in ("=", "!=", "IN", "NOT IN") and all(_is_canonical_int(v) for v in values):
        ints = tuple(int(str(v)) for v in values)
        return compare(column, op, ints if isinstance(value, tuple) else ints[0])
    return compare(cast(column, String), op, value)


def _is_canonical_int(value: object) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit() and str(int(text)) == text


def direction(column: ColumnElement[Any], ascending: bool) -> ColumnElement[Any]:
    return column.asc() if ascending else column.desc()


def compile_condition(
    node: Node, leaf: Callable[[Comparison], ColumnElement[bool]]
) -> ColumnElement[bool]:
    """AND / OR / NOT as SQL, each comparison compiled by ``leaf`` (one per search kind)."""
    if isinstance(node, And):
        return and_(*(compile_condition(item, leaf) for item in node.items))
    if isinstance(node, Or):
        return or_(*(compile_condition(item, leaf) for item in node.items))
    if isinstance(node, Not):
        return not_(compile_condition(node.item, leaf))
    return leaf(node)
