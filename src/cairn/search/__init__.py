"""The search filter language: MLflow's syntax plus OR, NOT and parentheses, compiled to SQL.

``parse_filter`` / ``parse_order_by`` turn text into checked syntax trees (pure Python);
``select_run_ids`` / ``select_experiment_ids`` build the SQLAlchemy SELECT of one page of ids.
The SQL builders load lazily so that importing the parser never pulls in SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cairn.search.ast import And, Comparison, Node, Not, Or, OrderKey
from cairn.search.paging import decode_page_token, encode_page_token
from cairn.search.parser import parse_filter, parse_order_by

if TYPE_CHECKING:
    from cairn.search.experiments import select_experiment_ids
    from cairn.search.runs import select_run_ids

__all__ = [
    "And",
    "Comparison",
    "Node",
    "Not",
    "Or",
    "OrderKey",
    "decode_page_token",
    "encode_page_token",
    "parse_filter",
    "parse_order_by",
    "select_experiment_ids",
    "select_run_ids",
]


def __getattr__(name: str) -> Any:
    if name == "select_run_ids":
        from cairn.search.runs import select_run_ids

        return select_run_ids
    if name == "select_experiment_ids":
        from cairn.search.experiments import select_experiment_ids

        return select_experiment_ids
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
