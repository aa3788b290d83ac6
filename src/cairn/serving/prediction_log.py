"""``--log-predictions DIR``: every answered prediction as one JSON line, for monitoring.

Each line has the time, the request id the caller got in ``X-Request-Id``, the model version
that answered, the inputs (``{"columns", "data"}`` for tables) and the predictions, so ground
truth that arrives later can be joined to them by request id. Each worker process writes its
own file (``predictions-<pid>.jsonl``), so lines from concurrent workers never interleave.
Writes are buffered and flushed every second and at shutdown, off the request's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import IO, Any

from cairn.serving import payloads
from cairn.serving.payloads import Rows

FLUSH_EVERY_S = 1.0


class PredictionLog:
    def __init__(self, directory: str) -> None:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.path = path / f"predictions-{os.getpid()}.jsonl"
        self._file: IO[bytes] = self.path.open("ab", buffering=1 << 20)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._flush_often())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._file.close()

    def write(self, request_id: str, model: str, inputs: Any, predictions: Any) -> None:
        line = {
            "time_ms": int(time.time() * 1000),
            "request_id": request_id,
            "model": model,
            "inputs": _inputs(inputs),
            "predictions": payloads.jsonable(predictions),
        }
        self._file.write(payloads.encode(line) + b"\n")

    async def _flush_often(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            self._file.flush()


def _inputs(data: Any) -> Any:
    if isinstance(data, Rows):
        return {"columns": list(data.columns), "data": data.data}
    if type(data).__name__ == "DataFrame":
        split = data.to_dict(orient="split")
        return {"columns": [str(c) for c in split["columns"]], "data": split["data"]}
    return payloads.jsonable(data)
