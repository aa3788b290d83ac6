"""The live ``cairn server`` the REST store's modules share: starting one costs about a second."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rest_server import CairnServer


@pytest.fixture(scope="session")
def cairn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CairnServer]:
    server = CairnServer(tmp_path_factory.mktemp("cairn-server")).start()
    yield server
    server.stop()
