"""A real S3-compatible server for the tests: moto's standalone server in a subprocess.

Tests talk HTTP to it exactly as they would to S3 or MinIO (no in-process mocking), so
multipart uploads, presigned URLs and paginated listings go through the wire protocol.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from typing import Any

import pytest

from rest_server import free_port

_START_TIMEOUT = 60.0  # seconds; moto imports a lot on a loaded 2-core machine


class MotoS3Server:
    """``python -m moto.server`` on a free loopback port; one per test module."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._client: Any = None

    def start(self) -> MotoS3Server:
        pytest.importorskip("moto.server", reason="moto[server] is not installed")
        pytest.importorskip("boto3", reason="boto3 is not installed")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._process.returncode}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.endpoint}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def env(self) -> dict[str, str]:
        """What a process needs to reach this server and only it (no real AWS config)."""
        return {
            "CAIRN_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def client(self) -> Any:
        """A boto3 client for the tests' own setup and checks (made once: that is slow)."""
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> Any:
        import boto3

        env = self.env()
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )

    def create_bucket(self) -> str:
        name = f"test-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name


def use_moto_env(server: MotoS3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point boto3 in this process at ``server``, whatever endpoint the caller's shell set."""
    for name in ("MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
