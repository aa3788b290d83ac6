"""cairn's REST registry store against a live ``cairn server`` (SQLite and PostgreSQL).

The server's own SQL store is opened on the server's database beside it, so every answer that
came over HTTP is compared with what the SQL store says directly: the same entities, field for
field (timestamps included), and the same errors, code and message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.entities import Run
from cairn.errors import CairnError
from cairn.store.registry import get_registry_store
from cairn.store.registry.protocol import RegistryStore
from cairn.store.registry.rest import RestRegistryStore
from cairn.store.registry.sql import SqlRegistryStore
from cairn.store.tracking.rest import RestTrackingStore
from cairn.tracking.context import current_user
from rest_server import CairnServer


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[CairnServer]:
    uri = None
    if request.param == "postgres":
        uri = request.getfixturevalue("postgres_server").create_database("rest_registry_suite")
    live = CairnServer(tmp_path_factory.mktemp(f"registry-{request.param}"), uri).start()
    yield live
    live.stop()


@pytest.fixture
def store(server: CairnServer) -> Iterator[RestRegistryStore]:
    server.reset()
    rest = RestRegistryStore(server.url)
    yield rest
    rest.close()


@pytest.fixture
def sql(server: CairnServer) -> SqlRegistryStore:
    """The server's own store, on its database: the reference every answer is compared with."""
    return SqlRegistryStore(server.backend_store_uri)


@pytest.fixture
def run(server: CairnServer, store: RestRegistryStore) -> Run:
    tracking = RestTrackingStore(server.url)
    try:
        return tracking.create_run("0", "alice", None, {}, "source-run")
    finally:
        tracking.close()


def error(call: Callable[..., object], *args: object) -> tuple[str, str]:
    with pytest.raises(CairnError) as info:
        call(*args)
    return info.value.error_code, info.value.message


def runs_source(run: Run) -> str:
    return f"runs:/{run.info.run_id}/model"


# ---------------------------------------------------------------- the store


def test_the_factory_returns_it_and_it_follows_the_protocol(
    server: CairnServer, store: RestRegistryStore
) -> None:
    assert isinstance(get_registry_store(server.url), RestRegistryStore)
    assert isinstance(store, RegistryStore)


def test_models_and_versions_read_back_as_the_sql_store_has_them(
    store: RestRegistryStore, sql: SqlRegistryStore, run: Run
) -> None:
    created = store.create_registered_model("m", tags={"team": "risk"}, description="first")
    assert created == sql.get_registered_model("m")
    v1 = store.create_model_version("m", runs_source(run), tags={"k": "v"}, run_link="http://ci")
    v2 = store.create_model_version("m", runs_source(run), description="second")
    assert (v1.version, v2.version) == (1, 2)
    assert (v1.run_id, v1.tags, v1.run_link, v1.status) == (
        run.info.run_id,
        {"k": "v"},
        "http://ci",
        "READY",
    )
    assert v1.user_id == current_user()  # X-Cairn-User names the caller
    store.set_registered_model_alias("m", "champion", 2)
    store.set_registered_model_alias("m", "shadow", "1")
    store.transition_model_version_stage("m", 1, "production")
    store.transition_model_version_stage("m", "2", "Production", archive_existing_versions=True)
    store.set_registered_model_tag("m", "flag", "on")
    store.set_model_version_tag("m", 2, "checked", "yes")
    store.update_model_version("m", 1, "the first")
    store.update_registered_model("m", "updated")

    for version in (1, 2):
        assert store.get_model_version("m", version) == sql.get_model_version("m", version)
    model = store.get_registered_model("m")
    assert model == sql.get_registered_model("m")
    assert model.aliases == {"champion": 2, "shadow": 1}
    assert model.tags == {"team": "risk", "flag": "on"} and model.description == "updated"
    assert {(v.version, v.current_stage) for v in model.latest_versions} == {
        (1, "Archived"),
        (2, "Production"),
    }
    assert store.get_model_version_by_alias("m", "champion") == sql.get_model_version("m", 2)
    assert store.get_latest_versions("m") == sql.get_latest_versions("m")
    assert store.get_latest_versions("m", ["production"]) == sql.get_latest_versions(
        "m", ["Production"]
    )
    assert store.get_latest_versions("m", ["Staging"]) == []
    assert store.get_model_version_download_uri("m", 1) == sql.get_model_version_download_uri(
        "m", 1
    )

    store.delete_model_version_tag("m", 2, "checked")
    store.delete_registered_model_tag("m", "team")
    store.delete_registered_model_alias("m", "shadow")
    assert store.get_registered_model("m") == sql.get_registered_model("m")
    assert store.get_model_version("m", 2).tags == {}

    renamed = store.rename_registered_model("m", "m2")
    assert renamed == sql.get_registered_model("m2")
    store.delete_model_version("m2", 1)
    assert [v.version for v in store.search_model_versions("name = 'm2'")] == [2]
    store.delete_registered_model("m2")
    assert store.search_registered_models() == []


