"""Adaptive micro-batching: concurrent requests scored together in one ``predict`` call.

Predictions run one at a time on one thread per worker process. While a prediction runs, the
requests that arrive queue up; the next prediction takes all of them that fit (same columns,
same params, at most ``max_batch_size`` rows) as one DataFrame. So a lone request is scored at
once, and under load the batches grow by themselves. ``max_wait_s`` adds a short wait for more
only when more requests are already being read (never for a lone request).

Only flavors whose predictions are one per input row, independent of the other rows, are
batched (:data:`ROW_WISE_LOADERS`); a custom model may look across its rows, so it is not.
When a joined batch fails (one request's rows break the signature), every request in it is
scored alone, so only the bad one gets the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cairn.errors import BAD_REQUEST, CairnError
from cairn.serving.payloads import Rows, ScoringRequest, rows_frame

_log = logging.getLogger("cairn.serving")

# python_function loader modules whose predict() maps each row to its own prediction.
ROW_WISE_LOADERS = frozenset(
    f"{prefix}.{flavor}"
    for prefix in ("cairn", "mlflow")
    for flavor in ("sklearn", "xgboost", "lightgbm")
)


@dataclass
class LoadedModel:
    """The model being served and what to call it in responses and logs."""

    model: Any  # PyFuncModel
    label: str  # e.g. "churn/3", or the path

    @property
    def row_wise(self) -> bool:
        return getattr(self.model, "loader_module", None) in ROW_WISE_LOADERS


@dataclass
class Scored:
    predictions: Any
    served_by: str
    batch_rows: int


@dataclass
class _Item:
    request: ScoringRequest
    future: asyncio.Future[Scored]
    rows: int = field(init=False)

    def __post_init__(self) -> None:
        self.rows = len(self.request.data) if isinstance(self.request.data, Rows) else 0


# Predictions of small batches quicker than this (recent average) run on the event loop.
INLINE_S = 0.002

OnBatch = Callable[[int, int], None]  # (requests, rows) of each prediction


class Scorer:
    """Queues requests and scores them on the prediction thread, joined where possible."""

    def __init__(
        self,
        current: Callable[[], LoadedModel],
        *,
        batching: bool = True,
        max_batch_size: int = 32,
        max_wait_s: float = 0.0,
        on_batch: OnBatch | None = None,
    ) -> None:
        self._current = current
        self._batching = batching
        self._max_rows = max(1, max_batch_size)
        self._max_wait_s = max(0.0, max_wait_s)
        self._on_batch = on_batch
        self._queue: deque[_Item] = deque()
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="cairn-predict")
        self._task: asyncio.Task[None] | None = None
        self.arriving = 0  # requests whose bodies are being read: worth a short wait
        self.waiting = 0  # requests queued or being scored
        self._small_batch_s: float | None = None  # recent time of a batch of <= max rows

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cairn-scorer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for item in self._queue:
            if not item.future.done():
                item.future.set_exception(
                    CairnError("The server is shutting down.", "TEMPORARILY_UNAVAILABLE")
                )
        self._executor.shutdown(wait=True)

    async def score(self, request: ScoringRequest) -> Scored:
        future: asyncio.Future[Scored] = asyncio.get_running_loop().create_future()
        self._queue.append(_Item(request, future))
        self._wakeup.set()
        self.waiting += 1
        try:
            return await future
        finally:
            self.waiting -= 1

    async def run_blocking(self, func: Callable[[], Any]) -> Any:
        """Run ``func`` on the prediction thread, in turn with the predictions sent there."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, func)

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._take()
            if not batch:
                continue
            try:
                await self._score_batch(batch)
            except Exception:  # a bug here must fail its requests, not stop all scoring
                _log.exception("Scoring a batch of %d request(s) failed", len(batch))
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(CairnError("Internal error while scoring."))

    async def _score_batch(self, batch: list[_Item]) -> None:
        if self._max_wait_s and self.arriving and self._joinable(batch[0]):
            batch[:] = await self._wait_for_more(batch)
        if self._fast_enough(batch):
            results = self._predict(batch)  # quicker than handing it to the thread
        else:
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(self._executor, self._predict, batch)
        for item, result in zip(batch, results, strict=True):
            if item.future.done():
                continue  # timed out or the client left
            if isinstance(result, BaseException):
                item.future.set_exception(result)
            else:
                item.future.set_result(result)

    def _take(self) -> list[_Item]:
        """The next batch: the oldest live request and the queued ones that join it."""
        while self._queue and self._queue[0].future.done():
            self._queue.popleft()
        if not self._queue:
            return []
        first = self._queue.popleft()
        if not self._joinable(first):
            return [first]
        return self._join(first, [first], first.rows)

    def _joinable(self, first: _Item) -> bool:
        """Whether other requests may join ``first``: table rows, below the row limit, for a
        row-wise model, with batching on."""
        return self._batching and 0 < first.rows < self._max_rows and self._current().row_wise

    def _join(self, first: _Item, batch: list[_Item], rows: int) -> list[_Item]:
        kept: deque[_Item] = deque()
        while self._queue:
            item = self._queue.popleft()
            if item.future.done():
                continue
            if self._joins(first, item) and rows + item.rows <= self._max_rows:
                batch.append(item)
                rows += item.rows
            else:
                kept.append(item)
        kept.extend(self._queue)
        self._queue = kept
        return batch

    async def _wait_for_more(self, batch: list[_Item]) -> list[_Item]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_wait_s
        rows = sum(item.rows for item in batch)
        while rows < self._max_rows and self.arriving:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                break
            batch = self._join(batch[0], batch, rows)
            rows = sum(item.rows for item in batch)
        return batch

    @staticmethod
    def _joins(first: _Item, item: _Item) -> bool:
        a, b = first.request, item.request
        return b.batchable and a.data.joins(b.data) and a.params == b.params and item.rows > 0

    def _fast_enough(self, batch: list[_Item]) -> bool:
        """Whether to predict on the event loop: a small batch of a model whose small batches
        took under ``INLINE_S`` lately. Handing a sub-millisecond prediction to the thread costs
        about as much as the prediction, and the two threads then fight over the GIL; a slow
        model keeps its thread, so /ping and timeouts stay responsive."""
        seconds = self._small_batch_s
        return seconds is not None and seconds < INLINE_S and _rows(batch) <= self._max_rows

    def _timed(self, batch: list[_Item], started: float) -> None:
        if _rows(batch) <= self._max_rows:
            took = time.perf_counter() - started
            last = self._small_batch_s
            self._small_batch_s = took if last is None else 0.8 * last + 0.2 * took

    # ------------------------------------------------------------------ on the thread

    def _predict(self, batch: list[_Item]) -> list[Scored | BaseException]:
        started = time.perf_counter()
        try:
            return self._predict_batch(batch)
        finally:
            self._timed(batch, started)

    def _predict_batch(self, batch: list[_Item]) -> list[Scored | BaseException]:
        loaded = self._current()
        if len(batch) == 1:
            return [self._predict_one(loaded, batch[0].request)]
        rows = [item.rows for item in batch]
        total = sum(rows)
        try:
            frame = rows_frame([item.request.data for item in batch])
            predictions = loaded.model.predict(frame, params=batch[0].request.params)
            if self._on_batch:
                self._on_batch(len(batch), total)
            parts = _split(predictions, rows)
        except Exception as exc:  # one request spoiled the batch: score each alone
            _log.debug("batch of %d failed (%s); scoring each request alone", len(batch), exc)
            return [self._predict_one(loaded, item.request) for item in batch]
        if parts is None:
            return [self._predict_one(loaded, item.request) for item in batch]
        return [Scored(part, loaded.label, total) for part in parts]

    def _predict_one(self, loaded: LoadedModel, request: ScoringRequest) -> Scored | BaseException:
        data = request.data.frame() if isinstance(request.data, Rows) else request.data
        try:
            predictions = loaded.model.predict(data, params=request.params)
        except CairnError as exc:
            return exc
        except Exception as exc:
            _log.exception("The model failed to predict")
            return CairnError(
                f"The model failed to predict on this input: {type(exc).__name__}: {exc}",
                BAD_REQUEST,
            )
        if self._on_batch:
            self._on_batch(1, _length(data))
        return Scored(predictions, loaded.label, _length(data))


def _rows(batch: list[_Item]) -> int:
    """Rows of a batch; a request that is not rows (an array, a frame) counts as big."""
    return sum(item.rows if item.rows else 1 << 30 for item in batch)


def _length(data: Any) -> int:
    try:
        return len(data)
    except TypeError:
        return 1


def _split(predictions: Any, rows: list[int]) -> list[Any] | None:
    """``predictions`` cut into one part per request, or None if it is not one per row."""
    import numpy as np
    import pandas as pd

    total = sum(rows)
    if isinstance(predictions, pd.DataFrame | pd.Series):
        if len(predictions) != total:
            return None
        cut = predictions.iloc
    elif isinstance(predictions, np.ndarray):
        if predictions.ndim == 0 or predictions.shape[0] != total:
            return None
        cut = predictions
    elif isinstance(predictions, list):
        if len(predictions) != total:
            return None
        cut = predictions
    else:
        return None
    parts = []
    start = 0
    for count in rows:
        parts.append(cut[start : start + count])
        start += count
    return parts
