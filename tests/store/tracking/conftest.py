"""The live ``cairn server`` the REST store's modules share: starting one costs about a second."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rest_server import CairnServer


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def cairn_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[CairnServer]:
    """One server per backend for the whole session; tests reset it between them."""
    uri = None
    if request.param == "postgres":
        uri = request.getfixturevalue("postgres_server").create_database("rest_store_suite")
    server = CairnServer(tmp_path_factory.mktemp(f"cairn-server-{request.param}"), uri).start()
    yield server
    server.stop()
