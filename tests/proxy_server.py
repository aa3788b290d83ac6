"""A live cairn server for the artifact-proxy tests: any destination, and its memory use.

Runs the app under uvicorn in one process (no workers), so the pid it records is the process
that streams the bodies and its peak RSS (``VmHWM``) is the figure the large-file test bounds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rest_server import LiveServer, free_port

_SCRIPT = """
import os, sys, uvicorn
from cairn.server.app import create_app
from cairn.server.config import ServerConfig
uri, destination, port, pid_file = sys.argv[1:5]
with open(pid_file, "w") as f:
    f.write(str(os.getpid()))
config = ServerConfig(backend_store_uri=uri, artifacts_destination=destination)
uvicorn.run(create_app(config), host="127.0.0.1", port=int(port), log_level="warning")
"""


class ProxyServer(LiveServer):
    """cairn's app on a free port, proxying to ``destination`` (a directory or s3://).

    The environment is the caller's at :meth:`start`, so S3 settings go in before it.
    """

    def __init__(self, root: Path, destination: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.destination = destination
        self.pid_file = root / "server.pid"
        port = free_port()
        backend = f"sqlite:///{root}/cairn.db"
        command = [
            sys.executable,
            "-c",
            _SCRIPT,
            backend,
            destination,
            str(port),
            str(self.pid_file),
        ]
        super().__init__(command, port, root)

    @property
    def pid(self) -> int:
        return int(self.pid_file.read_text())

    def peak_rss_bytes(self) -> int:
        """The server's high-water resident set size so far (Linux ``VmHWM``)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("VmHWM is not reported by this kernel")
