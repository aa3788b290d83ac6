"""The artifact proxy, both sides: the server's /api/2.0/mlflow-artifacts/... routes (in-process
and live under uvicorn, over a local and an S3 destination) and the clients that use them
(cairn's HttpArtifactRepository and MLflow's own client).
"""

from __future__ import annotations

import hashlib
import http.client
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.testclient import TestClient

from cairn.errors import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, CairnError
from cairn.server.app import create_app
from cairn.server.config import ServerConfig
from cairn.server.routes.artifacts import NO_MULTIPART_DOWNLOAD, NO_MULTIPART_UPLOAD
from cairn.store.artifacts import FileInfo, get_artifact_repository
from cairn.store.artifacts.http import HttpArtifactRepository, resolve_artifact_uri
from proxy_server import ProxyServer
from s3_server import MotoS3Server, use_moto_env

API = "/api/2.0/mlflow-artifacts"
SERVICE = f"{API}/artifacts"
AJAX_ROOT = "https://h/ajax-api/2.0/mlflow-artifacts/artifacts/1/r"
MB = 1024 * 1024
# Each decodes (once or twice) to a path that leaves the destination or names it absolutely.
TRAVERSALS = [
    "%2e%2e/x",
    "a/%2E%2E/%2e%2e/x",
    "a%2F..%2F..%2Fx",
    "%2Fetc%2Fpasswd",
    "a%5C..%5Cx",
    "..%252f..%252fx",
    "C:%5Cwindows",
]
NAMES = ["a+b.txt", "spaced name.txt", "ünïcødé/日本語.txt", "100%.txt", "semi;colon&amp.txt"]


def url_path(path: str) -> str:
    """How a client puts an artifact path in a URL: UTF-8 percent-encoding, '/' kept."""
    return quote(path, safe="/")


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoS3Server]:
    server = MotoS3Server().start()
    yield server
    server.stop()


class Destination:
    """Where the server under test keeps files, and how a test looks at them directly."""

    def __init__(self, uri: str, local_root: Path | None, s3: Any = None, bucket: str = ""):
        self.uri = uri
        self.local_root = local_root
        self.s3 = s3
        self.bucket = bucket

    def files(self) -> dict[str, bytes]:
        if self.local_root is not None:
            return {
                p.relative_to(self.local_root).as_posix(): p.read_bytes()
                for p in sorted(self.local_root.rglob("*"))
                if p.is_file()
            }
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
        return {
            key.removeprefix("dest/"): self.s3.get_object(Bucket=self.bucket, Key=key)[
                "Body"
            ].read()
            for key in sorted(keys)
        }


@pytest.fixture(params=["local", "s3"])
def destination(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Destination:
    if request.param == "local":
        return Destination(str(tmp_path / "dest"), tmp_path / "dest")
    moto: MotoS3Server = request.getfixturevalue("moto")
    use_moto_env(moto, monkeypatch)
    bucket = moto.create_bucket()
    return Destination(f"s3://{bucket}/dest", None, moto.client(), bucket)


def make_client(tmp_path: Path, destination: str, **config: Any) -> TestClient:
    app = create_app(
        ServerConfig(
            backend_store_uri=f"sqlite:///{tmp_path}/server.db",
            artifacts_destination=destination,
            **config,
        )
    )
    return TestClient(app, base_url="http://localhost")


@pytest.fixture
def client(tmp_path: Path, destination: Destination) -> Iterator[TestClient]:
    with make_client(tmp_path, destination.uri) as test_client:
        yield test_client


@pytest.fixture
def local_client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path, str(tmp_path / "dest")) as test_client:
        yield test_client


def put(client: TestClient, path: str, data: bytes) -> None:
    response = client.put(f"{API}/artifacts/{url_path(path)}", content=data)
    assert response.status_code == 200, response.text
    assert response.json() == {}


