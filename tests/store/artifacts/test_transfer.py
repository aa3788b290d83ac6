"""Directory uploads and downloads through the shared parallel transfer, on every store.

Local files, S3 (moto's server), and the artifact proxy (a live cairn server) round-trip a
nested tree byte for byte; a tiny in-memory proxy shows requests overlapping (bounded by
CAIRN_ARTIFACT_WORKERS) and a failing file named, with no partial file left behind.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from rich.console import Console

from cairn.errors import CairnError
from cairn.store.artifacts import ArtifactRepository, LocalArtifactRepository
from cairn.store.artifacts.http import SERVICE_PATH, HttpArtifactRepository
from cairn.store.artifacts.s3 import S3ArtifactRepository
from cairn.store.artifacts.transfer import worker_count
from proxy_server import ProxyServer
from s3_server import MotoS3Server, use_moto_env

N_FILES = 50


def make_tree(base: Path) -> dict[str, bytes]:
    """~50 files of random bytes in nested directories; returns '/'-path -> content."""
    rng = random.Random(5)
    files: dict[str, bytes] = {}
    for i in range(N_FILES):
        depth = i % 4
        rel = "/".join([*[f"d{i % 3}", f"e{i % 5}", f"f{i % 2}"][:depth], f"file{i}.bin"])
        files[rel] = rng.randbytes(rng.randint(0, 4096))
    files["big/weights.bin"] = rng.randbytes(300_000)
    for rel, data in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def read_tree(base: Path) -> dict[str, bytes]:
    return {
        path.relative_to(base).as_posix(): path.read_bytes()
        for path in base.rglob("*")
        if path.is_file()
    }


# -- backends ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoS3Server]:
    server = MotoS3Server().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyServer]:
    root = tmp_path_factory.mktemp("live")
    server = ProxyServer(root, str(root / "dest")).start()
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3", "http"])
def repo(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ArtifactRepository:
    if request.param == "local":
        return LocalArtifactRepository(str(tmp_path / "store"))
    if request.param == "s3":
        moto: MotoS3Server = request.getfixturevalue("moto")
        use_moto_env(moto, monkeypatch)
        return S3ArtifactRepository(f"s3://{moto.create_bucket()}/root")
    live: ProxyServer = request.getfixturevalue("live")
    return HttpArtifactRepository(f"{live.url}{SERVICE_PATH}/{tmp_path.name}")


def test_a_nested_tree_round_trips_byte_identical(repo: ArtifactRepository, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "src")
    repo.log_artifacts(str(tmp_path / "src"), "model")
    out = repo.download_artifacts("model", str(tmp_path / "dst"))
    assert out == str(tmp_path / "dst" / "model")
    assert read_tree(Path(out)) == files
    # a sub-directory and a single file come down as well
    sub = repo.download_artifacts("model/d1", str(tmp_path / "dst2"))
    assert read_tree(Path(sub)) == {
        k.removeprefix("d1/"): v for k, v in files.items() if k.startswith("d1/")
    }
    single = repo.download_artifacts("model/big/weights.bin", str(tmp_path / "dst3"))
    assert Path(single).read_bytes() == files["big/weights.bin"]


def test_one_worker_still_moves_everything(
    repo: ArtifactRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_ARTIFACT_WORKERS", "1")
    files = make_tree(tmp_path / "src")
    repo.log_artifacts(str(tmp_path / "src"))
    assert read_tree(Path(repo.download_artifacts("", str(tmp_path / "dst")))) == files


def test_a_file_that_cannot_be_read_fails_the_upload_by_name(
    repo: ArtifactRepository, tmp_path: Path
) -> None:
    # A dangling symlink: listed as a file, gone when opened (root can't read it either).
    make_tree(tmp_path / "src")
    os.symlink(tmp_path / "nowhere", tmp_path / "src" / "d0" / "vanished.bin")
    with pytest.raises(CairnError) as info:
        repo.log_artifacts(str(tmp_path / "src"), "model")
    assert "d0/vanished.bin" in info.value.message


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_bad_worker_counts_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CAIRN_ARTIFACT_WORKERS", value)
    with pytest.raises(CairnError, match="CAIRN_ARTIFACT_WORKERS"):
        worker_count()


def test_worker_count_default_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAIRN_ARTIFACT_WORKERS", raising=False)
    assert worker_count() == 8
    monkeypatch.setenv("CAIRN_ARTIFACT_WORKERS", "3")
    assert worker_count() == 3


# -- progress ---------------------------------------------------------------------------------


def test_progress_bar_renders_when_asked(tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    repo = LocalArtifactRepository(str(tmp_path / "store"))
    console = Console(file=StringIO(), force_terminal=True, width=120)
    repo.log_artifacts(str(tmp_path / "src"), progress=console)
    up = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Uploading" in up
    assert f"{N_FILES + 1}/{N_FILES + 1} files" in up

    console = Console(file=StringIO(), force_terminal=True, width=120)
    repo.download_artifacts("", str(tmp_path / "dst"), progress=console)
    down = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Downloading" in down
    assert f"{N_FILES + 1}/{N_FILES + 1} files" in down


def test_progress_is_silent_in_pipes_and_when_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tree(tmp_path / "src")
    repo = LocalArtifactRepository(str(tmp_path / "store"))
    repo.log_artifacts(str(tmp_path / "src"))  # stderr is not a terminal here
    repo.download_artifacts("", str(tmp_path / "dst"), progress=False)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == ""


# -- a tiny artifact proxy that counts requests in flight -------------------------------------


class CountingProxy(ThreadingHTTPServer):
    """The artifact proxy's PUT / GET / list in memory; counts overlapping file requests.

    With ``hold`` set, a file request waits (up to 10 s, once) until a second one is in flight,
    so overlap is seen whatever the machine's speed, and a serial client would show 1.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.failing: set[str] = set()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.overlap = threading.Event()
        self.hold = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{SERVICE_PATH}/root"


