"""Host allow list (DNS rebinding), CORS / cross-origin refusal (CSRF) and security headers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from cairn.server.app import create_app
from cairn.server.config import ServerConfig
from cairn.server.middleware import HostPolicy, SecurityMiddleware, normalize_origin, split_host

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


# ---------------------------------------------------------------- Host policy


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("localhost", ("localhost", None)),
        ("LocalHost:5000", ("localhost", "5000")),
        ("example.com.", ("example.com", None)),
        ("[::1]:8080", ("::1", "8080")),
        ("[::1]", ("::1", None)),
        ("::1", ("::1", None)),
        ("10.0.0.1:80", ("10.0.0.1", "80")),
    ],
)
def test_split_host(value: str, expected: tuple[str, str | None]) -> None:
    assert split_host(value) == expected


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:5000",
        "LOCALHOST:5000",
        "localhost.",
        "127.0.0.1",
        "127.0.0.1:5000",
        "127.1.2.3",
        "[::1]",
        "[::1]:5000",
        "::1",
        "10.1.2.3:5000",
        "172.16.0.1",
        "172.31.255.255:80",
        "192.168.1.20:5000",
        "169.254.169.1",
        "[fd12:3456::1]:5000",
        "[fe80::1]",
        "[::ffff:127.0.0.1]",
        socket.gethostname(),
        f"{socket.gethostname()}:5000",
    ],
)
def test_default_policy_allows_loopback_private_and_own_name(host: str) -> None:
    assert HostPolicy(None).allows(host)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:5000",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "172.32.0.1",
        "8.8.8.8",
        "[2001:db8::1]:5000",
        "[::ffff:8.8.8.8]",
        "",
    ],
)
def test_default_policy_refuses_public_names_and_addresses(host: str) -> None:
    assert not HostPolicy(None).allows(host)


def test_an_empty_list_means_the_defaults() -> None:
    assert HostPolicy(()).allows("localhost:5000")
    assert not HostPolicy(()).allows("evil.example")


CUSTOM = ("mlflow.example.com", "api.example.com:8443", "*.corp.example", "10.1.0.0/16", "[::1]")


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("mlflow.example.com", True),
        ("MLflow.Example.com:5000", True),  # no port in the entry: any port
        ("api.example.com:8443", True),
        ("api.example.com:80", False),  # a port in the entry: only that port
        ("api.example.com", False),
        ("a.corp.example", True),
        ("a.b.corp.example:5000", True),
        ("corp.example", False),  # the wildcard is for subdomains
        ("evilcorp.example", False),
        ("10.1.200.3", True),
        ("10.2.0.1", False),
        ("[::1]:5000", True),
        ("localhost", False),  # a list replaces the defaults
        ("192.168.0.1", False),
    ],
)
def test_custom_policy(host: str, allowed: bool) -> None:
    assert HostPolicy(CUSTOM).allows(host) is allowed


def test_star_allows_every_host() -> None:
    policy = HostPolicy(("*",))
    assert policy.allows("anything.example:1234")
    assert policy.allows("")


def test_allowed_hosts_are_cached_but_refused_ones_are_not() -> None:
    policy = HostPolicy(None)
    for _ in range(3):
        assert policy.allows("localhost:5000")
        assert not policy.allows("evil.example")
    assert policy._allowed_cache == {"localhost:5000"}


@pytest.mark.parametrize(
    ("origin", "normal"),
    [
        ("http://UI.example:80/", "http://ui.example"),
        ("https://ui.example:443", "https://ui.example"),
        ("https://ui.example:8443", "https://ui.example:8443"),
        ("null", "null"),
    ],
)
def test_normalize_origin(origin: str, normal: str) -> None:
    assert normalize_origin(origin) == normal


# ---------------------------------------------------------------- a stub app under the middleware


def stub_app(tmp_path: Path, **options: Any) -> Starlette:
    """Routes that record being reached, so a refusal is proven to stop before the handler."""
    reached: list[str] = []
    (tmp_path / "model.bin").write_bytes(b"\x00" * 1000)

    async def echo(request: Request) -> Response:
        reached.append(request.method)
        return PlainTextResponse("reached")

    async def file(request: Request) -> Response:
        return FileResponse(tmp_path / "model.bin")

    async def stream(request: Request) -> Response:
        async def chunks() -> Any:
            yield b"a"
            yield b"b"

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def framed(request: Request) -> Response:
        return PlainTextResponse("x", headers={"X-Frame-Options": "DENY"})

    app = Starlette(
        routes=[
            Route("/echo", echo, methods=ALL_METHODS),
            Route("/file", file),
            Route("/stream", stream),
            Route("/framed", framed),
            Route("/health", echo),
        ],
        middleware=[Middleware(SecurityMiddleware, **options)],
    )
    app.state.reached = reached
    return app


def client_for(app: Starlette, host: str = "localhost") -> TestClient:
    return TestClient(app, base_url=f"http://{host}")


def assert_denied(response: Any, fragment: str) -> None:
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error_code"] == "PERMISSION_DENIED"
    assert fragment in body["message"]
    assert_security_headers(response)


def assert_security_headers(response: Any) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"


def test_a_foreign_host_is_refused_before_the_handler(tmp_path: Path) -> None:
    app = stub_app(tmp_path)
    response = client_for(app, "evil.example:5000").post("/echo")
    assert_denied(response, "Invalid Host header 'evil.example:5000'")
    assert app.state.reached == []


def test_health_is_exempt_from_the_host_check(tmp_path: Path) -> None:
    app = stub_app(tmp_path, allowed_hosts=("mlflow.example.com",))
    assert client_for(app, "10.9.8.7:5000").get("/health").status_code == 200
    assert client_for(app, "10.9.8.7:5000").get("/echo").status_code == 403
    assert client_for(app, "mlflow.example.com").get("/echo").status_code == 200


def _raw_get(app: Starlette, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One request straight through ASGI, so the Host header can be left out entirely."""
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.0",
        "method": "GET",
        "scheme": "http",
        "path": "/echo",
        "raw_path": b"/echo",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 5000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


