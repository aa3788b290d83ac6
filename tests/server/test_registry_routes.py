"""MLflow's registry endpoints and cairn's registry reads over HTTP, through the real ASGI app:
MLflow's exact JSON, MLflow's error JSON and status for every refusal, the declared user."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cairn.server.app import create_app
from cairn.server.config import ServerConfig

API = "/api/2.0/mlflow"
RM, MV = f"{API}/registered-models", f"{API}/model-versions"
CAIRN = "/api/2.0/cairn/registry"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    config = ServerConfig(
        backend_store_uri=f"sqlite:///{tmp_path}/server.db",
        artifacts_destination=str(tmp_path / "destination"),
    )
    with TestClient(create_app(config), base_url="http://localhost") as test_client:
        yield test_client


@pytest.fixture
def run(client: TestClient) -> Any:
    store = client.app.state.context.tracking  # type: ignore[attr-defined]
    return store.create_run("0", "alice", None, {}, "r")


def call(
    client: TestClient,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """GETs carry ``body`` as the query string (lists as repeated keys), as MLflow's client
    sends them; other methods as JSON, DELETE included."""
    if method == "GET":
        response = client.request(method, path, params=body, headers=headers)
    else:
        response = client.request(method, path, json=body, headers=headers)
    return response.status_code, response.json()


def ok(client: TestClient, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    status, out = call(client, method, path, body, **kw)
    assert status == 200, out
    return out


def register(client: TestClient, name: str, run_id: str, **body: Any) -> dict[str, Any]:
    source = body.pop("source", f"runs:/{run_id}/model")
    out = ok(client, "POST", f"{MV}/create", {"name": name, "source": source, **body})
    return out["model_version"]  # type: ignore[no-any-return]


def assert_error(status: int, out: Any, http: int, code: str, text: str = "") -> None:
    assert (status, set(out)) == (http, {"error_code", "message"}), out
    assert out["error_code"] == code, out
    assert text in out["message"], out


# ---------------------------------------------------------------- exact JSON


def test_registered_model_lifecycle_in_mlflows_json(client: TestClient) -> None:
    created = ok(
        client,
        "POST",
        f"{RM}/create",
        {"name": "fraud", "tags": [{"key": "team", "value": "risk"}], "description": "d"},
    )["registered_model"]
    t0 = created["creation_timestamp"]
    assert created == {
        "name": "fraud",
        "creation_timestamp": t0,
        "last_updated_timestamp": t0,
        "user_id": "anonymous",
        "description": "d",
        "tags": [{"key": "team", "value": "risk"}],
    }
    assert ok(client, "GET", f"{RM}/get", {"name": "fraud"}) == {"registered_model": created}

    updated = ok(client, "PATCH", f"{RM}/update", {"name": "fraud", "description": "new"})
    assert updated["registered_model"]["description"] == "new"
    renamed = ok(client, "POST", f"{RM}/rename", {"name": "fraud", "new_name": "fraud2"})
    assert renamed["registered_model"]["name"] == "fraud2"
    status, out = call(client, "GET", f"{RM}/get", {"name": "fraud"})
    assert_error(status, out, 404, "RESOURCE_DOES_NOT_EXIST", "fraud")

    assert ok(client, "DELETE", f"{RM}/delete", {"name": "fraud2"}) == {}
    status, out = call(client, "DELETE", f"{RM}/delete", {"name": "fraud2"})
    assert_error(status, out, 404, "RESOURCE_DOES_NOT_EXIST")
    assert ok(client, "GET", f"{RM}/search") == {}  # empty lists are left out


def test_model_version_json_versions_as_strings_and_empty_strings_written(
    client: TestClient, run: Any
) -> None:
    ok(client, "POST", f"{RM}/create", {"name": "m"})
    version = register(client, "m", run.info.run_id)
    t = version["creation_timestamp"]
    assert version == {
        "name": "m",
        "version": "1",
        "creation_timestamp": t,
        "last_updated_timestamp": t,
        "user_id": "anonymous",
        "current_stage": "None",
        "description": "",
        "source": f"runs:/{run.info.run_id}/model",
        "run_id": run.info.run_id,
        "status": "READY",
        "run_link": "",
    }
    second = register(
        client,
        "m",
        run.info.run_id,
        description="v2",
        run_link="http://ci/7",
        tags=[{"key": "k", "value": "v"}],
    )
    assert second["version"] == "2"
    assert (second["description"], second["run_link"]) == ("v2", "http://ci/7")
    assert second["tags"] == [{"key": "k", "value": "v"}]
    got = ok(client, "GET", f"{MV}/get", {"name": "m", "version": "2"})["model_version"]
    assert got == second
    uri = ok(client, "GET", f"{MV}/get-download-uri", {"name": "m", "version": "1"})
    assert uri == {"artifact_uri": f"{run.info.artifact_uri}/model"}

    updated = ok(client, "PATCH", f"{MV}/update", {"name": "m", "version": "1", "description": "x"})
    assert updated["model_version"]["description"] == "x"
    assert ok(client, "DELETE", f"{MV}/delete", {"name": "m", "version": "1"}) == {}
    status, out = call(client, "GET", f"{MV}/get", {"name": "m", "version": "1"})
    assert_error(status, out, 404, "RESOURCE_DOES_NOT_EXIST", "version=1")


def test_aliases(client: TestClient, run: Any) -> None:
    ok(client, "POST", f"{RM}/create", {"name": "m"})
    register(client, "m", run.info.run_id)
    register(client, "m", run.info.run_id)
    assert ok(client, "POST", f"{RM}/alias", {"name": "m", "alias": "champ", "version": "2"}) == {}
    by_alias = ok(client, "GET", f"{RM}/alias", {"name": "m", "alias": "champ"})["model_version"]
    assert (by_alias["version"], by_alias["aliases"]) == ("2", ["champ"])
    model = ok(client, "GET", f"{RM}/get", {"name": "m"})["registered_model"]
    assert model["aliases"] == [{"alias": "champ", "version": "2"}]
    # Moving an alias.
    ok(client, "POST", f"{RM}/alias", {"name": "m", "alias": "champ", "version": "1"})
    assert (
        ok(client, "GET", f"{RM}/alias", {"name": "m", "alias": "champ"})["model_version"][
            "version"
        ]
        == "1"
    )
    assert ok(client, "DELETE", f"{RM}/alias", {"name": "m", "alias": "champ"}) == {}
    status, out = call(client, "GET", f"{RM}/alias", {"name": "m", "alias": "champ"})
    assert_error(status, out, 400, "INVALID_PARAMETER_VALUE", "champ")
    model = ok(client, "GET", f"{RM}/get", {"name": "m"})["registered_model"]
    assert "aliases" not in model
    for alias in ("latest", "v3", "bad alias"):
        status, out = call(
            client, "POST", f"{RM}/alias", {"name": "m", "alias": alias, "version": "1"}
        )
        assert_error(status, out, 400, "INVALID_PARAMETER_VALUE")
    status, out = call(client, "POST", f"{RM}/alias", {"name": "m", "alias": "a", "version": "9"})
    assert_error(status, out, 404, "RESOURCE_DOES_NOT_EXIST")


def test_stages_and_latest_versions(client: TestClient, run: Any) -> None:
    ok(client, "POST", f"{RM}/create", {"name": "m"})
    for _ in range(3):
        register(client, "m", run.info.run_id)
    moved = ok(
        client,
        "POST",
        f"{MV}/transition-stage",
        {"name": "m", "version": "1", "stage": "production"},
    )["model_version"]
    assert moved["current_stage"] == "Production"
    ok(
        client,
        "POST",
        f"{MV}/transition-stage",
        {"name": "m", "version": "2", "stage": "Production", "archive_existing_versions": True},
    )
    stage = ok(client, "GET", f"{MV}/get", {"name": "m", "version": "1"})["model_version"]
    assert stage["current_stage"] == "Archived"

    latest = ok(client, "POST", f"{RM}/get-latest-versions", {"name": "m"})["model_versions"]
    assert {(v["version"], v["current_stage"]) for v in latest} == {
        ("1", "Archived"),
        ("2", "Production"),
        ("3", "None"),
    }
    by_post = ok(
        client, "POST", f"{RM}/get-latest-versions", {"name": "m", "stages": ["production"]}
    )
    assert [v["version"] for v in by_post["model_versions"]] == ["2"]
    by_get = ok(
        client, "GET", f"{RM}/get-latest-versions", {"name": "m", "stages": ["None", "Archived"]}
    )
    assert sorted(v["version"] for v in by_get["model_versions"]) == ["1", "3"]
    assert ok(client, "GET", f"{RM}/get-latest-versions", {"name": "m", "stages": "Staging"}) == {}
    model = ok(client, "GET", f"{RM}/get", {"name": "m"})["registered_model"]
    assert {v["version"] for v in model["latest_versions"]} == {"1", "2", "3"}

    status, out = call(
        client, "POST", f"{MV}/transition-stage", {"name": "m", "version": "1", "stage": "bogus"}
    )
    assert_error(status, out, 400, "INVALID_PARAMETER_VALUE", "bogus")


def test_tags(client: TestClient, run: Any) -> None:
    ok(client, "POST", f"{RM}/create", {"name": "m"})
    register(client, "m", run.info.run_id)
    assert ok(client, "POST", f"{RM}/set-tag", {"name": "m", "key": "a", "value": "1"}) == {}
    assert (
        ok(client, "POST", f"{MV}/set-tag", {"name": "m", "version": "1", "key": "b", "value": "2"})
        == {}
    )
    model = ok(client, "GET", f"{RM}/get", {"name": "m"})["registered_model"]
    version = ok(client, "GET", f"{MV}/get", {"name": "m", "version": "1"})["model_version"]
    assert model["tags"] == [{"key": "a", "value": "1"}]
    assert version["tags"] == [{"key": "b", "value": "2"}]
    assert ok(client, "DELETE", f"{RM}/delete-tag", {"name": "m", "key": "a"}) == {}
    assert ok(client, "DELETE", f"{MV}/delete-tag", {"name": "m", "version": "1", "key": "b"}) == {}
    assert "tags" not in ok(client, "GET", f"{RM}/get", {"name": "m"})["registered_model"]
    got = ok(client, "GET", f"{MV}/get", {"name": "m", "version": "1"})["model_version"]
    assert "tags" not in got
    status, out = call(client, "POST", f"{RM}/set-tag", {"name": "m", "key": "../x", "value": "1"})
    assert_error(status, out, 400, "INVALID_PARAMETER_VALUE")


def test_search_filters_and_pages(client: TestClient, run: Any) -> None:
    names = [f"model-{i}" for i in range(5)]
    for name in names:
        ok(client, "POST", f"{RM}/create", {"name": name})
        register(client, name, run.info.run_id)
    ok(client, "POST", f"{RM}/create", {"name": "other"})

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        query: dict[str, Any] = {"max_results": 2, "filter": "name LIKE 'model-%'"}
        query["order_by"] = ["name DESC"]
        if token:
            query["page_token"] = token
        page = ok(client, "GET", f"{RM}/search", query)
        seen += [m["name"] for m in page.get("registered_models", [])]
        pages += 1
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == sorted(names, reverse=True) and pages >= 3

    versions = ok(client, "GET", f"{MV}/search", {"filter": "name = 'model-3'"})
    assert [(v["name"], v["version"]) for v in versions["model_versions"]] == [("model-3", "1")]
    first = ok(client, "GET", f"{MV}/search", {"max_results": "2"})
    assert len(first["model_versions"]) == 2 and first["next_page_token"]

    for path in (f"{RM}/search", f"{MV}/search"):
        status, out = call(client, "GET", path, {"filter": "bogus"})
        assert_error(status, out, 400, "INVALID_PARAMETER_VALUE")
        status, out = call(client, "GET", path, {"page_token": "bogus"})
        assert_error(status, out, 400, "INVALID_PARAMETER_VALUE")
        status, out = call(client, "GET", path, {"max_results": "many"})
        assert_error(status, out, 400, "INVALID_PARAMETER_VALUE")


def test_the_ajax_prefix_serves_the_same_api(client: TestClient) -> None:
    ok(client, "POST", "/ajax-api/2.0/mlflow/registered-models/create", {"name": "m"})
    got = ok(client, "GET", f"{RM}/get", {"name": "m"})
    assert ok(client, "GET", "/ajax-api/2.0/mlflow/registered-models/get", {"name": "m"}) == got


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("method", "path", "body", "missing"),
    [
        ("POST", f"{RM}/create", {}, "name"),
        ("POST", f"{RM}/create", {"name": ""}, "name"),
        ("GET", f"{RM}/get", {}, "name"),
        ("POST", f"{RM}/rename", {"name": "m"}, "new_name"),
        ("PATCH", f"{RM}/update", {}, "name"),
        ("DELETE", f"{RM}/delete", {}, "name"),
        ("POST", f"{RM}/get-latest-versions", {}, "name"),
        ("POST", f"{RM}/set-tag", {"name": "m"}, "key"),
        ("DELETE", f"{RM}/delete-tag", {"name": "m"}, "key"),
        ("POST", f"{RM}/alias", {"name": "m", "alias": "a"}, "version"),
        ("DELETE", f"{RM}/alias", {"name": "m"}, "alias"),
        ("GET", f"{RM}/alias", {"name": "m"}, "alias"),
        ("POST", f"{MV}/create", {"name": "m"}, "source"),
        ("POST", f"{MV}/create", {"name": "m", "source": ""}, "source"),
        ("GET", f"{MV}/get", {"name": "m"}, "version"),
        ("PATCH", f"{MV}/update", {"name": "m"}, "version"),
        ("POST", f"{MV}/transition-stage", {"name": "m", "version": "1"}, "stage"),
        ("DELETE", f"{MV}/delete", {"version": "1"}, "name"),
        ("GET", f"{MV}/get-download-uri", {"name": "m", "version": ""}, "version"),
        ("POST", f"{MV}/set-tag", {"name": "m", "version": "1"}, "key"),
        ("DELETE", f"{MV}/delete-tag", {"name": "m", "version": "1"}, "key"),
        ("GET", f"{CAIRN}/lineage", {"name": "m"}, "version"),
    ],
)
def test_missing_required_fields(
    client: TestClient, method: str, path: str, body: dict[str, Any], missing: str
) -> None:
    status, out = call(client, method, path, body)
    assert_error(status, out, 400, "INVALID_PARAMETER_VALUE")
    assert out["message"] == f"Missing value for required parameter '{missing}'."


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"{RM}/create", {"name": 5}),
        ("POST", f"{RM}/create", {"name": "m", "tags": "x"}),
        ("POST", f"{RM}/create", {"name": "m", "tags": [{"key": 1, "value": "v"}]}),
        ("POST", f"{RM}/create", {"name": "m", "description": ["d"]}),
        ("POST", f"{RM}/rename", {"name": "m", "new_name": {}}),
        ("POST", f"{RM}/alias", {"name": "m", "alias": "a", "version": 1}),
        ("POST", f"{RM}/get-latest-versions", {"name": "m", "stages": "Production"}),
        ("POST", f"{MV}/create", {"name": "m", "source": "s", "run_id": 7}),
        (
            "POST",
            f"{MV}/transition-stage",
            {
                "name": "m",
                "version": "1",
                "stage": "Staging",
                "archive_existing_versions": "perhaps",
            },
        ),
        ("DELETE", f"{MV}/delete", {"name": "m", "version": 1.5}),
        ("POST", f"{MV}/set-tag", {"name": "m", "version": "1", "key": "k", "value": 3}),
        ("GET", f"{CAIRN}/history", {"max_results": "ten"}),
    ],
)
def test_wrong_json_types(client: TestClient, method: str, path: str, body: Any) -> None:
    status, out = call(client, method, path, body)
    assert_error(status, out, 400, "INVALID_PARAMETER_VALUE")


def test_malformed_bodies(client: TestClient) -> None:
    for content in (b"{not json", b"[1, 2]"):
        response = client.post(f"{RM}/create", content=content)
        assert_error(response.status_code, response.json(), 400, "BAD_REQUEST")
    response = client.get(f"{RM}/create")
    assert_error(response.status_code, response.json(), 405, "BAD_REQUEST")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"{RM}/get", {"name": "nope"}),
        ("PATCH", f"{RM}/update", {"name": "nope", "description": "d"}),
        ("POST", f"{RM}/rename", {"name": "nope", "new_name": "n"}),
        ("DELETE", f"{RM}/delete", {"name": "nope"}),
        ("POST", f"{RM}/get-latest-versions", {"name": "nope"}),
        ("POST", f"{RM}/set-tag", {"name": "nope", "key": "k", "value": "v"}),
        ("POST", f"{RM}/alias", {"name": "nope", "alias": "a", "version": "1"}),
        ("POST", f"{MV}/create", {"name": "nope", "source": "models:/nope/1"}),
        ("GET", f"{MV}/get", {"name": "m", "version": "9"}),
        ("GET", f"{MV}/get", {"name": "nope", "version": "1"}),
        ("PATCH", f"{MV}/update", {"name": "m", "version": "9", "description": "d"}),
        ("POST", f"{MV}/transition-stage", {"name": "m", "version": "9", "stage": "Staging"}),
        ("DELETE", f"{MV}/delete", {"name": "m", "version": "9"}),
        ("GET", f"{MV}/get-download-uri", {"name": "m", "version": "9"}),
        ("POST", f"{MV}/set-tag", {"name": "m", "version": "9", "key": "k", "value": "v"}),
        ("GET", f"{CAIRN}/lineage", {"name": "m", "version": "9"}),
    ],
)
def test_unknown_models_and_versions_are_404(
    client: TestClient, method: str, path: str, body: dict[str, Any]
) -> None:
    ok(client, "POST", f"{RM}/create", {"name": "m"})
    status, out = call(client, method, path, body)
    assert_error(status, out, 404, "RESOURCE_DOES_NOT_EXIST")


def test_duplicates_and_bad_values(client: TestClient) -> None:
    ok(client, "POST", f"{RM}/create", {"name": "m"})
    status, out = call(client, "POST", f"{RM}/create", {"name": "m"})
    assert_error(status, out, 400, "RESOURCE_ALREADY_EXISTS", "m")
    ok(client, "POST", f"{RM}/create", {"name": "n"})
    status, out = call(client, "POST", f"{RM}/rename", {"name": "n", "new_name": "m"})
    assert_error(status, out, 400, "RESOURCE_ALREADY_EXISTS")
    status, out = call(client, "GET", f"{MV}/get", {"name": "m", "version": "abc"})
    assert_error(status, out, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    "source",
    [
        "/etc/passwd",
        "file:///etc/passwd",
        "s3://bucket/anything",
        "{root}/../../other-run/artifacts",
        "{root}-sibling/model",
        "{root}/%2e%2e/x",
        "runs:/{run_id}/../../../etc",
        "models:/m-unknown",
        "",
    ],
)
def test_sources_that_point_outside_what_the_run_owns_are_refused(
    client: TestClient, run: Any, source: str
) -> None:
    ok(client, "POST", f"{RM}/create", {"name": "m"})
    source = source.format(root=run.info.artifact_uri, run_id=run.info.run_id)
    body = {"name": "m", "source": source, "run_id": run.info.run_id}
    status, out = call(client, "POST", f"{MV}/create", body)
    assert status in (400, 404), out
    assert out["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"), out
    assert "model_versions" not in ok(client, "GET", f"{MV}/search")  # nothing registered


def test_a_source_inside_the_runs_artifacts_is_accepted(client: TestClient, run: Any) -> None:
    ok(client, "POST", f"{RM}/create", {"name": "m"})
    source = f"{run.info.artifact_uri}/models/clf"
    body = {"name": "m", "source": source, "run_id": run.info.run_id}
    version = ok(client, "POST", f"{MV}/create", body)["model_version"]
    assert version["source"] == source
    uri = ok(client, "GET", f"{MV}/get-download-uri", {"name": "m", "version": "1"})
    assert uri["artifact_uri"] == source


# ---------------------------------------------------------------- who, history, lineage


def basic(user: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:secret".encode()).decode()


def test_the_declared_user_is_recorded(client: TestClient, run: Any) -> None:
    ok(client, "POST", f"{RM}/create", {"name": "m"}, headers={"X-Cairn-User": "al%C3%AFce"})
    v1 = register(client, "m", run.info.run_id)
    ok(
        client,
        "POST",
        f"{RM}/set-tag",
        {"name": "m", "key": "k", "value": "v"},
        headers={"X-Cairn-User": "carol", "Authorization": basic("bob")},
    )
    ok(
        client,
        "POST",
        f"{RM}/set-tag",
        {"name": "m", "key": "k", "value": "w"},
        headers={"Authorization": "Bearer token-without-a-user", "X-Cairn-User": "dan"},
    )
    assert ok(client, "GET", f"{RM}/get", {"name": "m"})["registered_model"]["user_id"] == "alïce"
    assert v1["user_id"] == "anonymous"
    events = ok(client, "GET", f"{CAIRN}/history", {"name": "m"})["events"]
    assert [(e["event"], e["user_id"]) for e in events] == [
        ("registered_model_tag.set", "dan"),
        ("registered_model_tag.set", "bob"),
        ("model_version.created", "anonymous"),
        ("registered_model.created", "alïce"),
    ]
    status, out = call(
        client, "POST", f"{RM}/create", {"name": "x"}, headers={"X-Cairn-User": "u" * 257}
    )
    assert_error(status, out, 400, "INVALID_PARAMETER_VALUE", "257")


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Cairn-User": "a%0Ab"},  # a newline would forge a line of the audit trail
        {"X-Cairn-User": "a%00b"},
        {"X-Cairn-User": "%ff"},  # not UTF-8: no U+FFFD stand-in is recorded
        {"X-Cairn-User": "al%C3"},  # a truncated UTF-8 sequence
        {"Authorization": basic("bo\x1bb")},
        {"Authorization": basic("bo\u2028b")},
    ],
)
def test_a_declared_user_with_control_characters_or_bad_utf8_is_refused(
    client: TestClient, headers: dict[str, str]
) -> None:
    status, out = call(client, "POST", f"{RM}/create", {"name": "m"}, headers=headers)
    assert_error(status, out, 400, "INVALID_PARAMETER_VALUE", "user")
    status, out = call(client, "GET", f"{RM}/get", {"name": "m"})
    assert_error(status, out, 404, "RESOURCE_DOES_NOT_EXIST")


def test_the_user_header_is_ignored_when_the_server_does_not_trust_it(tmp_path: Path) -> None:
    config = ServerConfig(
        backend_store_uri=f"sqlite:///{tmp_path}/server.db",
        artifacts_destination=str(tmp_path / "destination"),
        trust_user_header=False,
    )
    with TestClient(create_app(config), base_url="http://localhost") as untrusting:
        ok(untrusting, "POST", f"{RM}/create", {"name": "m"}, headers={"X-Cairn-User": "eve"})
        ok(
            untrusting,
            "POST",
            f"{RM}/set-tag",
            {"name": "m", "key": "k", "value": "v"},
            headers={"X-Cairn-User": "eve", "Authorization": basic("bob")},
        )
        events = ok(untrusting, "GET", f"{CAIRN}/history", {"name": "m"})["events"]
    assert [(e["event"], e["user_id"]) for e in events] == [
        ("registered_model_tag.set", "bob"),
        ("registered_model.created", "anonymous"),
    ]


def test_cairn_server_reads_the_trust_setting_from_its_environment(
    cairn_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    monkeypatch.setenv("CAIRN_SERVER_TRUST_USER_HEADER", "false")
    server = cairn_server()
    with httpx.Client(base_url=server.url) as http:
        created = http.post(f"{RM}/create", json={"name": "m"}, headers={"X-Cairn-User": "eve"})
        assert created.status_code == 200, created.text
        assert created.json()["registered_model"]["user_id"] == "anonymous"


def test_history_shape_filters_and_pages(client: TestClient, run: Any) -> None:
    ok(client, "POST", f"{RM}/create", {"name": "m"})
    register(client, "m", run.info.run_id)
    register(client, "m", run.info.run_id)
    ok(client, "POST", f"{MV}/set-tag", {"name": "m", "version": "2", "key": "k", "value": "v"})
    events = ok(client, "GET", f"{CAIRN}/history", {"name": "m", "version": "2"})["events"]
    assert [e["event"] for e in events] == ["model_version_tag.set", "model_version.created"]
    tag_set = events[0]
    assert set(tag_set) == {
        "event_id",
        "timestamp",
        "user_id",
        "event",
        "name",
        "version",
        "before",
        "after",
    }
    assert (tag_set["name"], tag_set["version"]) == ("m", 2)

    everything: list[int] = []
    token = None
    while True:
        query: dict[str, Any] = {"max_results": 2}
        if token:
            query["page_token"] = token
        page = ok(client, "GET", "/ajax-api/2.0/cairn/registry/history", query)
        everything += [e["event_id"] for e in page["events"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert len(everything) == 4 and everything == sorted(everything, reverse=True)
    status, out = call(client, "GET", f"{CAIRN}/history", {"version": "1"})
    assert_error(status, out, 400, "INVALID_PARAMETER_VALUE")
    status, out = call(client, "GET", f"{CAIRN}/history", {"page_token": "nope"})
    assert_error(status, out, 400, "INVALID_PARAMETER_VALUE")


def test_lineage(client: TestClient, run: Any) -> None:
    ok(client, "POST", f"{RM}/create", {"name": "m"})
    register(client, "m", run.info.run_id)
    lineage = ok(client, "GET", f"{CAIRN}/lineage", {"name": "m", "version": "1"})["lineage"]
    assert lineage["name"] == "m" and lineage["version"] == 1
    assert lineage["run_id"] == run.info.run_id
    assert lineage["run_name"] == "r" and lineage["experiment_id"] == "0"
    assert lineage["source"] == f"runs:/{run.info.run_id}/model"


# ---------------------------------------------------------------- copy-version


def test_copy_version_creates_the_target_and_copies_the_version(
    client: TestClient, run: Any
) -> None:
    ok(client, "POST", f"{RM}/create", {"name": "staging.m"})
    src = register(
        client,
        "staging.m",
        run.info.run_id,
        tags=[{"key": "k", "value": "v"}],
        description="the one",
    )
    body = {"name": "staging.m", "version": "1", "dst_name": "prod.m"}
    copy = ok(client, "POST", f"{CAIRN}/copy-version", body)["model_version"]
    assert (copy["name"], copy["version"]) == ("prod.m", "1")
    assert copy["source"] == "models:/staging.m/1"
    assert copy["run_id"] == src["run_id"] == run.info.run_id
    assert copy["tags"] == [{"key": "k", "value": "v"}]
    assert copy["description"] == "the one"
    stored = ok(client, "GET", f"{MV}/get", {"name": "prod.m", "version": "1"})["model_version"]
    assert stored == copy
    # The ajax prefix serves it too, and a second copy into the existing target is version 2.
    again = ok(client, "POST", "/ajax-api/2.0/cairn/registry/copy-version", body)["model_version"]
    assert (again["name"], again["version"]) == ("prod.m", "2")


def test_copy_version_of_an_unknown_source_is_404(client: TestClient) -> None:
    body = {"name": "nope", "version": "1", "dst_name": "prod.m"}
    status, out = call(client, "POST", f"{CAIRN}/copy-version", body)
    assert_error(status, out, 404, "RESOURCE_DOES_NOT_EXIST")
    status, out = call(client, "GET", f"{RM}/get", {"name": "prod.m"})
    assert_error(status, out, 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize("dst_name", ["", "a/b", "x" * 300])
def test_copy_version_into_a_bad_name_is_400(client: TestClient, run: Any, dst_name: str) -> None:
    ok(client, "POST", f"{RM}/create", {"name": "m"})
    register(client, "m", run.info.run_id)
    body = {"name": "m", "version": "1", "dst_name": dst_name}
    status, out = call(client, "POST", f"{CAIRN}/copy-version", body)
    assert_error(status, out, 400, "INVALID_PARAMETER_VALUE", "dst_name")
    names = ok(client, "GET", f"{RM}/search")
    assert [m["name"] for m in names.get("registered_models", [])] == ["m"]
