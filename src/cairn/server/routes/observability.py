"""Prometheus ``/metrics``, the request instrumentation behind it, and the OpenAPI document.

Metrics are per process: each uvicorn worker counts its own requests, and a scrape reaches
whichever worker accepts it. For one view over all workers, start the server with
``PROMETHEUS_MULTIPROC_DIR`` pointing at an empty directory: prometheus_client then keeps the
values in memory-mapped files there and ``/metrics`` merges every worker's (the in-flight
gauge sums live workers; the directory must be emptied between server starts).

Requests are labelled with the route *template* (``/api/2.0/mlflow/logged-models/{model_id}``),
never the raw path, so ids cannot explode the number of series; unmatched paths share one label.
"""

from __future__ import annotations

import atexit
import os
import platform
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cairn.server.context import ServerContext
from cairn.server.http import json_response
from cairn.server.openapi import OPENAPI_PATHS, app_operations, build_document, operation_key
from cairn.version import __version__

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
UNMATCHED = "<unmatched>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The hot path (log-metric) takes about a millisecond; the default buckets start at 5 ms.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)

# A private registry: no clash with other libraries' use of prometheus_client's global one.
REGISTRY = CollectorRegistry(auto_describe=True)
if MULTIPROCESS:  # a worker that exits cleanly drops out of the in-flight sum
    atexit.register(prometheus_multiprocess.mark_process_dead, os.getpid())
else:  # per-process collectors would be meaningless merged across workers
    ProcessCollector(registry=REGISTRY)
    PlatformCollector(registry=REGISTRY)
    GCCollector(registry=REGISTRY)

REQUESTS = Counter(
    "cairn_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ("route", "method", "status"),
    registry=REGISTRY,
)
LATENCY = Histogram(
    "cairn_http_request_duration_seconds",
    "Time from request to the end of the response, by route template and method.",
    ("route", "method"),
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
IN_FLIGHT = Gauge(
    "cairn_http_requests_in_flight",
    "HTTP requests being handled right now.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)


class _InFlight:
    """A plain count read at scrape time: cheaper per request than two locked gauge updates.

    Only the event loop's thread changes it. Multiprocess mode needs the gauge's shared file.
    """

    count = 0


if not MULTIPROCESS:
    IN_FLIGHT.set_function(lambda: _InFlight.count)
BUILD_INFO = Gauge(
    "cairn_build_info",
    "Always 1; the labels say which cairn and Python are running.",
    ("version", "python"),
    registry=REGISTRY,
    multiprocess_mode="max",
)
BUILD_INFO.labels(__version__, platform.python_version()).set(1)

# Label lookups cost a lock and a tuple hash inside prometheus_client; keep the children.
_counters: dict[tuple[str, str, int], Any] = {}
_histograms: dict[tuple[str, str], Any] = {}


def route_template(scope: Scope) -> str:
    """The matched route's path template with its mount prefixes, from what the router left."""
    route = scope.get("route")
    if not isinstance(route, Route):  # no match, or a mount whose router found nothing
        return UNMATCHED
    root = scope.get("root_path", "")
    app_root = scope.get("app_root_path", root)
    return str(root[len(app_root) :] + route.path_format)


def _record(route: str, method: str, status: int, seconds: float) -> None:
    counter = _counters.get((route, method, status))
    if counter is None:
        counter = _counters[(route, method, status)] = REQUESTS.labels(route, method, str(status))
    counter.inc()
    histogram = _histograms.get((route, method))
    if histogram is None:
        histogram = _histograms[(route, method)] = LATENCY.labels(route, method)
    histogram.observe(seconds)


class MetricsMiddleware:
    """Counts, times and gauges every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets if the app raises before answering
        started = time.perf_counter()

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        if MULTIPROCESS:
            IN_FLIGHT.inc()
        else:
            _InFlight.count += 1
        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            if MULTIPROCESS:
                IN_FLIGHT.dec()
            else:
                _InFlight.count -= 1
            method = scope["method"]
            _record(
                route_template(scope),
                method if method in KNOWN_METHODS else "other",
                status,
                time.perf_counter() - started,
            )


def metrics_middleware() -> Middleware:
    return Middleware(MetricsMiddleware)


def exposition() -> bytes:
    """The Prometheus text format of this process's metrics, or all workers' when merged."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    prometheus_multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


def routes(ctx: ServerContext) -> list[BaseRoute]:
    document: dict[str, Any] | None = None

    async def metrics(request: Request) -> Response:
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)

    async def openapi(request: Request) -> Response:
        # Built on first use: by then the app's routes are final, and they do not change.
        nonlocal document
        if document is None:
            served = app_operations(request.app.routes)
            served |= {operation_key("GET", path) for path in OPENAPI_PATHS}
            document = build_document(served)
        return json_response(document)

    return [
        Route("/metrics", metrics, methods=["GET"]),
        *(Route(path, openapi, methods=["GET"]) for path in OPENAPI_PATHS),
        Route("/ajax-api/2.0/mlflow/openapi.json", openapi, methods=["GET"]),
    ]
