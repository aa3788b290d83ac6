"""The batching logger: fluent ``log_metric`` appends to memory, a thread writes batches.

A call costs a lock and three array appends; every ``FLUSH_INTERVAL_S`` the background thread
swaps the buffers out and writes each run's points as one transaction. ``flush()`` (called by
``end_run``, ``cairn.flush`` and at exit) makes everything durable. A process killed outright
loses at most the points of the last interval.

Errors the store reports at write time (a param changed by another process, a run deleted
underneath) are warned about at once and raised from the next call into this logger.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref

from cairn.errors import CairnError
from cairn.store.tracking.columns import MetricColumns
from cairn.store.tracking.protocol import TrackingStore

FLUSH_INTERVAL_S = 0.5
_log = logging.getLogger("cairn")


class _RunBuffer:
    __slots__ = ("metrics", "params", "tags")

    def __init__(self) -> None:
        self.metrics: dict[str, MetricColumns] = {}
        self.params: dict[str, str] = {}
        self.tags: dict[str, str] = {}


class BatchingLogger:
    """Buffers one store's writes per run and writes them in batches off the caller's thread."""

    def __init__(self, store: TrackingStore, interval: float = FLUSH_INTERVAL_S) -> None:
        self._store = store
        self._interval = interval
        self._lock = threading.Lock()  # guards _pending
        self._flush_lock = threading.Lock()  # one writer at a time keeps batches in order
        self._pending: dict[str, _RunBuffer] = {}
        self._params_seen: dict[str, dict[str, str]] = {}
        self._error: CairnError | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        _live_loggers.add(self)

    # -------------------------------------------------------------- called per value

    @property
    def store(self) -> TrackingStore:
        """The store written to (for writes that must not wait in a batch)."""
        return self._store

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        if self._thread is None:
            self._start()
        with self._lock:
            buffer = self._pending.get(run_id)
            if buffer is None:
                buffer = self._pending[run_id] = _RunBuffer()
            cols = buffer.metrics.get(key)
            if cols is None:
                cols = buffer.metrics[key] = MetricColumns()
            cols.steps.append(step)
            cols.timestamps.append(timestamp)
            cols.values.append(value)

    def log_params(self, run_id: str, params: dict[str, str]) -> None:
        self._buffer_dict(run_id, params, "params")

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        self._buffer_dict(run_id, tags, "tags")

    def _buffer_dict(self, run_id: str, values: dict[str, str], field: str) -> None:
        if self._thread is None:
            self._start()
        with self._lock:
            buffer = self._pending.get(run_id)
            if buffer is None:
                buffer = self._pending[run_id] = _RunBuffer()
            if field == "params":
                # Catch a changed param now, not a flush later, when this process logged it.
                seen = self._params_seen.setdefault(run_id, {})
                for key, value in values.items():
                    if seen.get(key, value) != value:
                        raise CairnError.invalid(
                            f"Changing param values is not allowed: param '{key}' was logged "
                            f"as {seen[key]!r} and now as {value!r}."
                        )
                seen.update(values)
            getattr(buffer, field).update(values)

    def raise_pending_error(self) -> None:
        """Raise (once) what the last background write reported."""
        error, self._error = self._error, None
        if error is not None:
            raise error

    # -------------------------------------------------------------- writing

    def flush(self, run_id: str | None = None) -> None:
        """Write what is buffered (for one run or all) and raise any error that came up."""
        self._write_pending(run_id)
        self.raise_pending_error()

    def _write_pending(self, run_id: str | None = None) -> None:
        with self._flush_lock:
            with self._lock:
                if run_id is None:
                    batch, self._pending = self._pending, {}
                else:
                    buffer = self._pending.pop(run_id, None)
                    batch = {run_id: buffer} if buffer is not None else {}
            for rid, buffer in batch.items():
                self._write_run(rid, buffer)

    def _write_run(self, run_id: str, buffer: _RunBuffer) -> None:
        try:
            self._store.log_columns(run_id, buffer.metrics, buffer.params, buffer.tags)
            return
        except CairnError as exc:
            if not buffer.params:
                self._report(exc)
                return
        # A param was refused: keep everything else, then try the params one at a time.
        try:
            self._store.log_columns(run_id, buffer.metrics, None, buffer.tags)
        except CairnError as exc:
            self._report(exc)
            return
        for key, value in buffer.params.items():
            try:
                self._store.log_columns(run_id, None, {key: value}, None)
            except CairnError as exc:
                self._report(exc)

    def _report(self, error: CairnError) -> None:
        _log.error("cairn could not write logged values: %s", error.message)
        if self._error is None:
            self._error = error

    # -------------------------------------------------------------- background thread

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name="cairn-batching-logger", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._write_pending()
            except Exception as exc:  # a broken database must not kill the thread silently
                self._report(CairnError(f"Background write failed: {exc}"))

    def close(self) -> None:
        """Write everything and stop the thread."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        self._write_pending()

    def _after_fork(self) -> None:
        # The child has a copy of the buffers but not the thread: start afresh.
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending = {}
        self._thread = None
        self._stop = threading.Event()


_live_loggers: weakref.WeakSet[BatchingLogger] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for logger in list(_live_loggers):
        logger._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