class _Handler(BaseHTTPRequestHandler):
    server: CountingProxy

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _path(self) -> str:
        return unquote(urlparse(self.path).path)[len(SERVICE_PATH) + 1 :]

    def _counted(self, answer: Any) -> None:
        """Count this request in flight while ``answer()`` makes its response, and send the
        response only once it no longer counts: a serial client sends its next request as
        soon as it has read this one's answer, which must not look like overlap."""
        server = self.server
        with server.lock:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
            if server.in_flight >= 2:
                server.overlap.set()
        try:
            if server.hold and not server.overlap.wait(10):
                server.hold = False  # a serial client: fail the test fast, not 10 s a file
            if self._path() in server.failing:
                error = {"error_code": "PERMISSION_DENIED", "message": "not this one"}
                response = (403, json.dumps(error).encode(), "application/json")
            else:
                response = answer()
        finally:
            with server.lock:
                server.in_flight -= 1
        self._send(*response)

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def store() -> tuple[int, bytes, str]:
            self.server.files[self._path()] = body
            return 200, b"{}", "application/json"

        self._counted(store)

    def do_GET(self) -> None:
        parsed = urlparse(self.path)
        if parsed.path == SERVICE_PATH:
            base = parse_qs(parsed.query).get("path", [""])[0]
            self._send(200, json.dumps({"files": self._listing(base)}).encode())
            return

        def serve() -> tuple[int, bytes, str]:
            data = self.server.files.get(self._path())
            if data is None:
                missing = b'{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no"}'
                return 404, missing, "application/json"
            return 200, data, "application/octet-stream"

        self._counted(serve)

    def _listing(self, base: str) -> list[dict[str, Any]]:
        prefix = f"{base}/" if base else ""
        entries: dict[str, dict[str, Any]] = {}
        for key, data in self.server.files.items():
            if not key.startswith(prefix):
                continue
            name, _, rest = key[len(prefix) :].partition("/")
            entries[name] = (
                {"path": name, "is_dir": True}
                if rest
                else {"path": name, "is_dir": False, "file_size": len(data)}
            )
        return sorted(entries.values(), key=lambda e: e["path"])


@pytest.fixture
def proxy() -> Iterator[CountingProxy]:
    server = CountingProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_uploads_and_downloads_overlap(
    proxy: CountingProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_ARTIFACT_WORKERS", "3")
    files = make_tree(tmp_path / "src")
    repo = HttpArtifactRepository(proxy.url)
    repo.log_artifacts(str(tmp_path / "src"), "model")
    assert 2 <= proxy.max_in_flight <= 3  # parallel, and bounded by the setting
    assert {k.removeprefix("root/model/"): v for k, v in proxy.files.items()} == files

    proxy.max_in_flight = 0
    proxy.overlap.clear()
    out = repo.download_artifacts("model", str(tmp_path / "dst"))
    assert 2 <= proxy.max_in_flight <= 3
    assert read_tree(Path(out)) == files


def test_one_worker_means_one_request_at_a_time(
    proxy: CountingProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_ARTIFACT_WORKERS", "1")
    proxy.hold = False
    make_tree(tmp_path / "src")
    repo = HttpArtifactRepository(proxy.url)
    repo.log_artifacts(str(tmp_path / "src"))
    repo.download_artifacts("", str(tmp_path / "dst"))
    assert proxy.max_in_flight == 1


def test_a_failing_upload_is_named(proxy: CountingProxy, tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    proxy.failing.add("root/model/d2/e2/file2.bin")
    repo = HttpArtifactRepository(proxy.url)
    with pytest.raises(CairnError) as info:
        repo.log_artifacts(str(tmp_path / "src"), "model")
    assert "d2/e2/file2.bin" in info.value.message
    assert info.value.error_code == "PERMISSION_DENIED"


def test_a_failing_download_is_named_and_leaves_no_partial_file(
    proxy: CountingProxy, tmp_path: Path
) -> None:
    files = make_tree(tmp_path / "src")
    repo = HttpArtifactRepository(proxy.url)
    repo.log_artifacts(str(tmp_path / "src"), "model")
    proxy.failing.add("root/model/big/weights.bin")
    dst = tmp_path / "dst"
    with pytest.raises(CairnError) as info:
        repo.download_artifacts("model", str(dst))
    assert "model/big/weights.bin" in info.value.message
    got = read_tree(dst / "model")
    assert "big/weights.bin" not in got
    assert not [name for name in got if ".cairn-partial-" in name]
    assert all(files[name] == data for name, data in got.items())  # what is there is whole
