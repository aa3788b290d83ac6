"""The tracking SERVERS over raw HTTP: ``cairn server`` vs ``mlflow server`` (issue #3).

Each server runs as a subprocess on 127.0.0.1 (a free port, a fresh directory) and gets the same
requests from this process: pre-encoded JSON bodies sent over keep-alive ``http.client``
connections (TCP_NODELAY), so the client costs little; its own CPU is measured, and so is the
floor of client + loopback against a trivial server that answers ``{}`` at once.

1. ``POST runs/log-batch``, 1,000 metrics per request (10 keys x 100 steps, distinct steps per
   request), 4 concurrent connections each logging to its own run, for ``BATCH_SECONDS`` or
   ``BATCH_MAX_REQUESTS``.
2. ``POST runs/log-metric``, one connection, 2,000 sequential requests: p50 / p90 / p99.
3. The real mlflow client (``mlflow.log_metric``, in the MLflow venv) against each server, 500
   calls: wall time per call and wall - the client process's own CPU time per call.
4. ``GET metrics/get-history`` of 100,000 points (one run, one key): in one request and paged as
   the mlflow client pages (25,000 per page); cairn's ``TrackingClient(url)
   .get_metric_history_columns`` and mlflow's ``MlflowClient(url).get_metric_history``.
5. ``POST runs/search``: 1,000 of 10,000 runs with ``metrics.m0 < 0.5 and params.p0 = 'a'``
   ordered by ``metrics.m1 ASC`` (the data of ``bench_search_runs.py``), and 1,000 of 3,000 runs
   without a filter.
6. 1, 2, 4 and 5 again on PostgreSQL (a throwaway cluster from ``tests/pg_server.py``).

cairn runs with its default ``--workers 1``, MLflow with its default 4; on SQLite both are also
run with the other count for log-batch and log-metric (labels: ``c1/m4`` = cairn 1 worker vs
MLflow 4). The search data is built once per store and cached under ``benchmarks/.cache/``
(MLflow's 10,000 runs are ``bench_search_runs.py``'s cache); PostgreSQL gets a copy of the SQLite
tables.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import http.client
import itertools
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench_search_runs import (
    BASE_TIME_MS,
    EXPERIMENT,
    FILTER,
    MAX_RESULTS,
    N_RUNS,
    ORDER_BY,
    SEED,
    expected_matches,
    make_runs,
)
from common import (
    BENCH_DIR,
    CACHE_DIR,
    MISSING,
    CallFailed,
    Row,
    bench_main,
    call_mlflow,
    clean_env,
    fresh_dir,
    log,
    mlflow_available,
    mlflow_python,
    mlflow_version,
)

CAIRN_BIN = Path(sys.executable).with_name("cairn")
API = "/api/2.0/mlflow/"
JSON_HEADERS = {"Content-Type": "application/json"}
IDLE_S = 1.0  # reconnect before a request on a connection idle this long (keep-alive timeouts)

# 1. log-batch
BATCH_KEYS, BATCH_STEPS = 10, 100  # 1,000 metrics per request
BATCH_CONNS = 4
BATCH_SECONDS = 5.0
BATCH_MAX_REQUESTS = 3000
BATCH_BLOCKS = 250  # distinct step blocks per run; request j -> run j // 250, block j % 250
# 2. log-metric
METRIC_REQUESTS = 2000
METRIC_MAX_S = 12.0
# 3. the mlflow client
CLIENT_CALLS = 500
CLIENT_MAX_S = 12.0
# 4. get-history
HISTORY_POINTS = 100_000
HISTORY_PAGE = 25_000  # what the mlflow client (and cairn's) asks for per page
HISTORY_KEY = "history"
# 5. search
SMALL_RUNS = 3000
SMALL_SEED = SEED + 1
SMALL_EXPERIMENT = "server-search-3k"
# repetitions: up to N timed calls within a budget; a warm-up call first unless it was slow
REPEATS = 7
BUDGET_S = 6.0
SLOW_S = 1.0  # a warm-up slower than this counts as the first sample
START_TIMEOUT_S = 300.0

TARGET_BATCH_PER_METRIC_S = 1 / 500_000
TARGET_LOG_METRIC_P50_S = 0.001
TARGET_CLIENT_GAP_S = 0.0005
TARGET_HISTORY_S = 0.100
TARGET_SEARCH_S = 0.050

SQLITE, POSTGRES = "SQLite", "PostgreSQL"


# --------------------------------------------------------------------------- HTTP client


class _Connection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Api:
    """One keep-alive connection to a server's REST API."""

    def __init__(self, port: int) -> None:
        self.conn = _Connection("127.0.0.1", port, timeout=900)
        self.last_used = math.inf

    def send(self, method: str, endpoint: str, body: bytes | None = None) -> tuple[int, bytes]:
        if time.perf_counter() - self.last_used > IDLE_S:  # the server may have closed it
            self.conn.close()
        headers = JSON_HEADERS if body is not None else {}
        self.conn.request(method, API + endpoint, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        self.last_used = time.perf_counter()
        return resp.status, data

    def call(self, method: str, endpoint: str, body: bytes | None = None) -> bytes:
        status, data = self.send(method, endpoint, body)
        if status != 200:
            raise RuntimeError(f"{method} {endpoint}: HTTP {status}: {data[:300]!r}")
        return data

    def json(self, method: str, endpoint: str, payload: Any = None) -> Any:
        body = None if payload is None else json.dumps(payload).encode()
        return json.loads(self.call(method, endpoint, body))

    def close(self) -> None:
        self.conn.close()


def create_run(port: int, name: str) -> str:
    api = Api(port)
    try:
        start = int(time.time() * 1000)
        payload = {"experiment_id": "0", "start_time": start, "run_name": name}
        return str(api.json("POST", "runs/create", payload)["run"]["info"]["run_id"])
    finally:
        api.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def repeat_time(fn: Callable[[], Any], repeats: int = REPEATS, budget_s: float = BUDGET_S) -> dict:
    """Median wall time of up to ``repeats`` calls within ``budget_s`` (at least one), after a
    warm-up call; a warm-up slower than ``SLOW_S`` is kept as the first sample instead."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    samples = [first] if first > SLOW_S else []
    while len(samples) < repeats and (not samples or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return {"time": statistics.median(samples), "n": len(samples)}


# --------------------------------------------------------------------------- load generators


def run_load(
    port: int,
    endpoint: str,
    body_for: Callable[[int, int, int], bytes],
    max_requests: int,
    seconds: float,
    conns: int,
) -> dict[str, Any]:
    """POST ``body_for(j, i, k)`` over ``conns`` keep-alive connections (one thread each) until
    ``max_requests`` were sent or ``seconds`` passed: j counts all requests, k those of
    connection i. Wall time, client CPU time (this process), per-request latencies, failures."""
    counter = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(conns)]
    failures: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(conns + 1)
    deadline = [math.inf]

    def worker(i: int) -> None:
        api = Api(port)
        try:
            api.conn.connect()
            barrier.wait()
            mine = latencies[i]
            for k in itertools.count():
                j = next(counter)
                if j >= max_requests or time.perf_counter() > deadline[0]:
                    break
                body = body_for(j, i, k)
                t0 = time.perf_counter()
                status, data = api.send("POST", endpoint, body)
                mine.append(time.perf_counter() - t0)
                if status != 200:
                    failures.append(f"HTTP {status}: {data[:200]!r}")
        except BaseException as exc:
            errors.append(exc)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.abort()
        finally:
            api.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if errors:
        raise errors[0]
    flat = [x for per in latencies for x in per]
    return {
        "requests": len(flat),
        "failed": len(failures),
        "first_failure": failures[0] if failures else "",
        "wall": wall,
        "cpu": cpu,
        "latencies": flat,
    }


def batch_blocks(keys: int = BATCH_KEYS, steps: int = BATCH_STEPS) -> list[bytes]:
    """The metrics arrays of log-batch bodies: block b holds steps b*100 .. b*100+99 of k0..k9."""
    rng = random.Random(SEED)
    blocks = []
    for b in range(BATCH_BLOCKS):
        metrics = [
            {"key": f"k{k}", "value": rng.random(), "timestamp": BASE_TIME_MS + s, "step": s}
            for k in range(keys)
            for s in range(b * steps, (b + 1) * steps)
        ]
        blocks.append(json.dumps(metrics, separators=(",", ":")).encode())
    return blocks


def batch_body(run_id: str, metrics_json: bytes) -> bytes:
    return b'{"run_id":"' + run_id.encode() + b'","metrics":' + metrics_json + b"}"


def measure_log_batch(port: int, blocks: list[bytes]) -> dict[str, Any]:
    """Workload 1: warm up with 8 requests, then the timed load. Each connection logs to a run
    of its own (a new one every 250 requests), as separate training processes would."""
    warm = create_run(port, "log-batch-warmup")
    run_load(
        port, "runs/log-batch", lambda j, i, k: batch_body(warm, blocks[j]), 8, 60, BATCH_CONNS
    )
    runs = [[create_run(port, f"log-batch-{i}")] for i in range(BATCH_CONNS)]

    def body_for(j: int, i: int, k: int) -> bytes:
        if k // len(blocks) >= len(runs[i]):
            runs[i].append(create_run(port, f"log-batch-{i}-{len(runs[i])}"))
        return batch_body(runs[i][k // len(blocks)], blocks[k % len(blocks)])

    result = run_load(
        port, "runs/log-batch", body_for, BATCH_MAX_REQUESTS, BATCH_SECONDS, BATCH_CONNS
    )
    ok = result["requests"] - result["failed"]
    result["metrics_per_s"] = ok * BATCH_KEYS * BATCH_STEPS / result["wall"]
    result["per_metric"] = 1 / result["metrics_per_s"] if ok else None
    result["latency_p50"] = percentile(result.pop("latencies"), 50)
    return result


def measure_log_metric(port: int) -> dict[str, Any]:
    """Workload 2: sequential log-metric requests on one keep-alive connection."""
    run_id = create_run(port, "log-metric")
    warmup = 20
    bodies = [
        json.dumps(
            {
                "run_id": run_id,
                "key": "m",
                "value": i * 0.001,
                "timestamp": BASE_TIME_MS + i,
                "step": i,
            }
        ).encode()
        for i in range(warmup + METRIC_REQUESTS)
    ]
    run_load(port, "runs/log-metric", lambda j, i, k: bodies[j], warmup, 60, 1)
    result = run_load(
        port,
        "runs/log-metric",
        lambda j, i, k: bodies[warmup + j],
        METRIC_REQUESTS,
        METRIC_MAX_S,
        1,
    )
    lat = result.pop("latencies")
    result.update({f"p{q}": percentile(lat, q) for q in (50, 90, 99)})
    result["client_cpu_per_request"] = result["cpu"] / max(1, result["requests"])
    return result


# --------------------------------------------------------------------------- a do-nothing server

NULL_SERVER = r"""
import socket, sys, threading
REPLY = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
def serve(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray()
    while True:
        while (end := buf.find(b"\r\n\r\n")) < 0:
            chunk = conn.recv(1 << 18)
            if not chunk:
                return
            buf += chunk
        length = 0
        for line in bytes(buf[:end]).split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(buf) < end + 4 + length:
            chunk = conn.recv(1 << 18)
            if not chunk:
                return
            buf += chunk
        del buf[: end + 4 + length]
        conn.sendall(REPLY)
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(64)
print(sock.getsockname()[1], flush=True)
while True:
    conn, _ = sock.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""


def measure_client_floor(blocks: list[bytes]) -> dict[str, Any]:
    """This client against a server that answers ``{}`` at once (Python too: an upper bound)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", NULL_SERVER], stdout=subprocess.PIPE, text=True, env=clean_env()
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        batch = run_load(
            port,
            "runs/log-batch",
            lambda j, i, k: batch_body("0" * 32, blocks[j % len(blocks)]),
            BATCH_MAX_REQUESTS,
            2.0,
            BATCH_CONNS,
        )
        metric = measure_log_metric_floor(port)
    finally:
        proc.kill()
        proc.wait()
    return {
        "batch_metrics_per_s": batch["requests"] * BATCH_KEYS * BATCH_STEPS / batch["wall"],
        "batch_cpu_per_request": batch["cpu"] / batch["requests"],
        "metric_p50": metric["p50"],
        "metric_cpu_per_request": metric["client_cpu_per_request"],
    }


def measure_log_metric_floor(port: int) -> dict[str, Any]:
    body = b'{"run_id":"%s","key":"m","value":1.0,"timestamp":1,"step":1}' % (b"0" * 32)
    result = run_load(port, "runs/log-metric", lambda j, i, k: body, METRIC_REQUESTS, 10, 1)
    lat = result.pop("latencies")
    return {"p50": percentile(lat, 50), "client_cpu_per_request": result["cpu"] / len(lat)}


# --------------------------------------------------------------------------- get-history


def populate_history(port: int) -> tuple[str, float]:
    """One run whose key ``history`` gets 100,000 points, 1,000 per log-batch, 4 connections."""
    run_id = create_run(port, "history")
    rng = random.Random(SEED)
    bodies = []
    for lo in range(0, HISTORY_POINTS, 1000):
        metrics = [
            {"key": HISTORY_KEY, "value": rng.random(), "timestamp": BASE_TIME_MS + i, "step": i}
            for i in range(lo, lo + 1000)
        ]
        bodies.append(batch_body(run_id, json.dumps(metrics, separators=(",", ":")).encode()))
    result = run_load(
        port, "runs/log-batch", lambda j, i, k: bodies[j], len(bodies), 3600, BATCH_CONNS
    )
    if result["failed"]:
        raise RuntimeError(
            f"history: {result['failed']} log-batch failed: {result['first_failure']}"
        )
    return run_id, result["wall"]


def history_query(run_id: str, max_results: int | None, page_token: str | None = None) -> str:
    from urllib.parse import urlencode

    query: dict[str, Any] = {"run_id": run_id, "run_uuid": run_id, "metric_key": HISTORY_KEY}
    if max_results is not None:
        query["max_results"] = max_results
    if page_token:
        query["page_token"] = page_token
    return "metrics/get-history?" + urlencode(query)


def measure_history(port: int, url: str, run_id: str, tool: str) -> dict[str, Any]:
    """Workload 4 with this process as the client: one request, paged, and cairn's client."""
    import msgspec

    from cairn import TrackingClient

    class Page(msgspec.Struct):
        next_page_token: str = ""

    page_decoder = msgspec.json.Decoder(Page)
    api = Api(port)
    # cairn: one page up to 10^6 points on request; MLflow: everything when max_results is unset
    single = history_query(run_id, HISTORY_POINTS if tool == "cairn" else None)

    def one_request() -> bytes:
        return api.call("GET", single)

    def paged() -> int:
        pages, token = 0, None
        while True:
            data = api.call("GET", history_query(run_id, HISTORY_PAGE, token))
            pages += 1
            token = page_decoder.decode(data).next_page_token
            if not token:
                return pages

    points = len(json.loads(one_request()).get("metrics", []))
    n_pages = paged()
    client = TrackingClient(url)
    columns = client.get_metric_history_columns(run_id, HISTORY_KEY)
    if points != HISTORY_POINTS or len(columns) != HISTORY_POINTS:
        raise AssertionError(f"get-history read {points} / {len(columns)} points")
    result = {
        "single": repeat_time(one_request),
        "paged": repeat_time(paged),
        "pages": n_pages,
        "cairn_client": repeat_time(lambda: client.get_metric_history_columns(run_id, HISTORY_KEY)),
    }
    api.close()
    return result


# --------------------------------------------------------------------------- search


def measure_search(port: int) -> dict[str, Any]:
    """Workload 5: both searches, timed as request wall time on loopback."""
    api = Api(port)
    from urllib.parse import quote

    def experiment_id(name: str) -> str:
        data = api.json("GET", "experiments/get-by-name?experiment_name=" + quote(name))
        return str(data["experiment"]["experiment_id"])

    filtered = json.dumps(
        {
            "experiment_ids": [experiment_id(EXPERIMENT)],
            "filter": FILTER,
            "order_by": ORDER_BY,
            "max_results": MAX_RESULTS,
            "run_view_type": "ACTIVE_ONLY",
        }
    ).encode()
    plain = json.dumps(
        {"experiment_ids": [experiment_id(SMALL_EXPERIMENT)], "max_results": MAX_RESULTS}
    ).encode()

    def names(body: bytes) -> list[str]:
        runs = json.loads(api.call("POST", "runs/search", body)).get("runs", [])
        return [r["info"]["run_name"] for r in runs]

    result = {
        "filtered_names": names(filtered),
        "plain_names": names(plain),
        "filtered": repeat_time(lambda: api.call("POST", "runs/search", filtered)),
        "plain": repeat_time(lambda: api.call("POST", "runs/search", plain)),
    }
    api.close()
    return result


# --------------------------------------------------------------------------- the search data


def populate_cairn(runs: list[dict[str, Any]], name: str) -> None:
    """``bench_search_runs.populate_cairn`` into an experiment called ``name``."""
    from cairn import TrackingClient
    from cairn.entities import Metric, Param, RunTag

    client = TrackingClient()
    experiment_id = client.create_experiment(name)
    for i, spec in enumerate(runs):
        ts = BASE_TIME_MS + i
        run = client.create_run(experiment_id, start_time=ts, run_name=spec["name"])
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, ts, 0) for k, v in spec["metrics"].items()],
            params=[Param(k, v) for k, v in spec["params"].items()],
            tags=[RunTag(k, v) for k, v in spec["tags"].items()],
        )
        client.set_terminated(run.info.run_id, end_time=ts + 1000)