def test_a_request_without_host_is_refused(tmp_path: Path) -> None:
    status, body = _raw_get(stub_app(tmp_path), [])
    assert status == 403
    assert b"Invalid Host header (none)" in body
    assert _raw_get(stub_app(tmp_path), [(b"host", b"127.0.0.1:5000")])[0] == 200


def test_create_app_applies_the_configured_hosts(tmp_path: Path) -> None:
    config = ServerConfig(
        backend_store_uri=f"sqlite:///{tmp_path}/x.db",
        artifacts_destination=str(tmp_path),
        allowed_hosts=("mlflow.example.com", "testserver"),
    )
    app = create_app(config)
    assert TestClient(app).get("/version").status_code == 200  # Host: testserver
    assert client_for(app, "mlflow.example.com:443").get("/version").status_code == 200
    assert_denied(client_for(app, "localhost").get("/version"), "Invalid Host header")


# ---------------------------------------------------------------- CORS


def preflight(client: TestClient, origin: str, method: str = "POST") -> Any:
    return client.options(
        "/echo",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )


def test_preflight_from_the_servers_own_origin(tmp_path: Path) -> None:
    response = preflight(client_for(stub_app(tmp_path), "localhost:5000"), "http://localhost:5000")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "http://localhost:5000"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "content-type, authorization"
    assert_security_headers(response)


def test_preflight_from_a_listed_origin(tmp_path: Path) -> None:
    app = stub_app(tmp_path, cors_allowed_origins=("https://ui.example",))
    response = preflight(client_for(app), "https://ui.example")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://ui.example"
    assert response.headers["vary"] == "Origin"


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost:6666", "null"])
def test_preflight_from_another_origin_is_refused(tmp_path: Path, origin: str) -> None:
    response = preflight(client_for(stub_app(tmp_path), "localhost:5000"), origin)
    assert_denied(response, "not allowed")
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_cross_origin_state_change_is_refused(tmp_path: Path, method: str) -> None:
    app = stub_app(tmp_path)
    response = client_for(app).request(method, "/echo", headers={"Origin": "https://evil.example"})
    assert_denied(response, f"Cross-origin {method} from 'https://evil.example' refused")
    assert app.state.reached == []