def test_errors_are_the_sql_stores(
    store: RestRegistryStore, sql: SqlRegistryStore, run: Run
) -> None:
    store.create_registered_model("m")
    store.create_model_version("m", runs_source(run))
    calls: list[tuple[str, tuple[Any, ...]]] = [
        ("create_registered_model", ("m",)),
        ("get_registered_model", ("nope",)),
        ("rename_registered_model", ("nope", "x")),
        ("update_registered_model", ("nope", "d")),
        ("delete_registered_model", ("nope",)),
        ("get_model_version", ("m", 9)),
        ("get_model_version", ("m", "abc")),
        ("get_model_version", ("nope", 1)),
        ("delete_model_version", ("m", 9)),
        ("transition_model_version_stage", ("m", 1, "bogus")),
        ("get_model_version_by_alias", ("m", "missing")),
        ("set_registered_model_alias", ("m", "latest", 1)),
        ("set_registered_model_alias", ("m", "a", 9)),
        ("set_registered_model_tag", ("m", "../k", "v")),
        ("create_model_version", ("m", "/etc/passwd")),
        ("create_model_version", ("m", "s3://bucket/x")),
        ("create_model_version", ("nope", runs_source(run))),
        ("create_model_version", ("m", "models:/m-0123456789abcdef0123456789abcdef")),
        ("search_registered_models", ("bogus filter",)),
        ("search_model_versions", ("name = 'm'", 10, None, "not-a-token")),
        ("get_model_version_lineage", ("m", 9)),
        ("get_registry_history", (None, 1)),
    ]
    for method, args in calls:
        over_http = error(getattr(store, method), *args)
        assert over_http == error(getattr(sql, method), *args), (method, args)
    # Protobuf JSON cannot tell an empty name from none: the server says it is missing.
    assert error(store.create_registered_model, "") == (
        "INVALID_PARAMETER_VALUE",
        "Missing value for required parameter 'name'.",
    )


def test_search_pages_as_the_sql_store_does(
    store: RestRegistryStore, sql: SqlRegistryStore, run: Run
) -> None:
    names = [f"model-{i}" for i in range(5)]
    for name in names:
        store.create_registered_model(name, tags={"group": "even" if name[-1] in "024" else "odd"})
        store.create_model_version(name, runs_source(run))
        store.create_model_version(name, runs_source(run))

    def pages(search: Callable[..., Any], *args: Any) -> list[list[Any]]:
        out, token = [], None
        while True:
            page = search(*args, page_token=token)
            out.append(list(page))
            token = page.token
            if not token:
                return out

    for args in (
        ("name LIKE 'model-%'", 2, ["name DESC"]),
        ("tags.group = 'even'", 1, None),
    ):
        over_http = pages(store.search_registered_models, *args)
        assert over_http == pages(sql.search_registered_models, *args)
        assert len(over_http) >= 2
    names_seen = [m.name for page in pages(store.search_registered_models, None, 2) for m in page]
    assert sorted(names_seen) == names
    for args in (("name = 'model-1'", 1, ["version_number ASC"]), ("", 3, None)):
        over_http = pages(store.search_model_versions, *args)
        assert over_http == pages(sql.search_model_versions, *args)
    assert len([v for p in pages(store.search_model_versions, None, 3) for v in p]) == 10


