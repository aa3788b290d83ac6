"""A real HTTP receiver for webhook tests: a threaded server on 127.0.0.1 that records every
request and answers as told (a status per request, an optional gate to hold answers back).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cairn.webhooks import signing


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    path: str
    answered: bool = False

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def signed_by(self, secret: str) -> bool:
        return signing.verify(
            secret,
            self.headers["X-MLflow-Delivery-Id"],
            self.headers["X-MLflow-Timestamp"],
            self.body,
            self.headers.get("X-MLflow-Signature", ""),
        )


@dataclass
class Receiver:
    """``statuses`` answer the first requests in turn, then ``status`` answers the rest.
    While ``gate`` is cleared, answers wait for it (up to ``gate_timeout_s``)."""

    status: int = 200
    statuses: list[int] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    gate: threading.Event = field(default_factory=threading.Event)
    gate_timeout_s: float = 5.0
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self.gate.set()

    def answer(self) -> int:
        with self._changed:
            return self.statuses.pop(0) if self.statuses else self.status

    def record(self, received: Received) -> None:
        with self._changed:
            self.requests.append(received)
            self._changed.notify_all()

    def answered(self, received: Received) -> None:
        with self._changed:
            received.answered = True
            self._changed.notify_all()

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[Received]:
        """The first ``count`` requests once they have come (and been answered)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while sum(r.answered for r in self.requests) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.requests)} of {count} requests came"
                self._changed.wait(left)
            return list(self.requests[:count])


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            received = Received(dict(self.headers.items()), body, self.path)
            receiver.record(received)
            receiver.gate.wait(receiver.gate_timeout_s)
            status = receiver.answer()
            self.send_response(status)
            for key, value in receiver.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            receiver.answered(received)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_receiver(**kwargs: Any) -> Iterator[Receiver]:
    receiver = Receiver(**kwargs)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.gate.set()
        server.shutdown()
        server.server_close()
