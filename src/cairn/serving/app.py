"""The scoring server's ASGI app: MLflow's scoring endpoints over one loaded model.

``POST /invocations`` scores; ``GET /ping`` and ``/health`` say whether a model is loaded;
``GET /version`` names cairn's version; ``GET /metrics`` is Prometheus' text format.

It is a bare ASGI callable rather than a Starlette app: five fixed routes need no router, and
on the single-row hot path the framework's request objects cost as much as the prediction.
Every answer carries ``X-Request-Id`` (the caller's, if it sent a sane one, else a new one) and
``X-Cairn-Model`` (the version that scored it), so a prediction can be joined later with what
really happened.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cairn.errors import BAD_REQUEST, ENDPOINT_NOT_FOUND, CairnError
from cairn.serving import payloads
from cairn.serving.batching import LoadedModel, Scored, Scorer
from cairn.serving.metrics import ServingMetrics
from cairn.serving.model_source import AliasWatcher, ResolvedModel
from cairn.serving.prediction_log import PredictionLog
from cairn.version import __version__

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_log = logging.getLogger("cairn.serving")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
# Bodies larger than this are parsed on a thread, so one big request does not stall the others.
_PARSE_INLINE_BYTES = 256 * 1024


@dataclass(frozen=True)
class AppSettings:
    """What shapes the app's behaviour (the CLI's options, minus host/port/workers)."""

    timeout_s: float = 60.0
    max_request_bytes: int = 50 * 1024 * 1024
    batching: bool = True
    max_batch_size: int = 32
    max_wait_ms: float = 2.0
    watch_interval_s: float | None = None
    prediction_log_dir: str | None = None
    # The server owns its process: after each model load, freeze the heap (see _freeze_heap).
    # An app embedded in another process (tests) leaves that process's collector alone.
    freeze_heap: bool = True


class ScoringApp:
    """One model, served. ``load`` runs at startup (lifespan) and gives the model to serve."""

    def __init__(
        self,
        load: Callable[[], tuple[ResolvedModel, LoadedModel]],
        settings: AppSettings | None = None,
    ) -> None:
        self.settings = settings or AppSettings()
        self.metrics = ServingMetrics()
        self._load = load
        self._loaded: LoadedModel | None = None
        self._resolved: ResolvedModel | None = None
        self._scorer: Scorer | None = None
        self._watcher: AliasWatcher | None = None
        self._log: PredictionLog | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    @property
    def scorer(self) -> Scorer | None:
        return self._scorer

    async def startup(self) -> None:
        resolved, loaded = await asyncio.to_thread(self._load)
        self._swap(resolved, loaded)
        settings = self.settings
        self._scorer = Scorer(
            self._current,
            batching=settings.batching,
            max_batch_size=settings.max_batch_size,
            max_wait_s=settings.max_wait_ms / 1000,
            on_batch=self.metrics.observe_batch,
        )
        self._scorer.start()
        if settings.watch_interval_s:
            self._watcher = AliasWatcher(resolved, settings.watch_interval_s, self._swap)
            self._watcher.start()
        if settings.prediction_log_dir:
            self._log = PredictionLog(settings.prediction_log_dir)
            self._log.start()

    async def shutdown(self) -> None:
        if self._watcher is not None:
            await self._watcher.stop()
        if self._scorer is not None:
            await self._scorer.stop()
        if self._log is not None:
            await self._log.stop()

    def _current(self) -> LoadedModel:
        assert self._loaded is not None
        return self._loaded

    def _swap(self, resolved: ResolvedModel, loaded: LoadedModel) -> None:
        """Serve ``loaded`` from the next prediction on; the running one finishes on the old."""
        self._resolved, self._loaded = resolved, loaded
        self.metrics.model_loads.inc()
        if self.settings.freeze_heap:
            _freeze_heap()

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except CairnError as exc:
                    await send({"type": "lifespan.startup.failed", "message": exc.message})
                    return
                except Exception as exc:
                    _log.exception("The model could not be loaded")
                    text = f"The model could not be loaded: {type(exc).__name__}: {exc}"
                    await send({"type": "lifespan.startup.failed", "message": text})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        method = scope["method"]
        if path == "/invocations":
            if method != "POST":
                await _error(send, 405, BAD_REQUEST, "Use POST for /invocations.", None)
                return
            await self._invocations(scope, receive, send)
            return
        if method not in ("GET", "HEAD"):
            if path in ("/ping", "/health", "/version", "/metrics"):
                await _error(send, 405, BAD_REQUEST, f"Use GET for {path}.", None)
            else:
                await _error(send, 404, ENDPOINT_NOT_FOUND, f"No endpoint at {path}", None)
            return
        if path in ("/ping", "/health"):
            status = 200 if self._loaded is not None else 503
            await _send(send, status, b"\n", b"application/json", None)
        elif path == "/version":
            status = 200
            await _send(send, status, __version__.encode(), b"application/json", None)
        elif path == "/metrics":
            status = 200
            body, content_type = self.metrics.exposition()
            await _send(send, status, body, content_type.encode(), None)
        else:
            await _error(send, 404, ENDPOINT_NOT_FOUND, f"No endpoint at {path}", None)
            return
        self.metrics.requests.labels(path[1:], str(status)).inc()

    async def _invocations(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers = _headers(scope)
        request_id = _request_id(headers.get(b"x-request-id"))
        status, code = 200, None
        self.metrics.in_flight.inc()
        try:
            request, scored = await _within(self.settings.timeout_s, self._score(receive, headers))
            if scored.batch_rows > 10_000:
                body = await asyncio.to_thread(payloads.predictions_body, scored.predictions)
            else:
                body = payloads.predictions_body(scored.predictions)
            await _send(send, 200, body, b"application/json", request_id, scored.served_by)
            if self._log is not None:
                self._log.write(request_id, scored.served_by, request.data, scored.predictions)
        except CairnError as exc:
            status, code = exc.http_status, exc.error_code
            await _error(send, status, code, exc.message, request_id)
        except TimeoutError:
            status, code = 504, "DEADLINE_EXCEEDED"
            message = (
                f"Scoring took longer than the server's timeout ({self.settings.timeout_s:g} s)."
            )
            await _error(send, status, code, message, request_id)
        finally:
            self.metrics.in_flight.dec()
            self.metrics.observe_request(status, time.perf_counter() - started, code)

    async def _score(
        self, receive: Receive, headers: dict[bytes, bytes]
    ) -> tuple[payloads.ScoringRequest, Scored]:
        scorer = self._scorer
        if scorer is None or self._loaded is None:
            raise CairnError("The model is not loaded yet.", "TEMPORARILY_UNAVAILABLE")
        scorer.arriving += 1
        try:
            raw = await _read_body(receive, headers, self.settings.max_request_bytes)
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            if len(raw) > _PARSE_INLINE_BYTES:
                request = await asyncio.to_thread(payloads.parse_request, raw, content_type)
            else:
                request = payloads.parse_request(raw, content_type)
        finally:
            scorer.arriving -= 1
        return request, await scorer.score(request)


if sys.version_info >= (3, 11):

    async def _within(seconds: float, work: Awaitable[Any]) -> Any:
        async with asyncio.timeout(seconds):
            return await work

else:  # pragma: no cover - Python 3.10

    async def _within(seconds: float, work: Awaitable[Any]) -> Any:
        return await asyncio.wait_for(work, seconds)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return dict(scope["headers"])


def _request_id(given: bytes | None) -> str:
    if given:
        text = given.decode("latin-1")
        if _REQUEST_ID.fullmatch(text):
            return text
    return uuid.uuid4().hex


async def _read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise CairnError("The client went away before sending the whole body.", BAD_REQUEST)
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class _TooLarge(CairnError):
    @property
    def http_status(self) -> int:
        return 413


def _too_large(size: int, limit: int) -> CairnError:
    return _TooLarge(
        f"The request body is {'at least ' if size <= limit else ''}{size:,} bytes; this server "
        f"accepts at most {limit:,} (--max-request-mb). Send the rows in several requests.",
        "REQUEST_LIMIT_EXCEEDED",
    )


async def _error(send: Send, status: int, code: str, message: str, request_id: str | None) -> None:
    body = payloads.encode({"error_code": code, "message": message})
    await _send(send, status, body, b"application/json", request_id)


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    request_id: str | None,
    served_by: str | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if request_id is not None:
        headers.append((b"x-request-id", request_id.encode()))
    if served_by is not None:
        headers.append((b"x-cairn-model", quote(served_by, safe="/@:._-").encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _freeze_heap() -> None:
    """Move everything alive now (the model, the libraries) out of the cyclic collector's sight.

    A loaded model leaves ~10^5 tracked objects; a request that allocates many containers (a
    10,000-row body is 10,000 lists) set off full collections that walked all of them and cost
    more than the scoring. Unfrozen first, so a model replaced by an alias move can be freed.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