def cairn_search_db() -> Path:
    """The cached SQLite store with both search experiments (built once: minutes)."""
    import cairn
    import cairn.store.db as db_package
    from cairn.store.db.engine import dispose_engines

    db_dir = Path(db_package.__file__).parent
    schema_files = [
        db_dir / "schema.py",
        *sorted((db_dir / "migrations" / "versions").glob("*.py")),
    ]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in schema_files)).hexdigest()[:10]
    cache = CACHE_DIR / (
        f"cairn-{cairn.__version__}-schema-{digest}-server-search-"
        f"{N_RUNS}+{SMALL_RUNS}runs-seed{SEED}.db"
    )
    if cache.exists():
        return cache
    log(f"cairn: building {cache.name} ({N_RUNS + SMALL_RUNS:,} runs; minutes, cached after)")
    with fresh_dir() as tmp:
        start = time.perf_counter()
        populate_cairn(make_runs(N_RUNS, SEED), EXPERIMENT)
        populate_cairn(make_runs(SMALL_RUNS, SMALL_SEED), SMALL_EXPERIMENT)
        dispose_engines()
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp / "cairn.db", cache)
        log(f"cairn: built in {time.perf_counter() - start:.0f} s")
    return cache


def mlflow_search_db() -> Path:
    """The cached MLflow SQLite DB: ``bench_search_runs.py``'s 10,000 runs + 3,000 more."""
    version = mlflow_version()
    base = CACHE_DIR / f"mlflow-{version}-search-{N_RUNS}runs-seed{SEED}.db"
    cache = CACHE_DIR / f"mlflow-{version}-server-search-{N_RUNS}+{SMALL_RUNS}runs-seed{SEED}.db"
    if cache.exists():
        return cache
    if not base.exists():
        log(f"mlflow: building {base.name} via bench_search_runs.py (minutes, cached after)")
        call_mlflow(
            BENCH_DIR / "bench_search_runs.py",
            "mlflow_search",
            n_runs=N_RUNS,
            seed=SEED,
            cache=str(base),
            repeats=1,
        )
    log(f"mlflow: building {cache.name} (+{SMALL_RUNS:,} runs; minutes, cached after)")
    call_mlflow(
        __file__,
        "mlflow_add_experiment",
        src=str(base),
        dst=str(cache),
        name=SMALL_EXPERIMENT,
        n_runs=SMALL_RUNS,
        seed=SMALL_SEED,
    )
    return cache


