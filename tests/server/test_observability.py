"""/metrics after real requests, and an OpenAPI document that is valid and cannot drift.

The drift guard: every (method, path) the app's router serves must be described in the document,
and every field the description gives an MLflow endpoint must exist, with that type and required
flag, in MLflow's own protobuf messages (checked when an MLflow install is at hand).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.testclient import TestClient

from cairn.server.app import create_app
from cairn.server.config import ServerConfig
from cairn.server.openapi import (
    API,
    ARTIFACTS,
    ENDPOINTS,
    MESSAGES,
    app_operations,
    build_document,
    operation_key,
    parse_fields,
)
from cairn.server.routes.observability import REQUESTS, MetricsMiddleware, metrics_middleware
from cairn.version import __version__

MLFLOW_PYTHON = Path("/opt/mlflow-venv/bin/python")


@pytest.fixture
def app(tmp_path: Path) -> Starlette:
    return create_app(
        ServerConfig(
            backend_store_uri=f"sqlite:///{tmp_path}/x.db", artifacts_destination=str(tmp_path)
        )
    )


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://localhost") as test_client:
        yield test_client


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


# ---------------------------------------------------------------- /metrics


def test_metrics_count_requests_by_route_template_method_and_status(client: TestClient) -> None:
    before = samples(client)
    for _ in range(3):
        assert client.get("/version").status_code == 200
    missing = f"/no-such-{uuid.uuid4().hex}"
    assert client.get(missing).status_code == 404
    assert client.get("/version", headers={"Host": "evil.example"}).status_code == 403
    after = samples(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    total = "cairn_http_requests_total"
    assert delta(total, route="/version", method="GET", status="200") == 3
    assert delta(total, route="<unmatched>", method="GET", status="404") == 1
    assert delta(total, route="<unmatched>", method="GET", status="403") == 1  # refused hosts
    assert delta(total, route="/metrics", method="GET", status="200") == 1
    duration = "cairn_http_request_duration_seconds"
    assert delta(f"{duration}_count", route="/version", method="GET") == 3
    assert delta(f"{duration}_bucket", route="/version", method="GET", le="+Inf") == 3
    assert value(after, "cairn_http_requests_in_flight") >= 1  # the scrape itself
    build = value(after, "cairn_build_info", version=__version__, python=platform.python_version())
    assert build == 1
    text = client.get("/metrics").text
    assert missing not in text  # raw paths never become labels
    assert "process_cpu_seconds_total" in text


def test_mounted_routes_are_labelled_with_prefix_and_template() -> None:
    async def item(request: Request) -> Response:
        return PlainTextResponse(request.path_params["item_id"])

    inner = Router([Route("/items/{item_id}", item)])
    app = Starlette(routes=[Mount("/api", app=inner)], middleware=[metrics_middleware()])
    with TestClient(app) as client:
        for item_id in ("m-1", "m-2"):
            assert client.get(f"/api/items/{item_id}").text == item_id
        assert client.get("/api/other").status_code == 404
    child = REQUESTS.labels("/api/items/{item_id}", "GET", "200")
    assert child._value.get() >= 2
    labels = {metric.labels["route"] for family in REQUESTS.collect() for metric in family.samples}
    assert not any("m-1" in label for label in labels)


def test_the_openapi_document_is_served_under_the_api_prefixes_too(client: TestClient) -> None:
    root = client.get("/openapi.json").json()
    for path in (f"{API}/openapi.json", "/ajax-api/2.0/mlflow/openapi.json"):
        child = REQUESTS.labels(path, "GET", "200")
        before = child._value.get()
        assert client.get(path).json() == root
        assert child._value.get() == before + 1


def test_an_exception_in_the_app_counts_as_500() -> None:
    async def boom(scope: Any, receive: Any, send: Any) -> None:
        scope["route"] = Route("/boom", lambda request: None)
        raise RuntimeError("boom")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        pass

    child = REQUESTS.labels("/boom", "GET", "500")
    before = child._value.get()
    scope = {"type": "http", "method": "GET", "path": "/boom", "headers": []}
    with pytest.raises(RuntimeError):
        anyio.run(MetricsMiddleware(boom), scope, receive, send)
    assert child._value.get() == before + 1


_MULTIPROCESS_WORKER = """
import sys
from starlette.testclient import TestClient
from cairn.server.app import create_app
from cairn.server.config import ServerConfig
tmp = sys.argv[1]
app = create_app(ServerConfig(backend_store_uri=f"sqlite:///{tmp}/x.db", artifacts_destination=tmp))
client = TestClient(app, base_url="http://localhost")
for _ in range(int(sys.argv[2])):
    client.get("/version")
