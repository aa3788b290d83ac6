"""The parsed form of a search filter and of order_by clauses.

The parser resolves aliases and checks types before building these nodes, so the SQL builders
can trust them: ``entity_type`` is one of the constants below, attribute keys are canonical
names (``created`` is already ``start_time``), and ``value`` has the right Python type for
``op``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

METRIC = "metric"
PARAM = "param"
TAG = "tag"
ATTRIBUTE = "attribute"
DATASET = "dataset"

Value: TypeAlias = str | int | float | tuple[str, ...] | None


@dataclass(frozen=True)
class Comparison:
    """``<entity_type>.<key> <op> <value>``.

    ``op`` is one of ``= != < <= > >= LIKE ILIKE IN NOT IN IS NULL IS NOT NULL``. ``value`` is
    a number for numeric comparisons, a string for string ones, a tuple of strings for
    ``IN``/``NOT IN`` and None for ``IS [NOT] NULL``.
    """

    entity_type: str
    key: str
    op: str
    value: Value


@dataclass(frozen=True)
class And:
    """All of ``items`` hold (always two or more: the parser flattens nested ANDs)."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any of ``items`` holds (always two or more: the parser flattens nested ORs)."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node: TypeAlias = Comparison | And | Or | Not


@dataclass(frozen=True)
class OrderKey:
    """One order_by clause: sort by ``entity_type.key``, ascending unless told otherwise."""

    entity_type: str
    key: str
    ascending: bool = True