def mlflow_add_experiment(src: str, dst: str, name: str, n_runs: int, seed: int) -> float:
    """MLflow venv: a copy of ``src`` with one more experiment of ``make_runs(n_runs, seed)``."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    tmp = Path("mlflow.db")
    shutil.copyfile(src, tmp)
    client = MlflowClient(f"sqlite:///{tmp.resolve()}")
    start = time.perf_counter()
    experiment_id = client.create_experiment(name)
    for i, spec in enumerate(make_runs(n_runs, seed)):
        ts = BASE_TIME_MS + i
        run = client.create_run(experiment_id, start_time=ts, run_name=spec["name"])
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, ts, 0) for k, v in spec["metrics"].items()],
            params=[Param(k, v) for k, v in spec["params"].items()],
            tags=[RunTag(k, v) for k, v in spec["tags"].items()],
        )
        client.set_terminated(run.info.run_id, end_time=ts + 1000)
    shutil.copyfile(tmp, dst)
    return time.perf_counter() - start


def copy_tables(src_uri: str, dst_uri: str, tables: list[Any], src_tables: dict[str, Any]) -> int:
    """Replace the rows of ``tables`` (in ``dst_uri``) with those of ``src_tables`` (by name),
    reset PostgreSQL's sequences and ANALYZE. Shared by the cairn and MLflow copies."""
    import sqlalchemy as sa

    src, dst = sa.create_engine(src_uri), sa.create_engine(dst_uri)
    copied = 0
    with src.connect() as reader, dst.begin() as writer:
        for table in reversed(tables):
            writer.execute(table.delete())
        for table in tables:
            source = src_tables.get(table.name)
            if source is None:
                continue
            names = [c.name for c in table.columns if c.name in source.c]
            bools = [c.name for c in table.columns if isinstance(c.type, sa.Boolean)]
            rows = reader.execute(sa.select(*(source.c[n] for n in names))).mappings()
            while chunk := [dict(row) for row in rows.fetchmany(10_000)]:
                for row in chunk:
                    for name in bools:
                        if row.get(name) is not None:
                            row[name] = bool(row[name])
                writer.execute(table.insert(), chunk)
                copied += len(chunk)
        for table in tables:
            for column in table.columns:
                seq = writer.execute(
                    sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                    {"t": table.name, "c": column.name},
                ).scalar()
                if seq:
                    writer.execute(
                        sa.text(
                            f"SELECT setval('{seq}', COALESCE((SELECT max({column.name}) "
                            f"FROM {table.name}), 0) + 1, false)"
                        )
                    )
    with dst.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE"))
    src.dispose()
    dst.dispose()
    return copied


