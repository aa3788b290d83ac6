"""The logged-model suite (tests/logged_model_suite.py) against a live ``cairn server``, through
RestTrackingStore: MLflow 3's /logged-models endpoints, both ways."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from cairn.store.db.engine import get_engine
from cairn.store.tracking.rest import RestTrackingStore
from logged_model_suite import *  # noqa: F403  (the suite's tests and fixtures run here)
from rest_server import CairnServer


@pytest.fixture
def store(cairn_server: CairnServer) -> Iterator[RestTrackingStore]:
    cairn_server.reset()
    store = RestTrackingStore(cairn_server.url)
    yield store
    store.close()


@pytest.fixture
def engine(cairn_server: CairnServer) -> Engine:
    """The server's own database: the suite writes what no endpoint writes straight into it."""
    return get_engine(cairn_server.backend_store_uri)


@pytest.fixture
def sql_only() -> None:
    pytest.skip("purges: a REST store cannot purge (`cairn gc` runs against the backend store)")