print(client.get("/metrics").text)
"""


def test_multiprocess_mode_merges_every_workers_counts(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    outputs = []
    for requests in (2, 3):  # two "workers", one after the other, sharing the directory
        result = subprocess.run(
            [sys.executable, "-c", _MULTIPROCESS_WORKER, str(tmp_path), str(requests)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    families = {f.name: f for f in text_string_to_metric_families(outputs[-1])}
    versions = [
        s.value
        for s in families["cairn_http_requests"].samples
        if s.name.endswith("_total") and s.labels.get("route") == "/version"
    ]
    assert versions == [5.0]
    assert "cairn_build_info" in families
    assert "process_cpu_seconds" not in outputs[-1]


# ---------------------------------------------------------------- OpenAPI


def test_the_full_description_is_a_valid_openapi_31_document() -> None:
    document = build_document()
    validate(document)  # type: ignore[arg-type]
    assert document["openapi"] == "3.1.0"
    operation_ids = [
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
    ]
    assert len(operation_ids) == len(set(operation_ids)) == len(ENDPOINTS)


@pytest.mark.parametrize("path", ["/openapi.json", f"{API}/openapi.json"])
def test_the_served_document_is_valid_and_describes_every_route(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    validate(document)
    described = {
        operation_key(method, p) for p, item in document["paths"].items() for method in item
    }
    served = app_operations(client.app.routes)  # type: ignore[attr-defined]
    undocumented = served - described
    assert not undocumented, f"routes missing from cairn/server/openapi.py: {sorted(undocumented)}"
    # ... and nothing is described that is not served (the aliases are served by the middleware).
    assert described - served <= {operation_key("GET", f"{API}/openapi.json")}
    assert client.get("/ajax-api/2.0/mlflow/openapi.json").json() == document


def test_the_document_shape_of_an_endpoint() -> None:
    paths = build_document()["paths"]
    log_metric = paths[f"{API}/runs/log-metric"]["post"]
    body = log_metric["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["key", "value", "timestamp"]
    assert set(body["properties"]) >= {"run_id", "run_uuid", "key", "value", "timestamp", "step"}
    assert log_metric["responses"]["default"] == {"$ref": "#/components/responses/Error"}
    get_history = paths[f"{API}/metrics/get-history"]["get"]
    assert {p["name"]: p["required"] for p in get_history["parameters"]}["metric_key"] is True
    finalize = paths[f"{API}/logged-models/{{model_id}}"]["patch"]
    assert finalize["parameters"][0] == {
        "name": "model_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    }
    upload = paths[f"{ARTIFACTS}/artifacts/{{artifact_path}}"]["put"]
    assert "application/octet-stream" in upload["requestBody"]["content"]


def test_served_operations_normalise_mounts_aliases_and_convertors() -> None:
    assert operation_key("get", "/ajax-api/2.0/mlflow-artifacts/artifacts/{p:path}") == (
        "GET",
        "/api/2.0/mlflow-artifacts/artifacts/{}",
    )


# ---------------------------------------------------------------- against MLflow's protos

_DUMP_PROTOS = r"""
import json
import os
import platform
from google.protobuf.descriptor import FieldDescriptor as F
from mlflow.protos import mlflow_artifacts_pb2, model_registry_pb2, service_pb2, webhooks_pb2
SCALARS = {F.TYPE_STRING: "string", F.TYPE_INT64: "int64", F.TYPE_INT32: "int32",
           F.TYPE_DOUBLE: "double", F.TYPE_BOOL: "bool"}
