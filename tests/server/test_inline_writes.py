"""Small writes run on the server's event loop on SQLite, but never make it wait for a lock.

While another process holds SQLite's write lock, a ``log-metric`` must go and wait in a thread:
the server keeps answering other requests meanwhile, and the write lands once the lock is free.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import httpx

from rest_server import CairnServer


def test_a_write_waiting_for_the_lock_does_not_block_the_server(tmp_path: Path) -> None:
    server = CairnServer(tmp_path / "server").start()
    try:
        api = server.url + "/api/2.0/mlflow"
        with httpx.Client(timeout=60) as http:
            experiment = http.post(f"{api}/experiments/create", json={"name": "e"}).json()
            run = http.post(
                f"{api}/runs/create", json={"experiment_id": experiment["experiment_id"]}
            ).json()["run"]["info"]["run_id"]
            point = {"run_id": run, "key": "m", "value": 1.5, "timestamp": 10, "step": 0}
            assert http.post(f"{api}/runs/log-metric", json=point).status_code == 200

            holder = sqlite3.connect(tmp_path / "server" / "cairn.db", isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            result: dict[str, int] = {}

            def log() -> None:
                with httpx.Client(timeout=60) as other:
                    response = other.post(f"{api}/runs/log-metric", json={**point, "step": 1})
                    result["status"] = response.status_code

            writer = threading.Thread(target=log)
            writer.start()
            try:
                time.sleep(0.5)  # the write is now waiting for the lock
                assert writer.is_alive(), "the write did not wait for the lock"
                # The event loop is free: reads and health checks are answered meanwhile.
                assert http.get(server.url + "/health").status_code == 200
                got = http.get(f"{api}/runs/get", params={"run_id": run})
                assert got.status_code == 200
            finally:
                holder.execute("COMMIT")
                holder.close()
            writer.join(30)
            assert result == {"status": 200}
            history = http.get(
                f"{api}/metrics/get-history", params={"run_id": run, "metric_key": "m"}
            ).json()["metrics"]
            assert sorted(m["step"] for m in history) == [0, 1]
    finally:
        server.stop()
