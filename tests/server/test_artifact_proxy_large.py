"""A 1 GB artifact through a live proxy, both ways, in bounded server memory.

The server runs in its own process so its peak resident set (``VmHWM``) measures exactly what
the streaming costs: if any layer buffered the body, the peak would approach the file size.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from proxy_server import ProxyServer

pytestmark = pytest.mark.slow

MB = 1024 * 1024
SIZE = 1024 * MB
PEAK_RSS_LIMIT = 300 * MB
SERVICE = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """Removed at the end, not left for pytest's retention of the last few runs (3 GB)."""
    if shutil.disk_usage(tmp_path).free < 4 * SIZE:
        pytest.skip("needs 4 GB of free disk space")
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


def write_big_file(path: Path) -> str:
    """1 GB from one random 1 MB block written 1024 times (fast); returns its sha256."""
    block = os.urandom(MB)
    digest = hashlib.sha256()
    with path.open("wb") as f:
        for _ in range(SIZE // MB):
            f.write(block)
            digest.update(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(MB):
            digest.update(block)
    return digest.hexdigest()


def test_one_gigabyte_up_and_down(workdir: Path) -> None:
    source = workdir / "big.bin"
    expected = write_big_file(source)
    server = ProxyServer(workdir / "server", str(workdir / "server" / "dest")).start()
    try:
        url = f"{server.url}{SERVICE}/1/run/artifacts/big.bin"
        baseline = server.peak_rss_bytes()

        started = time.monotonic()
        with source.open("rb") as f:  # httpx streams a file object from disk
            response = httpx.put(url, content=f, timeout=120)
        upload_s = time.monotonic() - started
        assert response.status_code == 200, response.text
        stored = workdir / "server" / "dest" / "1" / "run" / "artifacts" / "big.bin"
        assert stored.stat().st_size == SIZE
        assert sha256_file(stored) == expected
        after_upload = server.peak_rss_bytes()

        started = time.monotonic()
        digest = hashlib.sha256()
        received = 0
        with httpx.stream("GET", url, timeout=120) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(SIZE)
            for chunk in response.iter_bytes(MB):
                digest.update(chunk)
                received += len(chunk)
        download_s = time.monotonic() - started
        assert (received, digest.hexdigest()) == (SIZE, expected)
        peak = server.peak_rss_bytes()
    finally:
        server.stop()

    report = (
        f"1 GB via the proxy: upload {upload_s:.1f} s ({SIZE / MB / upload_s:.0f} MB/s), "
        f"download {download_s:.1f} s ({SIZE / MB / download_s:.0f} MB/s); server peak RSS "
        f"{baseline / MB:.0f} MB at start, {after_upload / MB:.0f} MB after the upload, "
        f"{peak / MB:.0f} MB after the download"
    )
    print(report)
    assert peak < PEAK_RSS_LIMIT, report
