"""Metric points of one key as three packed columns: the unit every metric write moves.

The batching logger appends to ``array`` columns (cheap per call), the SQL store stores their
bytes as chunks, and reads turn chunk bytes back into numpy arrays without per-point objects.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable

from cairn.entities import Metric

LITTLE_ENDIAN = sys.byteorder == "little"


class MetricColumns:
    """steps (int64), timestamps (int64, ms) and values (float64) of one metric key."""

    __slots__ = ("steps", "timestamps", "values")

    def __init__(self) -> None:
        self.steps = array("q")
        self.timestamps = array("q")
        self.values = array("d")

    def __len__(self) -> int:
        return len(self.steps)

    def append(self, value: float, timestamp: int, step: int) -> None:
        self.steps.append(step)
        self.timestamps.append(timestamp)
        self.values.append(value)

    @classmethod
    def group(cls, metrics: Iterable[Metric]) -> dict[str, MetricColumns]:
        """Entity metrics (as ``log_batch`` receives them) grouped into columns by key."""
        by_key: dict[str, MetricColumns] = {}
        for m in metrics:
            cols = by_key.get(m.key)
            if cols is None:
                cols = by_key[m.key] = cls()
            cols.append(m.value, m.timestamp, m.step)
        return by_key


def pack(column: array) -> bytes:
    """Column bytes in the stored (little-endian) layout."""
    if LITTLE_ENDIAN:
        return column.tobytes()
    swapped = array(column.typecode, column)
    swapped.byteswap()
    return swapped.tobytes()