def copy_cairn_to_postgres(sqlite_path: Path, pg_uri: str) -> int:
    """cairn's migrations on the empty database, then the cached SQLite store's rows."""
    import sqlalchemy as sa

    from cairn.store.db import schema
    from cairn.store.db.migrate import ensure_schema

    engine = sa.create_engine(pg_uri)
    ensure_schema(engine)
    engine.dispose()
    tables = list(schema.metadata.sorted_tables)
    return copy_tables(f"sqlite:///{sqlite_path}", pg_uri, tables, schema.metadata.tables)


def mlflow_copy_to_postgres(src: str, uri: str) -> int:
    """MLflow venv: the rows of the (migrated) SQLite DB into the migrated PostgreSQL DB."""
    import sqlalchemy as sa

    src_meta, dst_meta = sa.MetaData(), sa.MetaData()
    src_meta.reflect(sa.create_engine(f"sqlite:///{src}"))
    dst_meta.reflect(sa.create_engine(uri))
    tables = [t for t in dst_meta.sorted_tables if t.name != "alembic_version"]
    return copy_tables(f"sqlite:///{src}", uri, tables, dict(src_meta.tables))


# --------------------------------------------------------------------------- the mlflow client


def mlflow_client_workloads(
    url: str, calls: int, max_s: float, history_run: str | None
) -> dict[str, Any]:
    """MLflow venv: ``mlflow.log_metric`` per call (wall and this process's CPU time), and
    ``MlflowClient.get_metric_history`` of the history run."""
    import mlflow
    from mlflow import MlflowClient

    out: dict[str, Any] = {}
    mlflow.set_tracking_uri(url)
    if calls:
        walls, cpus = [], []
        with mlflow.start_run(experiment_id="0"):
            for i in range(20):
                mlflow.log_metric("warmup", float(i), step=i)
            deadline = time.perf_counter() + max_s
            for i in range(calls):
                c0, w0 = time.process_time(), time.perf_counter()
                mlflow.log_metric("m", i * 0.5, step=i)
                w1, c1 = time.perf_counter(), time.process_time()
                walls.append(w1 - w0)
                cpus.append(c1 - c0)
                if w1 > deadline:
                    break
        out["log_metric"] = {
            "n": len(walls),
            "wall": statistics.median(walls),
            "cpu": statistics.median(cpus),
            "gap": statistics.median(w - c for w, c in zip(walls, cpus, strict=True)),
        }
    if history_run:
        client = MlflowClient(url)
        points = len(client.get_metric_history(history_run, HISTORY_KEY))
        timing = repeat_time(lambda: client.get_metric_history(history_run, HISTORY_KEY))
        out["history"] = {"points": points, **timing}
    return out


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(tool: str, uri: str, workdir: Path, workers: int) -> Iterator[int]:
    """``cairn server`` / ``mlflow server`` on a free port, in its own process group; yields the
    port once ``/health`` answers and every worker has started."""
    port = free_port()
    artifacts = workdir / f"{tool}-artifacts"
    env = clean_env()
    if tool == "cairn":
        cmd = [str(CAIRN_BIN), "server", "--backend-store-uri", uri, "--artifacts-destination"]
        cmd += [str(artifacts), "--port", str(port), "--workers", str(workers)]
    else:
        mlflow_bin = Path(str(mlflow_python())).with_name("mlflow")
        cmd = [str(mlflow_bin), "server", "--backend-store-uri", uri, "--default-artifact-root"]
        cmd += [str(artifacts), "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--workers", str(workers)]
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no huey job consumers
    log_path = workdir / f"{tool}-server-{port}.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        start = time.perf_counter()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{tool} server exited {proc.returncode}: {tail(log_path)}")
            if time.perf_counter() - start > START_TIMEOUT_S:
                raise RuntimeError(f"{tool} server did not start: {tail(log_path)}")
            started = log_path.read_bytes().count(b"Application startup complete")
            if started >= workers and healthy(port):
                break
            time.sleep(0.2)
        log(f"{tool} server ({workers} workers, {uri.split(':')[0]}) up in "
            f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        yield port
    except BaseException:
        log(f"{tool} server log:\n{tail(log_path, 30)}")
        raise
    finally:
        stop_group(proc)


def healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/health")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (ours: it was started in a new session), then
    SIGKILL whatever is left after a few seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=8)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def tail(path: Path, lines: int = 12) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.strip().splitlines()[-lines:])