def kind(f):
    if f.type == F.TYPE_MESSAGE:
        return "map" if f.message_type.GetOptions().map_entry else "message:" + f.message_type.name
    if f.type == F.TYPE_ENUM:
        return f.enum_type.name
    return SCALARS.get(f.type, str(f.type))
def fields(m):
    out = {}
    for f in m.fields:
        required = any(o.name == "validate_required" and v for o, v in f.GetOptions().ListFields())
        repeated = f.is_repeated and not (f.message_type and f.message_type.GetOptions().map_entry)
        out[f.name] = [kind(f), repeated, required]
    return out
endpoints, messages = {}, {}
for module in (service_pb2, mlflow_artifacts_pb2, model_registry_pb2, webhooks_pb2):
    prefix = "/api/2.0"
    for service in module.DESCRIPTOR.services_by_name.values():
        for method in service.methods:
            rpc = [v for o, v in method.GetOptions().ListFields() if o.name == "rpc"]
            response = method.input_type.nested_types_by_name.get("Response")
            for endpoint in rpc[0].endpoints if rpc else ():
                if endpoint.since.major != 2:
                    continue
                path = prefix + endpoint.path.replace("<path:", "{").replace("<", "{")
                path = path.replace(">", "}")
                endpoints[endpoint.method + " " + path] = [
                    fields(method.input_type), fields(response) if response else {}]
    for message in module.DESCRIPTOR.message_types_by_name.values():
        messages[message.name] = fields(message)
print(json.dumps({"endpoints": endpoints, "messages": messages}))
"""


@pytest.fixture(scope="module")
def mlflow_protos() -> dict[str, Any]:
    if not MLFLOW_PYTHON.exists():
        pytest.skip(f"no MLflow install at {MLFLOW_PYTHON} to compare against")
    result = subprocess.run(
        [str(MLFLOW_PYTHON), "-c", _DUMP_PROTOS], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _assert_fields_match(ours: str, theirs: dict[str, list[Any]], where: str) -> None:
    for field in parse_fields(ours):
        assert field.name in theirs, f"{where}: MLflow has no field {field.name!r}"
        kind, repeated, required = theirs[field.name]
        if kind.startswith("message:"):
            assert field.type in MESSAGES, f"{where}.{field.name}: MLflow's is a message"
        else:
            assert field.type == kind, f"{where}.{field.name}: {field.type} vs MLflow's {kind}"
        assert field.repeated == repeated, f"{where}.{field.name}: repeated?"
        assert field.required == required, f"{where}.{field.name}: required?"


def test_endpoints_match_mlflows_protos(mlflow_protos: dict[str, Any]) -> None:
    endpoints = mlflow_protos["endpoints"]
    checked = 0
    for endpoint in ENDPOINTS:
        key = f"{endpoint.method} {endpoint.path}"
        if key not in endpoints:
            continue
        request, response = endpoints[key]
        _assert_fields_match(endpoint.request, request, f"{key} request")
        if endpoint.produces == "application/json":
            _assert_fields_match(endpoint.response, response, f"{key} response")
        checked += 1
    assert checked >= 40  # every tracking, logged-model and artifact-proxy endpoint of MLflow's


def test_messages_match_mlflows_protos(mlflow_protos: dict[str, Any]) -> None:
    renamed = {"LoggedModelDatasetFilter", "LoggedModelOrderBy"}  # nested messages in MLflow
    for name, spec in MESSAGES.items():
        if name in renamed:
            continue
        assert name in mlflow_protos["messages"], name
        _assert_fields_match(spec, mlflow_protos["messages"][name], name)