def test_copy_model_version(store: RestRegistryStore, sql: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("src")
    store.create_model_version("src", runs_source(run), tags={"k": "v"}, description="d")
    copy = store.copy_model_version("src", 1, "dst")
    assert copy == sql.get_model_version("dst", 1)
    assert (copy.run_id, copy.tags, copy.description) == (run.info.run_id, {"k": "v"}, "d")
    assert copy.source == "models:/src/1"
    assert store.get_model_version_download_uri("dst", 1) == store.get_model_version_download_uri(
        "src", 1
    )
    assert store.copy_model_version("src", "1", "dst").version == 2  # dst exists now


def test_history_and_lineage(store: RestRegistryStore, sql: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    store.create_model_version("m", runs_source(run))
    store.set_model_version_tag("m", 1, "k", "v")
    store.set_registered_model_alias("m", "champion", 1)
    history = store.get_registry_history("m")
    assert history == sql.get_registry_history("m")
    assert [e.event for e in history] == [
        "model_version_alias.created",
        "model_version_tag.set",
        "model_version.created",
        "registered_model.created",
    ]
    assert {e.user_id for e in history} == {current_user()}
    first = store.get_registry_history(max_results=3)
    second = store.get_registry_history(max_results=3, page_token=first.token)
    assert [*first, *second] == list(history) and second.token is None
    assert store.get_registry_history("m", 1) == sql.get_registry_history("m", 1)

    lineage = store.get_model_version_lineage("m", 1)
    assert lineage == sql.get_model_version_lineage("m", 1)
    assert (lineage.run_id, lineage.run_name) == (run.info.run_id, "source-run")


def test_a_server_that_is_not_there(tmp_path: Path) -> None:
    from cairn.store.http import HttpSettings
    from rest_server import free_port

    store = RestRegistryStore(
        f"http://127.0.0.1:{free_port()}", settings=HttpSettings(max_retries=0)
    )
    code, message = error(store.get_registered_model, "m")
    assert code == "TEMPORARILY_UNAVAILABLE" and "Could not reach" in message


class LosesFirstDeleteAnswer(httpx.HTTPTransport):
    """The real network to the server, except that the answer to the first DELETE is lost
    after the server has done it (a dropped connection, a proxy timeout)."""

    def __init__(self) -> None:
        super().__init__()
        self.deletes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "DELETE":
            self.deletes += 1
            if self.deletes == 1:
                response.read()
                response.close()
                raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def lossy_store(server: CairnServer) -> tuple[RestRegistryStore, LosesFirstDeleteAnswer]:
    from cairn.store.http import HttpSettings

    transport = LosesFirstDeleteAnswer()
    settings = HttpSettings(backoff_s=0.0)
    return RestRegistryStore(server.url, settings=settings, transport=transport), transport


def test_a_delete_that_would_fail_on_a_repeat_is_not_retried(
    server: CairnServer, store: RestRegistryStore, sql: SqlRegistryStore
) -> None:
    hook = store.create_webhook("h", "https://hooks.example.com/x", ["model_version.created"])
    lossy, transport = lossy_store(server)
    try:
        code, _ = error(lossy.delete_webhook, hook.webhook_id)
    finally:
        lossy.close()
    # Not a false RESOURCE_DOES_NOT_EXIST from a second attempt: the one DELETE did its work.
    assert code == "TEMPORARILY_UNAVAILABLE" and transport.deletes == 1
    assert error(sql.get_webhook, hook.webhook_id)[0] == "RESOURCE_DOES_NOT_EXIST"


def test_deleting_a_tag_or_alias_is_retried_since_a_repeat_is_harmless(
    server: CairnServer, store: RestRegistryStore, sql: SqlRegistryStore, run: Run
) -> None:
    store.create_registered_model("m", tags={"k": "v"})
    store.create_model_version("m", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    store.set_registered_model_alias("m", "champion", 1)
    for delete in (
        lambda s: s.delete_registered_model_tag("m", "k"),
        lambda s: s.delete_registered_model_alias("m", "champion"),
    ):
        lossy, transport = lossy_store(server)
        try:
            delete(lossy)  # the lost answer is retried, and the repeat succeeds
        finally:
            lossy.close()
        assert transport.deletes == 2
    model = sql.get_registered_model("m")
    assert (model.tags, model.aliases) == ({}, {})
