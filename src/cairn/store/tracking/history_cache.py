"""Long metric histories kept in memory between reads, checked against the database each time.

A chart zooming into a 10^6-point series, or the mlflow client paging through it 25,000 points
at a time, reads the same history again and again; decoding it costs ~40 ms a time. The cache
keeps recently read long histories with the *version* of their stored chunks (how many, the
newest id, how many points). Every read still asks the database for that version (one small
aggregate over the chunk index) and uses the cached arrays only if it is unchanged: writes only
ever add chunks or grow the newest one, so any write changes the version. Short histories are
not kept: reading them is as cheap as checking.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from cairn.entities import MetricHistory

Version = tuple[int, int, int]  # chunks, newest chunk id, points

MIN_POINTS = 50_000
MAX_BYTES = 256 * 1024 * 1024
_BYTES_PER_POINT = 24


class HistoryCache:
    def __init__(self, min_points: int = MIN_POINTS, max_bytes: int = MAX_BYTES) -> None:
        self.min_points = min_points
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], tuple[Version, MetricHistory]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def holds(self, run_id: str, key: str) -> bool:
        with self._lock:
            return (run_id, key) in self._entries

    def get(self, run_id: str, key: str, version: Version) -> MetricHistory | None:
        """The cached history if it was read at ``version``; a stale entry is dropped."""
        with self._lock:
            entry = self._entries.get((run_id, key))
            if entry is None:
                return None
            if entry[0] != version:
                self._drop((run_id, key))
                return None
            self._entries.move_to_end((run_id, key))
            return entry[1]

    def put(self, run_id: str, key: str, version: Version, history: MetricHistory) -> None:
        size = len(history) * _BYTES_PER_POINT
        if len(history) < self.min_points or size > self.max_bytes:
            return
        for column in (history.steps, history.timestamps, history.values):
            column.flags.writeable = False  # shared between readers from now on
        with self._lock:
            if (run_id, key) in self._entries:
                self._drop((run_id, key))
            self._entries[(run_id, key)] = (version, history)
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def _drop(self, entry_key: tuple[str, str]) -> None:
        _, history = self._entries.pop(entry_key)
        self._bytes -= len(history) * _BYTES_PER_POINT