# --------------------------------------------------------------------------- one configuration


def measure_server(
    tool: str, uri: str, workdir: Path, workers: int, workloads: set[str], blocks: list[bytes]
) -> dict[str, Any]:
    """Start one server and run the named workloads against it, search first (before writes)."""
    out: dict[str, Any] = {}
    with server(tool, uri, workdir, workers) as port:
        url = f"http://127.0.0.1:{port}"
        if "search" in workloads:
            out["search"] = measure_search(port)
        if "batch" in workloads:
            out["batch"] = measure_log_batch(port, blocks)
        if "metric" in workloads:
            out["metric"] = measure_log_metric(port)
        history_run = None
        if "history" in workloads:
            history_run, out["history_populate"] = populate_history(port)
            out["history"] = measure_history(port, url, history_run, tool)
        calls = CLIENT_CALLS if "client" in workloads else 0
        if mlflow_available() and (calls or history_run):
            out["mlflow_client"] = call_mlflow(
                __file__,
                "mlflow_client_workloads",
                url=url,
                calls=calls,
                max_s=CLIENT_MAX_S,
                history_run=history_run,
            )
    return out


ALL = {"search", "batch", "metric", "client", "history"}
# (tool, backend, workers, workloads); defaults first: cairn 1 worker, MLflow 4.
PLAN: list[tuple[str, str, int, set[str]]] = [
    ("cairn", SQLITE, 1, ALL),
    ("mlflow", SQLITE, 4, ALL),
    ("cairn", SQLITE, 4, {"batch", "metric"}),
    ("mlflow", SQLITE, 1, {"batch", "metric", "client"}),
    ("cairn", POSTGRES, 1, ALL - {"client"}),
    ("mlflow", POSTGRES, 4, ALL - {"client"}),
]


