"""Live tracking servers for the REST store tests: ``cairn server`` and a real ``mlflow server``.

Each runs as a subprocess on a free loopback port with its own SQLite file and artifact
directory, in its own process group so stopping it stops its workers too.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TypeVar

import httpx
from sqlalchemy import delete, update

MLFLOW_VENV = Path("/opt/mlflow-venv/bin/mlflow")
S = TypeVar("S", bound="LiveServer")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A server subprocess; ``start`` returns once ``/health`` answers."""

    def __init__(self, command: list[str], port: int, root: Path) -> None:
        self.command = command
        self.url = f"http://127.0.0.1:{port}"
        self.root = root
        self.log_path = root / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self: S, timeout_s: float = 120.0) -> S:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"server exited with {self._process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not answer /health within {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


CAIRN_COMMAND = [sys.executable, "-c", "from cairn.cli import main; main()"]


class CairnServer(LiveServer):
    """``cairn server`` as a user starts it (SQLite unless told), proxying artifacts locally."""

    def __init__(self, root: Path, backend_store_uri: str | None = None, *args: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.backend_store_uri = backend_store_uri or f"sqlite:///{root}/cairn.db"
        self.artifacts_destination = str(root / "artifacts")
        # Where the server puts new experiments' artifacts (ServerConfig's proxied root).
        self.experiment_artifact_root = "mlflow-artifacts:/"
        port = free_port()
        command = [
            *CAIRN_COMMAND,
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            self.backend_store_uri,
            "--artifacts-destination",
            self.artifacts_destination,
            *args,
        ]
        super().__init__(command, port, root)

    def reset(self) -> None:
        """Forget everything but the default experiment, as a fresh server would.

        Lets one server process serve a whole test session: starting one per test would cost
        half a second each.
        """
        from cairn.store.db import schema
        from cairn.store.db.engine import get_engine, write_transaction

        e = schema.experiments
        with write_transaction(get_engine(self.backend_store_uri)) as conn:
            for table in reversed(schema.metadata.sorted_tables):
                query = delete(table)
                if table is e:
                    query = query.where(e.c.experiment_id != 0)
                conn.execute(query)
            conn.execute(
                update(e)
                .where(e.c.experiment_id == 0)
                .values(name="Default", lifecycle_stage="active", deleted_time=None)
            )


def mlflow_command() -> list[str] | None:
    """How to run ``mlflow``: this venv's (a test dependency), the dev box's, or PATH's."""
    if importlib.util.find_spec("mlflow") is not None:
        return [sys.executable, "-m", "mlflow"]
    if MLFLOW_VENV.exists():
        return [str(MLFLOW_VENV)]
    found = shutil.which("mlflow")
    return [found] if found else None


class MlflowServer(LiveServer):
    """A real ``mlflow server`` (one worker) on SQLite with local artifacts."""

    def __init__(self, root: Path, mlflow: list[str]) -> None:
        root.mkdir(parents=True, exist_ok=True)
        port = free_port()
        command = [
            *mlflow,
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root}/mlflow.db",
            "--default-artifact-root",
            str(root / "art"),
        ]
        super().__init__(command, port, root)