def test_cross_origin_get_is_served_without_cors_headers(tmp_path: Path) -> None:
    response = client_for(stub_app(tmp_path)).get(
        "/echo", headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers  # the browser hides it
    assert_security_headers(response)


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("localhost:5000", "http://localhost:5000"),
        ("localhost:5000", "https://LOCALHOST:5000"),  # behind a TLS-terminating proxy
        ("localhost", "http://localhost:80"),
        ("mlflow.internal:443", "https://mlflow.internal"),
        ("[::1]:5000", "http://[::1]:5000"),
    ],
)
def test_same_origin_requests_pass(tmp_path: Path, host: str, origin: str) -> None:
    app = stub_app(tmp_path, allowed_hosts=("*",))
    response = client_for(app, host).post("/echo", headers={"Origin": origin})
    assert response.status_code == 200
    assert response.text == "reached"
    assert "access-control-allow-origin" not in response.headers
    assert_security_headers(response)


def test_requests_without_origin_pass(tmp_path: Path) -> None:
    app = stub_app(tmp_path)
    for method in ALL_METHODS:
        assert client_for(app).request(method, "/echo").status_code == 200
    assert app.state.reached == ALL_METHODS


def test_listed_origin_gets_cors_headers(tmp_path: Path) -> None:
    app = stub_app(tmp_path, cors_allowed_origins=("https://ui.example:443/",))
    response = client_for(app).post("/echo", headers={"Origin": "https://ui.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://ui.example"
    assert response.headers["vary"] == "Origin"


def test_star_allows_every_origin(tmp_path: Path) -> None:
    app = stub_app(tmp_path, cors_allowed_origins=("*",))
    response = client_for(app).delete("/echo", headers={"Origin": "https://any.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://any.example"
    assert preflight(client_for(app), "https://any.example").status_code == 204


# ---------------------------------------------------------------- security headers


@pytest.mark.parametrize("path", ["/echo", "/file", "/stream", "/missing"])
def test_security_headers_on_every_kind_of_response(tmp_path: Path, path: str) -> None:
    response = client_for(stub_app(tmp_path)).get(path)
    assert response.status_code in (200, 404)
    assert_security_headers(response)
    if path == "/file":
        assert len(response.content) == 1000
    if path == "/stream":
        assert response.content == b"ab"


def test_a_handlers_own_frame_policy_is_kept(tmp_path: Path) -> None:
    response = client_for(stub_app(tmp_path)).get("/framed")
    assert response.headers.get_list("x-frame-options") == ["DENY"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    config = ServerConfig(
        backend_store_uri=f"sqlite:///{tmp_path}/x.db", artifacts_destination=str(tmp_path)
    )
    with TestClient(create_app(config), base_url="http://localhost") as client:
        yield client


def test_the_real_app_sends_security_headers(app_client: TestClient) -> None:
    for path, status in [("/health", 200), ("/api/3.0/mlflow/server-info", 200), ("/nope", 404)]:
        response = app_client.get(path)
        assert response.status_code == status
        assert_security_headers(response)
    assert app_client.get("/nope").json()["error_code"] == "ENDPOINT_NOT_FOUND"
    error = app_client.post("/version")  # 405, from the router
    assert error.status_code == 405
    assert_security_headers(error)


def test_the_real_app_refuses_cross_origin_posts(app_client: TestClient) -> None:
    denied = app_client.post("/version", headers={"Origin": "https://evil.example"})
    assert_denied(denied, "Cross-origin POST")
    same = app_client.post("/version", headers={"Origin": "http://localhost"})
    assert same.status_code == 405  # got past the middleware to the router
    assert app_client.post("/version").status_code == 405
