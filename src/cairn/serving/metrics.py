"""Prometheus metrics of the scoring server, served at ``GET /metrics``.

With several worker processes each keeps its own counters; ``PROMETHEUS_MULTIPROC_DIR`` (set
by :func:`cairn.serving.server.serve` before the workers start) makes prometheus_client share
them through files, so any worker's ``/metrics`` answers for the whole server.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Seconds: single-row scoring is sub-millisecond, big batches take seconds.
_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096, 16384, 65536)


class ServingMetrics:
    """The server's counters; one instance per process (its own registry, so tests can make
    several apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        kw: dict[str, Any] = {"registry": self.registry}
        self.requests = Counter(
            "cairn_serving_requests",
            "Scoring requests answered, by endpoint and HTTP status.",
            ["endpoint", "status"],
            **kw,
        )
        self.latency = Histogram(
            "cairn_serving_request_duration_seconds",
            "Time from the request's arrival to its answer, /invocations only.",
            buckets=_LATENCY_BUCKETS,
            **kw,
        )
        self.errors = Counter(
            "cairn_serving_errors",
            "Failed /invocations requests, by error code.",
            ["error_code"],
            **kw,
        )
        self.batch_requests = Histogram(
            "cairn_serving_batch_requests",
            "Requests scored together in one predict() call.",
            buckets=_BATCH_BUCKETS,
            **kw,
        )
        self.batch_rows = Histogram(
            "cairn_serving_batch_rows",
            "Rows scored in one predict() call.",
            buckets=_BATCH_BUCKETS,
            **kw,
        )
        self.rows = Counter("cairn_serving_rows", "Input rows scored.", **kw)
        self.model_loads = Counter(
            "cairn_serving_model_loads",
            "Models loaded (1 at start, +1 per alias move with --watch-alias).",
            **kw,
        )
        self.in_flight = Gauge(
            "cairn_serving_requests_in_flight",
            "Scoring requests being handled now.",
            multiprocess_mode="livesum",
            **kw,
        )
        self._ok = self.requests.labels("invocations", "200")
        if os.environ.get(MULTIPROC_ENV):  # a worker that exits drops out of the in-flight sum
            from prometheus_client import multiprocess

            atexit.register(multiprocess.mark_process_dead, os.getpid())

    def observe_batch(self, requests: int, rows: int) -> None:
        self.batch_requests.observe(requests)
        self.batch_rows.observe(rows)
        self.rows.inc(rows)

    def observe_request(self, status: int, seconds: float, error_code: str | None) -> None:
        if status == 200:
            self._ok.inc()
        else:
            self.requests.labels("invocations", str(status)).inc()
            self.errors.labels(error_code or "UNKNOWN").inc()
        self.latency.observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        """The text format of every counter, across worker processes when they share files."""
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)
            return generate_latest(merged), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