def listing(client: TestClient, path: str | None = None) -> Any:
    params = {} if path is None else {"path": path}
    response = client.get(f"{API}/artifacts", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error_code"] == code


# -- upload, download, list, delete (both destinations) ---------------------------------------


def test_round_trip(client: TestClient, destination: Destination) -> None:
    put(client, "1/run/artifacts/model/MLmodel", b"flavors: {}\n")
    put(client, "1/run/artifacts/model/model.pkl", b"\x00\x01" * 1000)
    put(client, "1/run/artifacts/top.txt", b"top")
    assert destination.files() == {
        "1/run/artifacts/model/MLmodel": b"flavors: {}\n",
        "1/run/artifacts/model/model.pkl": b"\x00\x01" * 1000,
        "1/run/artifacts/top.txt": b"top",
    }
    assert listing(client, "1/run/artifacts") == {
        "files": [
            {"path": "model", "is_dir": True},
            {"path": "top.txt", "is_dir": False, "file_size": 3},
        ]
    }
    assert listing(client, "1/run/artifacts/model")["files"] == [
        {"path": "MLmodel", "is_dir": False, "file_size": 12},
        {"path": "model.pkl", "is_dir": False, "file_size": 2000},
    ]
    assert listing(client) == {"files": [{"path": "1", "is_dir": True}]}
    assert listing(client, "") == listing(client)
    response = client.get(f"{API}/artifacts/1/run/artifacts/model/model.pkl")
    assert response.status_code == 200
    assert response.content == b"\x00\x01" * 1000
    put(client, "1/run/artifacts/top.txt", b"replaced")
    assert client.get(f"{API}/artifacts/1/run/artifacts/top.txt").content == b"replaced"
    assert client.delete(f"{API}/artifacts/1/run/artifacts/model").json() == {}
    assert client.delete(f"{API}/artifacts/1/run/artifacts/never").json() == {}
    assert destination.files() == {"1/run/artifacts/top.txt": b"replaced"}


def test_listing_a_file_or_a_missing_path_is_empty(client: TestClient) -> None:
    put(client, "d/f.txt", b"x")
    assert listing(client, "d/f.txt") == {}
    assert listing(client, "missing") == {}
    assert listing(client, "d/f.txt/below") == {}


def test_missing_file_and_directory(client: TestClient, destination: Destination) -> None:
    put(client, "d/f.txt", b"x")
    response = client.get(f"{API}/artifacts/d/missing.txt")
    assert_error(response, 404, RESOURCE_DOES_NOT_EXIST)
    assert response.json()["message"] == "No such artifact: 'd/missing.txt'"  # no destination
    assert_error(client.get(f"{API}/artifacts/d"), 400, INVALID_PARAMETER_VALUE)
    assert_error(client.get(f"{API}/artifacts/"), 400, INVALID_PARAMETER_VALUE)


@pytest.mark.parametrize("name", NAMES)
def test_unicode_plus_and_odd_names(
    client: TestClient, destination: Destination, name: str
) -> None:
    put(client, f"n/{name}", name.encode())
    assert destination.files() == {f"n/{name}": name.encode()}
    response = client.get(f"{API}/artifacts/n/{url_path(name)}")
    assert response.content == name.encode()
    assert listing(client, f"n/{name.rsplit('/', 1)[0]}" if "/" in name else "n")["files"] == [
        {"path": name.rsplit("/", 1)[-1], "is_dir": False, "file_size": len(name.encode())}
    ]
    assert client.delete(f"{API}/artifacts/n/{url_path(name)}").status_code == 200
    assert destination.files() == {}


def test_a_literal_plus_in_the_url_is_a_plus(client: TestClient, destination: Destination) -> None:
    assert client.put(f"{API}/artifacts/p/a+b c.txt", content=b"+").status_code == 200
    assert destination.files() == {"p/a+b c.txt": b"+"}
    assert listing(client, "p")["files"][0]["path"] == "a+b c.txt"


def test_writes_that_cannot_be(client: TestClient, destination: Destination) -> None:
    put(client, "d/f.txt", b"x")
    assert_error(client.put(f"{API}/artifacts/", content=b"x"), 400, INVALID_PARAMETER_VALUE)
    assert_error(client.delete(f"{API}/artifacts/"), 400, INVALID_PARAMETER_VALUE)
    if destination.local_root is not None:  # S3 has no directories to collide with
        assert_error(client.put(f"{API}/artifacts/d", content=b"x"), 400, INVALID_PARAMETER_VALUE)
        response = client.put(f"{API}/artifacts/d/f.txt/under", content=b"x")
        assert_error(response, 400, INVALID_PARAMETER_VALUE)
    assert destination.files() == {"d/f.txt": b"x"}


def test_empty_file(client: TestClient) -> None:
    put(client, "e/empty", b"")
    assert client.get(f"{API}/artifacts/e/empty").content == b""
    assert listing(client, "e")["files"] == [{"path": "empty", "is_dir": False, "file_size": 0}]


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_traversal_is_refused(
    client: TestClient, destination: Destination, tmp_path: Path, bad: str
) -> None:
    put(client, "inside.txt", b"in")
    (tmp_path / "x").write_text("outside")
    requests = [
        ("GET", f"{API}/artifacts/{bad}"),
        ("PUT", f"{API}/artifacts/{bad}"),
        ("DELETE", f"{API}/artifacts/{bad}"),
        ("GET", f"{API}/artifacts?path={bad}"),
        ("POST", f"{API}/mpu/create/{bad}"),
        ("GET", f"{API}/presigned/{bad}"),
    ]
    for method, url in requests:
        body = {"path": "f.bin", "num_parts": 1} if method == "POST" else None
        response = client.request(
            method, url, content=b"evil" if method == "PUT" else None, json=body
        )
        assert_error(response, 400, INVALID_PARAMETER_VALUE)
    assert destination.files() == {"inside.txt": b"in"}
    assert (tmp_path / "x").read_text() == "outside"


def test_download_headers(local_client: TestClient) -> None:
    put(local_client, "h/page.html", b"<script>alert(1)</script>")
    put(local_client, "h/MLmodel", b"x")
    put(local_client, "h/plot.png", b"\x89PNG")
    put(local_client, "h/blob", b"\x00")
    put(local_client, "h/é.txt", b"x")
    response = local_client.get(f"{API}/artifacts/h/page.html")
    assert response.headers["content-type"].startswith("text/plain")  # never rendered as a page
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == 'attachment; filename="page.html"'
    assert response.headers["content-length"] == "25"
    media = {
        name: local_client.get(f"{API}/artifacts/h/{name}").headers["content-type"]
        for name in ["MLmodel", "plot.png", "blob"]
    }
    assert media == {
        "MLmodel": "text/plain; charset=utf-8",
        "plot.png": "image/png",
        "blob": "application/octet-stream",
    }
    disposition = local_client.get(f"{API}/artifacts/h/{url_path('é.txt')}").headers
    assert disposition["content-disposition"] == "attachment; filename*=utf-8''%C3%A9.txt"


def test_ajax_prefix_and_ranges(local_client: TestClient) -> None:
    put(local_client, "r/f.bin", b"0123456789")
    response = local_client.get("/ajax-api/2.0/mlflow-artifacts/artifacts/r/f.bin")
    assert response.content == b"0123456789"
    response = local_client.get(f"{API}/artifacts/r/f.bin", headers={"Range": "bytes=2-4"})
    assert (response.status_code, response.content) == (206, b"234")


def test_disabled_proxy_has_no_routes(tmp_path: Path) -> None:
    with make_client(tmp_path, str(tmp_path / "dest"), serve_artifacts=False) as client:
        for method, path in [
            ("PUT", "/artifacts/a.txt"),
            ("GET", "/artifacts/a.txt"),
            ("GET", "/artifacts?path=a"),
            ("DELETE", "/artifacts/a.txt"),
            ("POST", "/mpu/create/a"),
        ]:
            response = client.request(method, API + path, content=b"x")
            assert response.status_code == 404, (method, path)
    assert not (tmp_path / "dest").exists()


# -- multipart uploads and presigned downloads ------------------------------------------------


def test_local_destination_has_no_multipart(local_client: TestClient) -> None:
    body = {"path": "/home/me/big.bin", "num_parts": 2, "upload_id": "u", "parts": []}
    for action in ["create", "complete", "abort"]:
        response = local_client.post(f"{API}/mpu/{action}/1/r/artifacts", json=body)
        assert response.status_code == 501
        assert response.json() == {"error_code": "NOT_IMPLEMENTED", "message": NO_MULTIPART_UPLOAD}
    response = local_client.post(f"{API}/mpu/create/1/r", json={"num_parts": 2})
    assert_error(response, 400, INVALID_PARAMETER_VALUE)  # the body is checked first
    put(local_client, "f.txt", b"x")
    response = local_client.get(f"{API}/presigned/f.txt")
    assert response.status_code == 501
    assert response.json()["message"] == NO_MULTIPART_DOWNLOAD


@pytest.mark.parametrize("destination", ["s3"], indirect=True)
def test_s3_multipart_upload_through_the_proxy(
    client: TestClient, destination: Destination
) -> None:
    parts_data = [os.urandom(5 * MB), b"tail"]
    # The client sends its local file path; only the base name is used (Windows paths too).
    body = {"path": "C:\\Users\\me\\big.bin", "num_parts": 2}
    created = client.post(f"{API}/mpu/create/1/r/artifacts/m", json=body).json()
    assert set(created) == {"upload_id", "credentials"}
    assert [c["part_number"] for c in created["credentials"]] == [1, 2]
    parts = []
    for credential, data in zip(created["credentials"], parts_data, strict=True):
        response = httpx.put(credential["url"], content=data, headers=credential["headers"])
        assert response.status_code == 200
        parts.append({"part_number": credential["part_number"], "etag": response.headers["ETag"]})
    body = {"path": "C:\\Users\\me\\big.bin", "upload_id": created["upload_id"], "parts": parts}
    assert client.post(f"{API}/mpu/complete/1/r/artifacts/m", json=body).json() == {}
    assert destination.files() == {"1/r/artifacts/m/big.bin": b"".join(parts_data)}

    created = client.post(f"{API}/mpu/create/1/r", json={"path": "/x/gone.bin"}).json()
    body = {"path": "/x/gone.bin", "upload_id": created["upload_id"]}
    assert client.post(f"{API}/mpu/abort/1/r", json=body).json() == {}
    assert destination.s3.list_multipart_uploads(Bucket=destination.bucket).get("Uploads") is None
    response = client.post(f"{API}/mpu/abort/1/r", json=body)
    assert_error(response, 404, RESOURCE_DOES_NOT_EXIST)

    presigned = client.get(f"{API}/presigned/1/r/artifacts/m/big.bin").json()
    assert presigned["file_size"] == 5 * MB + 4
    assert httpx.get(presigned["url"], headers=presigned["headers"]).content[-4:] == b"tail"


@pytest.mark.parametrize("destination", ["s3"], indirect=True)
def test_bad_multipart_requests(client: TestClient) -> None:
    for num_parts in [0, 10_001, "many"]:
        body = {"path": "f.bin", "num_parts": num_parts}
        response = client.post(f"{API}/mpu/create/d", json=body)
        assert_error(response, 400, INVALID_PARAMETER_VALUE)
    for path in ["", "dir/", "..", "C:\\"]:
        response = client.post(f"{API}/mpu/create/d", json={"path": path})
        assert_error(response, 400, INVALID_PARAMETER_VALUE)
    body = {"path": "f.bin", "upload_id": "u", "parts": [{"etag": "e"}]}
    assert_error(client.post(f"{API}/mpu/complete/d", json=body), 400, INVALID_PARAMETER_VALUE)


# -- live server: streaming both ways, literal traversal, the clients -------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyServer]:
    root = tmp_path_factory.mktemp("live")
    server = ProxyServer(root, str(root / "dest")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_s3(tmp_path_factory: pytest.TempPathFactory, moto: MotoS3Server) -> Iterator[ProxyServer]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_moto_env(moto, monkeypatch)
        server = ProxyServer(tmp_path_factory.mktemp("live-s3"), f"s3://{moto.create_bucket()}/d")
        server.start()  # the subprocess keeps the moto settings
    yield server
    server.stop()


def sha256_of(chunks: Iterator[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.parametrize("server", ["live", "live_s3"])
def test_streaming_both_ways(request: pytest.FixtureRequest, server: str, tmp_path: Path) -> None:
    base = request.getfixturevalue(server).url + API
    blocks = [os.urandom(MB) for _ in range(4)]
    expected = hashlib.sha256(b"".join(blocks) * 6).hexdigest()
    chunked = (blocks[i % 4] for i in range(24))  # no Content-Length: chunked encoding
    response = httpx.put(f"{base}/artifacts/s/chunked.bin", content=chunked, timeout=60)
    assert response.status_code == 200, response.text
    source = tmp_path / "source.bin"
    source.write_bytes(b"".join(blocks) * 6)
    with source.open("rb") as f:  # from disk, with Content-Length
        response = httpx.put(f"{base}/artifacts/s/from-file.bin", content=f, timeout=60)
    assert response.status_code == 200, response.text
    for name in ["chunked.bin", "from-file.bin"]:
        with httpx.stream("GET", f"{base}/artifacts/s/{name}", timeout=60) as response:
            assert response.status_code == 200
            assert sha256_of(response.iter_bytes()) == expected
    missing = httpx.get(f"{base}/artifacts/s/missing.bin")
    assert_error(missing, 404, RESOURCE_DOES_NOT_EXIST)


@pytest.mark.parametrize(
    "target", ["/artifacts/../../etc/passwd", "/artifacts/a/../../x", "/artifacts//etc/passwd"]
)
def test_literal_dot_segments_reach_the_server_and_are_refused(
    live: ProxyServer, target: str
) -> None:
    """httpx would normalize these away; http.client sends the request target as written."""
    host, port = live.url.removeprefix("http://").split(":")
    for method in ["GET", "PUT", "DELETE"]:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request(method, API + target, body=b"x" if method == "PUT" else None)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 400, (method, body)
        assert b"INVALID_PARAMETER_VALUE" in body
    assert not (live.root / "etc").exists() and not (live.root / "x").exists()


def tree(base: Path) -> Path:
    src = base / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b+c d.txt").write_text("bb")
    (src / "sub" / "deeper" / "ü.bin").write_bytes(b"\x00" * 300)
    return src


def files_under(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


@pytest.mark.parametrize("server", ["live", "live_s3"])
def test_cairn_http_repository(request: pytest.FixtureRequest, server: str, tmp_path: Path) -> None:
    live_server: ProxyServer = request.getfixturevalue(server)
    run_root = f"1/{tmp_path.name}/artifacts"
    from cairn.tracking.config import set_tracking_uri

    set_tracking_uri(live_server.url)
    try:
        repo = get_artifact_repository(f"mlflow-artifacts:/{run_root}")
    finally:
        set_tracking_uri(None)
    assert isinstance(repo, HttpArtifactRepository)
    assert repo.artifact_uri == f"{live_server.url}{API}/artifacts/{run_root}"
    src = tree(tmp_path)
    repo.log_artifacts(str(src), "t")
    repo.log_artifact(str(src / "a.txt"))
    repo.log_bytes(b"bytes", "b/bytes.bin")
    repo.write_stream("b/stream.bin", iter([b"str", b"eam"]))
    assert repo.list_artifacts() == [
        FileInfo("a.txt", False, 1),
        FileInfo("b", True, None),
        FileInfo("t", True, None),
    ]
    assert repo.list_artifacts("t/sub") == [
        FileInfo("t/sub/b+c d.txt", False, 2),
        FileInfo("t/sub/deeper", True, None),
    ]
    assert repo.list_artifacts("a.txt") == [] and repo.list_artifacts("nope") == []
    assert files_under(Path(repo.download_artifacts("t", str(tmp_path / "d1")))) == files_under(src)
    whole = Path(repo.download_artifacts("", str(tmp_path / "d2")))
    assert files_under(whole)["b/stream.bin"] == b"stream"
    one = repo.download_artifacts("t/sub/b+c d.txt", str(tmp_path / "d3"))
    assert one == str(tmp_path / "d3" / "t" / "sub" / "b+c d.txt")
    with repo.open_artifact("b/bytes.bin") as f:
        assert f.read() == b"bytes"
    for call in [
        lambda: repo.open_artifact("missing"),
        lambda: repo.download_artifacts("missing", str(tmp_path / "d4")),
    ]:
        with pytest.raises(CairnError) as info:
            call()
        assert info.value.error_code == RESOURCE_DOES_NOT_EXIST
    assert not (tmp_path / "d4" / "missing").exists()
    repo.delete_artifacts("t/sub")
    assert [info.path for info in repo.list_artifacts("t")] == ["t/a.txt"]
    for bad in ["../x", "%2e%2e/x", "/abs", "a\\b"]:
        with pytest.raises(CairnError) as info:
            repo.log_bytes(b"x", bad)
        assert info.value.error_code == INVALID_PARAMETER_VALUE
    repo.delete_artifacts()
    assert repo.list_artifacts() == []
    repo.close()


def test_http_repository_ignores_hostile_listings(tmp_path: Path) -> None:
    """A server that lists '../' names cannot make a download write outside its target."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/artifacts"):
            names = ["../escape", "..", "a/b", "", "ok.txt", "..\\x", "%2e%2e"]
            return httpx.Response(
                200, json={"files": [{"path": n, "is_dir": False} for n in names]}
            )
        return httpx.Response(200, content=b"data")

    repo = HttpArtifactRepository(
        f"http://evil.example{SERVICE}/r",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    assert [info.path for info in repo.list_artifacts()] == ["ok.txt"]
    repo.download_artifacts("", str(tmp_path / "dst"))
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["dst", "ok.txt"]


@pytest.mark.parametrize(
    ("uri", "tracking", "expected"),
    [
        (
            "mlflow-artifacts:/1/abc/artifacts",
            "http://h:5000",
            f"http://h:5000{SERVICE}/1/abc/artifacts",
        ),
        ("mlflow-artifacts:/1/r", "https://h/prefix/", f"https://h/prefix{SERVICE}/1/r"),
        ("mlflow-artifacts://other:81/1/r", "http://h:5000", f"http://other:81{SERVICE}/1/r"),
        ("mlflow-artifacts:/", "http://h", f"http://h{SERVICE}"),
        (f"http://h{SERVICE}/x/", None, f"http://h{SERVICE}/x"),
        (AJAX_ROOT, None, AJAX_ROOT),
    ],
)
def test_resolving_artifact_uris(uri: str, tracking: str | None, expected: str) -> None:
    assert resolve_artifact_uri(uri, tracking) == expected


@pytest.mark.parametrize(
    ("uri", "tracking"),
    [
        ("mlflow-artifacts:/1/r", "sqlite:///cairn.db"),
        ("mlflow-artifacts:/1/r", "/some/path"),
        ("mlflow-artifacts://5000/1/r", "http://h"),
        ("http://h/not/the/proxy", None),
    ],
)
def test_unresolvable_artifact_uris(uri: str, tracking: str | None) -> None:
    with pytest.raises(CairnError) as info:
        resolve_artifact_uri(uri, tracking)
    assert info.value.error_code == INVALID_PARAMETER_VALUE


def test_mlflow_artifacts_uri_needs_a_server_tracking_uri() -> None:
    with pytest.raises(CairnError, match="tracking server"):
        get_artifact_repository("mlflow-artifacts:/1/r/artifacts")  # default: local SQLite


# -- MLflow's own client against the live cairn proxy ------------------------------------------


@pytest.fixture
def mlflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow")
    for name in ["MLFLOW_TRACKING_URI", "MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD"]:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("mlflow_env")
@pytest.mark.parametrize("server", ["live", "live_s3"])
def test_mlflow_client_repository(
    request: pytest.FixtureRequest, server: str, tmp_path: Path
) -> None:
    import mlflow.artifacts
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

    url = request.getfixturevalue(server).url
    root = f"mlflow-artifacts:/2/{tmp_path.name}/artifacts"
    repo = MlflowArtifactsRepository(root, tracking_uri=url)
    src = tree(tmp_path)
    repo.log_artifact(str(src / "a.txt"))
    repo.log_artifacts(str(src), "t")
    names = [(f.path, f.is_dir, f.file_size) for f in repo.list_artifacts()]
    assert names == [("a.txt", False, 1), ("t", True, None)]
    assert [f.path for f in repo.list_artifacts("t/sub")] == ["t/sub/b+c d.txt", "t/sub/deeper"]
    assert repo.list_artifacts("a.txt") == []
    for dst in ["d1", "d2"]:
        (tmp_path / dst).mkdir()  # MLflow wants the destination to exist
    local = repo.download_artifacts("t", str(tmp_path / "d1"))
    assert files_under(Path(local)) == files_under(src)
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=f"{root}/t/sub/deeper/ü.bin", dst_path=str(tmp_path / "d2"), tracking_uri=url
    )
    assert Path(local).read_bytes() == b"\x00" * 300
    repo.delete_artifacts("t")
    assert [f.path for f in repo.list_artifacts()] == ["a.txt"]


@pytest.mark.usefixtures("mlflow_env")
@pytest.mark.parametrize("server", ["live", "live_s3"])
def test_mlflow_client_multipart_upload(
    request: pytest.FixtureRequest, server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forced multipart: presigned parts on S3; on a local destination the client sees our 501
    and falls back to a plain PUT."""
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(MB))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * MB))
    url = request.getfixturevalue(server).url
    repo = MlflowArtifactsRepository(f"mlflow-artifacts:/3/{tmp_path.name}", tracking_uri=url)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * MB))
    repo.log_artifact(str(big), "m")
    assert [(f.path, f.file_size) for f in repo.list_artifacts("m")] == [("m/big.bin", 12 * MB)]
    with httpx.stream("GET", f"{url}{API}/artifacts/3/{tmp_path.name}/m/big.bin") as response:
        assert sha256_of(response.iter_bytes()) == hashlib.sha256(big.read_bytes()).hexdigest()