def measure_all() -> tuple[dict[tuple[str, str, int], Any], dict[str, Any]]:
    """Every configuration of PLAN that can run here; failures are kept as strings."""
    results: dict[tuple[str, str, int], Any] = {}
    info: dict[str, Any] = {}
    have_mlflow = mlflow_available()
    blocks = batch_blocks()
    info["floor"] = measure_client_floor(blocks)
    log(f"client floor: {info['floor']}")

    # the search data: both caches built side by side when missing
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        mlflow_db = pool.submit(mlflow_search_db) if have_mlflow else None
        cairn_db = cairn_search_db()
        mlflow_cache = mlflow_db.result() if mlflow_db is not None else None
    info["caches"] = [cairn_db.name] + ([mlflow_cache.name] if mlflow_cache else [])

    pg, pg_error = None, ""
    try:
        for tool, backend, workers, workloads in PLAN:
            key = (tool, backend, workers)
            if tool == "mlflow" and not have_mlflow:
                continue
            if backend == POSTGRES and pg is None:
                if pg_error:
                    results[key] = pg_error
                    continue
                try:
                    pg = start_postgres(cairn_db, mlflow_cache, info)
                except Exception as exc:  # no PostgreSQL here: the SQLite figures still stand
                    pg_error = f"PostgreSQL unavailable: {exc}".splitlines()[0]
                    log(pg_error)
                    results[key] = pg_error
                    continue
            log(f"=== {tool} server, {backend}, {workers} worker(s): {sorted(workloads)}")
            with fresh_dir(f"bench-server-{tool}-") as workdir:
                if backend == SQLITE:
                    db = workdir / f"{tool}.db"
                    shutil.copyfile(cairn_db if tool == "cairn" else mlflow_cache, db)  # type: ignore[arg-type]
                    uri = f"sqlite:///{db}"
                else:
                    uri = info["pg_uris"][tool]
                    if isinstance(uri, str) and uri.startswith("error"):
                        results[key] = uri
                        continue
                try:
                    results[key] = measure_server(tool, uri, workdir, workers, workloads, blocks)
                except (RuntimeError, CallFailed, AssertionError, OSError) as exc:
                    log(f"{tool} {backend} -w {workers} FAILED: {exc}")
                    results[key] = f"failed: {str(exc).splitlines()[0][:200]}"
    finally:
        if pg is not None:
            pg.stop()
    return results, info


