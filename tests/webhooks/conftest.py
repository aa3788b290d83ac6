"""Webhook tests: the SQL registry store on a fresh database, with quick retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cairn.store.registry.sql import SqlRegistryStore
from cairn.webhooks import dispatcher


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_WEBHOOK_BACKOFF_S", "0.05")
    monkeypatch.setenv("CAIRN_WEBHOOK_MAX_BACKOFF_S", "0.2")
    monkeypatch.setenv("CAIRN_WEBHOOK_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("CAIRN_WEBHOOK_TIMEOUT_S", "10")


@pytest.fixture
def store(db_uri: str) -> SqlRegistryStore:
    return SqlRegistryStore(db_uri)


@pytest.fixture(autouse=True)
def _stop_dispatchers() -> Iterator[None]:
    """Deliveries a test leaves pending are not the next test's business."""
    yield
    dispatcher.shutdown()
