"""One attempt's edge cases that need no receiver: a resolver that does not answer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from cairn.webhooks import rules, sender
from cairn.webhooks.settings import WebhookSettings


@pytest.fixture
def hung_resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """getaddrinfo that answers only when let go: a DNS server that went silent."""
    let_go = threading.Event()
    real = socket.getaddrinfo

    def hung(*args: Any, **kwargs: Any) -> Any:
        let_go.wait(60)
        return real("127.0.0.1", *args[1:], **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hung)
    yield let_go
    let_go.set()


def test_a_resolver_that_hangs_is_a_retryable_failure(hung_resolver: threading.Event) -> None:
    settings = WebhookSettings(timeout_s=0.2)
    attempt = sender.send("http://hooks.invalid/x", None, "id-1", "{}", settings)
    assert not hung_resolver.is_set()  # it came back while the resolver still hung
    assert (attempt.ok, attempt.retryable, attempt.response_status) == (False, True, None)
    assert attempt.error is not None and "Cannot resolve hooks.invalid" in attempt.error


def test_resolution_within_the_time_limit_is_checked(hung_resolver: threading.Event) -> None:
    hung_resolver.set()
    refusal = rules.check_destination("hooks.invalid", 80, allow_private=False, timeout_s=30)
    assert refusal is not None and "resolves to" in refusal