def start_postgres(cairn_db: Path, mlflow_db: Path | None, info: dict[str, Any]) -> Any:
    """A throwaway cluster with a copy of each cached search store."""
    sys.path.insert(0, str(BENCH_DIR.parent / "tests"))
    from pg_server import PostgresServer

    pg = PostgresServer().start()
    info["pg_version"] = pg.version
    uris: dict[str, str] = {}
    start = time.perf_counter()
    uris["cairn"] = pg.create_database("cairn_bench")
    rows = copy_cairn_to_postgres(cairn_db, uris["cairn"])
    log(f"PostgreSQL {pg.version}: cairn store copied ({rows:,} rows) in "
        f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    if mlflow_db is not None:
        # SQLAlchemy 2.1 defaults to psycopg 3; MLflow's usual driver is psycopg2
        uri = pg.create_database("mlflow_bench").replace("+psycopg:", "+psycopg2:")
        probe = subprocess.run(
            [str(mlflow_python()), "-c", "import psycopg2"], capture_output=True, check=False
        )
        if probe.returncode != 0:
            uris["mlflow"] = "error: no psycopg2 in the MLflow venv (pip install psycopg2-binary)"
        else:
            start = time.perf_counter()
            mlflow_bin = Path(str(mlflow_python())).with_name("mlflow")
            upgrade = subprocess.run(
                [str(mlflow_bin), "db", "upgrade", uri],
                capture_output=True,
                text=True,
                env=clean_env(),
                check=False,
            )
            if upgrade.returncode != 0:
                uris["mlflow"] = "error: mlflow db upgrade: " + upgrade.stderr.strip()[-200:]
            else:
                rows = call_mlflow(__file__, "mlflow_copy_to_postgres", src=str(mlflow_db), uri=uri)
                uris["mlflow"] = uri
                log(f"PostgreSQL: MLflow migrated and copied ({rows:,} rows) in "
                    f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    info["pg_uris"] = uris
    return pg


# --------------------------------------------------------------------------- report


def get(results: dict, tool: str, backend: str, workers: int, *path: str) -> Any:
    """results[config][path...]; "failed" if that server failed, None if it was not measured."""
    value = results.get((tool, backend, workers))
    if value is None:
        return MISSING if tool == "mlflow" and not mlflow_available() else None
    if isinstance(value, str):
        return "failed" if value.startswith("failed") else None
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def run() -> list[Row]:
    started = time.perf_counter()
    load_before = os.getloadavg()
    results, info = measure_all()
    rows: list[Row] = []

    def both(backend: str, cw: int, mw: int, *path: str) -> tuple[Any, Any]:
        return get(results, "cairn", backend, cw, *path), get(results, "mlflow", backend, mw, *path)

    def throughput(x: Any) -> str:
        return f"{x:,.0f}" if isinstance(x, float) else str(x or "-")

    for backend in (SQLITE, POSTGRES):
        db = "SQLite" if backend == SQLITE else "PG"
        pairs = [(1, 4), (4, 4), (1, 1)] if backend == SQLITE else [(1, 4)]
        section_notes = workload_notes(results, info, backend)
        # 1. log-batch
        for i, (cw, mw) in enumerate(pairs):
            c, m = both(backend, cw, mw, "batch", "per_metric")
            ct, mt = both(backend, cw, mw, "batch", "metrics_per_s")
            name = (
                f"{db} log-batch c{cw}/m{mw}: per metric ({throughput(ct)} vs {throughput(mt)}/s)"
            )
            note = section_notes["batch"] if i == 0 else ""
            rows.append(Row(name, c, m, "µs", TARGET_BATCH_PER_METRIC_S, note))
        # 2. log-metric
        for q in (50, 90, 99):
            c, m = both(backend, 1, 4, "metric", f"p{q}")
            target = TARGET_LOG_METRIC_P50_S if q == 50 else None
            note = section_notes["metric"] if q == 50 else ""
            rows.append(Row(f"{db} log-metric c1/m4: p{q}", c, m, "ms", target, note))
        for cw, mw in pairs[1:]:
            c, m = both(backend, cw, mw, "metric", "p50")
            name = f"{db} log-metric c{cw}/m{mw}: p50"
            rows.append(Row(name, c, m, "ms", TARGET_LOG_METRIC_P50_S))
        # 3. the mlflow client (SQLite only)
        if backend == SQLITE:
            for cw, mw in [(1, 4), (1, 1)]:
                c, m = both(backend, cw, mw, "mlflow_client", "log_metric", "wall")
                note = section_notes["client"] if mw == 4 else ""
                rows.append(Row(f"{db} mlflow.log_metric c{cw}/m{mw}: wall", c, m, note=note))
                c, m = both(backend, cw, mw, "mlflow_client", "log_metric", "gap")
                name = f"{db} mlflow.log_metric c{cw}/m{mw}: wall - client CPU"
                rows.append(Row(name, c, m, target=TARGET_CLIENT_GAP_S))
        # 4. get-history
        for label, path, target in [
            ("raw, 1 request", ("history", "single", "time"), TARGET_HISTORY_S),
            (f"raw, paged {HISTORY_PAGE // 1000}k", ("history", "paged", "time"), None),
            ("cairn client", ("history", "cairn_client", "time"), TARGET_HISTORY_S),
            ("mlflow client", ("mlflow_client", "history", "time"), None),
        ]:
            c, m = both(backend, 1, 4, *path)
            note = section_notes["history"] if label.startswith("raw, 1") else ""
            rows.append(Row(f"{db} get-history 100k c1/m4: {label}", c, m, "ms", target, note))
        # 5. search
        for label, path in [
            ("1,000 of 10k, filter+order", ("search", "filtered", "time")),
            ("1,000 of 3k, no filter", ("search", "plain", "time")),
        ]:
            c, m = both(backend, 1, 4, *path)
            note = section_notes["search"] if "filter+" in label else ""
            rows.append(Row(f"{db} search {label} c1/m4", c, m, "ms", TARGET_SEARCH_S, note))

    general = (
        f"Measured in {time.perf_counter() - started:.0f} s; load average "
        f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} CPUs "
        "(a shared machine: the client, the servers and other work share them). cN/mM = cairn "
        "server --workers N vs mlflow server --workers M (defaults: c1, m4); MLflow runs with "
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false (no huey job consumers competing for the CPUs)."
    )
    failures = [
        f"{tool} {backend} -w {workers}: {value}"
        for (tool, backend, workers), value in results.items()
        if isinstance(value, str)
    ]
    if failures:
        general += " NOT MEASURED: " + "; ".join(failures) + "."
    rows[0].note = general + " " + rows[0].note
    return rows


def workload_notes(results: dict, info: dict[str, Any], backend: str) -> dict[str, str]:
    """The notes of one backend's rows: how each figure was taken, per-server details, checks."""
    floor = info["floor"]
    configs = [
        (f"{tool} -w {workers}", value)
        for (tool, be, workers), value in results.items()
        if be == backend and isinstance(value, dict)
    ]
    batch, metric, client, history, search = [], [], [], [], []
    for tag, value in configs:
        if b := value.get("batch"):
            failed = f", {b['failed']} FAILED: {b['first_failure']}" if b["failed"] else ""
            batch.append(
                f"{tag} {b['requests']:,} requests in {b['wall']:.1f} s, p50 "
                f"{b['latency_p50'] * 1e3:.1f} ms, client CPU {b['cpu'] / b['wall']:.0%} of a "
                f"core{failed}"
            )
        if m := value.get("metric"):
            failed = f", {m['failed']} FAILED" if m["failed"] else ""
            metric.append(
                f"{tag} {m['requests']:,} requests, p50/p90/p99 {m['p50'] * 1e3:.2f}/"
                f"{m['p90'] * 1e3:.2f}/{m['p99'] * 1e3:.2f} ms{failed}"
            )
        mc = value.get("mlflow_client", {})
        if lm := mc.get("log_metric"):
            client.append(
                f"against {tag}: {lm['n']} calls, wall {lm['wall'] * 1e3:.2f} ms, client CPU "
                f"{lm['cpu'] * 1e3:.2f} ms"
            )
        if h := value.get("history"):
            history.append(
                f"{tag}: populated in {value['history_populate']:.1f} s, medians of "
                f"{h['single']['n']}/{h['paged']['n']} ({h['pages']} pages)/"
                f"{h['cairn_client']['n']}/{mc.get('history', {}).get('n', '-')}"
            )
        if s := value.get("search"):
            search.append(
                f"{tag}: {len(s['filtered_names']):,} and {len(s['plain_names']):,} runs, "
                f"medians of {s['filtered']['n']}/{s['plain']['n']}"
            )
    out = {
        "batch": (
            f"POST runs/log-batch, 1,000 metrics per request (10 keys x 100 steps, distinct "
            f"steps), {BATCH_CONNS} keep-alive connections, each logging to its own run, for "
            f"{BATCH_SECONDS:g} s or {BATCH_MAX_REQUESTS:,} requests; shown as time per metric "
            "= 1/throughput (target 500,000 metrics/s = 2 µs). " + "; ".join(batch) + "."
        ),
        "metric": (
            f"POST runs/log-metric, {METRIC_REQUESTS:,} sequential requests on one keep-alive "
            f"connection (at most {METRIC_MAX_S:g} s). " + "; ".join(metric) + "."
        ),
        "client": (
            f"mlflow.log_metric (MLflow {mlflow_version()}'s client, its own process) "
            f"{CLIENT_CALLS} calls (at most {CLIENT_MAX_S:g} s), medians per call of wall time "
            "and of wall - the client's CPU time (time.process_time). " + "; ".join(client) + "."
        ),
        "history": (
            f"GET metrics/get-history, {HISTORY_POINTS:,} points of one key. '1 request': cairn "
            "with max_results=100000, MLflow without max_results (then it returns all); "
            f"'paged': max_results={HISTORY_PAGE} + page_token, as both clients page; cairn "
            "client: TrackingClient(url).get_metric_history_columns; mlflow client: "
            "MlflowClient(url).get_metric_history. Median of up to "
            f"{REPEATS} after a warm-up (within {BUDGET_S:g} s; calls over {SLOW_S:g} s: the "
            "warm-up counts). " + "; ".join(history) + "."
        ),
        "search": (
            f"POST runs/search, request wall time: {FILTER!r}, order_by {ORDER_BY}, max_results "
            f"{MAX_RESULTS} over the {N_RUNS:,} runs of bench_search_runs.py "
            f"({expected_matches(make_runs(N_RUNS, SEED)):,} match); and max_results "
            f"{MAX_RESULTS} without filter over {SMALL_RUNS:,} runs. " + "; ".join(search) + "."
        ),
    }
    c = get(results, "cairn", backend, 1, "search")
    m = get(results, "mlflow", backend, 4, "search")
    if isinstance(c, dict) and isinstance(m, dict):
        same = (c["filtered_names"], c["plain_names"]) == (m["filtered_names"], m["plain_names"])
        out["search"] += f" Same runs in the same order on both servers: {'yes' if same else 'NO'}."
    if backend == SQLITE:
        out["batch"] += (
            f" Client floor (this client vs a do-nothing Python server): log-batch "
            f"{floor['batch_metrics_per_s']:,.0f} metrics/s, "
            f"{floor['batch_cpu_per_request'] * 1e6:,.0f} µs client CPU per request."
        )
        out["metric"] += (
            f" Client floor: p50 {floor['metric_p50'] * 1e3:.3f} ms, "
            f"{floor['metric_cpu_per_request'] * 1e6:.0f} µs client CPU per request."
        )
        out["search"] += " Cached stores: " + ", ".join(info["caches"]) + "."
    elif "pg_version" in info:
        out["batch"] = (
            f"PostgreSQL {info['pg_version']} (tests/pg_server.py: fsync off); each store is a "
            "copy of its SQLite one (rows copied, sequences reset, ANALYZE); MLflow through "
            "psycopg2. " + out["batch"]
        )
    return out


if __name__ == "__main__":
    bench_main(run, __doc__ or "")
