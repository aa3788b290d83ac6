"""64 concurrent clients against a multi-worker ``cairn server``: no 5xx, nothing lost (issue #3).

Each client has its own ``httpx.Client`` (one connection) in its own thread; a barrier starts
them together. Each creates a run (half in one shared experiment, half in an experiment of its
own), logs params, ~20 ``runs/log-batch`` requests of 100-1,000 metrics, single metrics and
tags, uploads three artifacts through the proxy and finishes the run. Every response status is
recorded. Afterwards the API must give back exactly what was sent: params, tags, every point of
every metric history, the latest metrics, every artifact byte, and all 64 runs in a search.

Runs on PostgreSQL with ``--workers 4`` and on SQLite with ``--workers 2`` (writes serialize
behind SQLite's lock; the busy timeout must cover the wait, never turn into an error).

A second test has 64 connections write to one run at once (it caught writers of one run on
PostgreSQL overwriting each other's params/tags summaries before writes locked the run row).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
CLIENTS = 64
BATCHES = 20
BATCH_POINTS = (100, 1000)
METRIC_KEYS = ("loss", "accuracy", "lr", "grad/norm")
SINGLE_METRICS = 5
# (name, smallest, largest size in bytes): 1 KB to 2 MB over the three.
ARTIFACT_SPECS = (
    ("notes.txt", 1024, 16 * 1024),
    ("data/part-0.bin", 16 * 1024, 512 * 1024),
    ("model/weights.bin", 512 * 1024, 2 * 1024 * 1024),
)
T0 = 1_700_000_000_000
REQUEST_TIMEOUT_S = 120.0


@dataclass
class Call:
    what: str
    status: int  # 0: no response (transport error)
    expected: int
    error: str = ""


@dataclass
class Sent:
    """Everything one client logged: what the API must give back."""

    index: int
    experiment_id: str = ""
    run_id: str = ""
    artifact_uri: str = ""
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # key -> step -> (value, timestamp); steps are unique per key
    metrics: dict[str, dict[int, tuple[float, int]]] = field(default_factory=dict)
    artifacts: dict[str, tuple[int, str]] = field(default_factory=dict)  # path -> size, sha256


class Recorder:
    """Counts requests in flight (to show the clients really overlap) and keeps every status."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak_in_flight = 0

    def request(
        self, client: httpx.Client, method: str, path: str, expected: int = 200, **kwargs: Any
    ) -> httpx.Response | None:
        what = f"{method} {_endpoint_name(path)}"
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            response = client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            with self._lock:
                self.calls.append(Call(what, 0, expected, f"{type(exc).__name__}: {exc}"))
            return None
        finally:
            with self._lock:
                self.in_flight -= 1
        error = "" if response.status_code == expected else response.text[:500]
        with self._lock:
            self.calls.append(Call(what, response.status_code, expected, error))
        return response


def _endpoint_name(path: str) -> str:
    """The endpoint without ids: artifact paths collapse to the proxy's prefix."""
    return ARTIFACTS if path.startswith(ARTIFACTS) else path.split("?")[0]


class Workload:
    def __init__(self, base_url: str, recorder: Recorder, shared_experiment: str, tag: str):
        self.base_url = base_url
        self.recorder = recorder
        self.shared_experiment = shared_experiment
        self.tag = tag  # unique per test, so experiment names never collide
        self.barrier = threading.Barrier(CLIENTS)

    def client(self, index: int) -> Sent:
        rng = random.Random(index)
        sent = Sent(index)
        with httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT_S) as http:

            def call(method: str, path: str, expected: int = 200, **kwargs: Any) -> Any:
                response = self.recorder.request(http, method, path, expected, **kwargs)
                if response is None or response.status_code != expected:
                    return None
                return response.json() if response.content else {}

            def post(path: str, body: dict[str, Any], expected: int = 200) -> Any:
                return call("POST", API + path, expected, json=body)

            http.get("/health").raise_for_status()  # connect before the start line
            self.barrier.wait(timeout=60)

            if index % 2:
                created = post("/experiments/create", {"name": f"{self.tag}-own-{index}"})
                if created is None:
                    return sent
                sent.experiment_id = created["experiment_id"]
            else:
                sent.experiment_id = self.shared_experiment
            sent.tags = {"client": str(index), "phase": "start"}
            run = post(
                "/runs/create",
                {
                    "experiment_id": sent.experiment_id,
                    "run_name": f"client-{index}",
                    "start_time": T0 + index,
                    "tags": [{"key": k, "value": v} for k, v in sent.tags.items()],
                },
            )
            if run is None:
                return sent
            sent.run_id = run["run"]["info"]["run_id"]
            sent.artifact_uri = run["run"]["info"]["artifact_uri"]
            sent.tags["mlflow.runName"] = f"client-{index}"
            run_ref = {"run_id": sent.run_id}

            for i in range(3):
                sent.params[f"p{i}"] = f"value-{index}-{i}"
                post(
                    "/runs/log-parameter",
                    {**run_ref, "key": f"p{i}", "value": f"value-{index}-{i}"},
                )
            # The same value again is fine; a different one is refused (and changes nothing).
            post("/runs/log-parameter", {**run_ref, "key": "p0", "value": f"value-{index}-0"})
            post("/runs/log-parameter", {**run_ref, "key": "p0", "value": "other"}, expected=400)

            steps = dict.fromkeys(METRIC_KEYS, 0)
            for batch in range(BATCHES):
                points = []
                for n in range(rng.randint(*BATCH_POINTS)):
                    key = METRIC_KEYS[n % len(METRIC_KEYS)]
                    step, steps[key] = steps[key], steps[key] + 1
                    value, timestamp = rng.uniform(-1e6, 1e6), T0 + step * 10 + n % 7
                    sent.metrics.setdefault(key, {})[step] = (value, timestamp)
                    points.append(
                        {"key": key, "value": value, "timestamp": timestamp, "step": step}
                    )
                body: dict[str, Any] = {**run_ref, "metrics": points}
                if batch == BATCHES // 2:  # one batch also carries params and tags
                    params = {f"batch-p{i}": f"{index}:{i}" for i in range(5)}
                    tags = {f"batch.t{i}": f"{index}/{i}" for i in range(3)}
                    sent.params |= params
                    sent.tags |= tags
                    body["params"] = [{"key": k, "value": v} for k, v in params.items()]
                    body["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
                post("/runs/log-batch", body)
                if batch % 7 == 3:  # artifacts between the batches
                    self._upload(call, rng, sent, ARTIFACT_SPECS[batch // 7])

            for step in range(SINGLE_METRICS):
                value, timestamp = rng.random(), T0 + 100_000 + step
                sent.metrics.setdefault("single", {})[step] = (value, timestamp)
                body = {"key": "single", "value": value, "timestamp": timestamp, "step": step}
                post("/runs/log-metric", {**run_ref, **body})
            step = steps["loss"]  # single points on a batched key: the latest point
            value, timestamp = rng.random(), T0 + 200_000
            sent.metrics["loss"][step] = (value, timestamp)
            post(
                "/runs/log-metric",
                {**run_ref, "key": "loss", "value": value, "timestamp": timestamp, "step": step},
            )

            for key, value in (("phase", "done"), ("owner", f"client-{index}"), ("x.y z", "1")):
                sent.tags[key] = value  # "phase" overwrites the tag set at creation
                post("/runs/set-tag", {**run_ref, "key": key, "value": value})
            post("/runs/update", {**run_ref, "status": "FINISHED", "end_time": T0 + 10**6})
        return sent

    def _upload(
        self, call: Callable[..., Any], rng: random.Random, sent: Sent, spec: tuple[str, int, int]
    ) -> None:
        name, smallest, largest = spec
        data = rng.randbytes(rng.randint(smallest, largest))
        sent.artifacts[name] = (len(data), hashlib.sha256(data).hexdigest())
        call("PUT", _artifact_url(sent, name), content=data)


def _artifact_url(sent: Sent, name: str) -> str:
    prefix = "mlflow-artifacts:/"
    assert sent.artifact_uri.startswith(prefix), sent.artifact_uri
    return f"{ARTIFACTS}/{sent.artifact_uri[len(prefix) :]}/{name}"


# ------------------------------------------------------------------ verification


def _get(http: httpx.Client, path: str, params: dict[str, Any]) -> Any:
    response = http.get(path, params=params)
    assert response.status_code == 200, f"GET {path} {params}: {response.text[:500]}"
    return response.json()


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    response = http.post(path, json=body)
    assert response.status_code == 200, f"POST {path}: {response.text[:500]}"
    return response.json()


def _history(http: httpx.Client, run_id: str, key: str) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = []
    token = None
    while True:
        params = {"run_id": run_id, "metric_key": key, "max_results": 2000}
        if token:
            params["page_token"] = token
        page = _get(http, f"{API}/metrics/get-history", params)
        points += page.get("metrics", [])
        token = page.get("next_page_token")
        if not token:
            return points


def verify_run(base_url: str, sent: Sent) -> list[str]:
    """Everything the API gives back for one run that differs from what was sent."""
    problems: list[str] = []
    who = f"client {sent.index} run {sent.run_id}"
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as http:
        run = _get(http, f"{API}/runs/get", {"run_id": sent.run_id})["run"]
        info, data = run["info"], run["data"]
        if info["status"] != "FINISHED" or info["experiment_id"] != sent.experiment_id:
            problems.append(f"{who}: info {info}")
        params = {p["key"]: p["value"] for p in data.get("params", [])}
        if params != sent.params:
            problems.append(f"{who}: params {params} != {sent.params}")
        tags = {t["key"]: t["value"] for t in data.get("tags", [])}
        missing = {k: v for k, v in sent.tags.items() if tags.get(k) != v}
        if missing:
            problems.append(f"{who}: tags differ on {missing}; got {tags}")

        latest = {m["key"]: m for m in data.get("metrics", [])}
        if set(latest) != set(sent.metrics):
            problems.append(f"{who}: latest metric keys {sorted(latest)}")
        for key, points in sent.metrics.items():
            top = max(points)
            value, timestamp = points[top]
            got = latest.get(key, {})
            if (got.get("step"), got.get("value"), got.get("timestamp")) != (top, value, timestamp):
                problems.append(f"{who}: latest {key} {got} != step {top} value {value}")
            history = _history(http, sent.run_id, key)
            expected = {(step, v, ts) for step, (v, ts) in points.items()}
            received = {(m["step"], m["value"], m["timestamp"]) for m in history}
            if len(history) != len(points) or received != expected:
                problems.append(
                    f"{who}: history {key} has {len(history)} points ({len(received)} distinct),"
                    f" sent {len(points)}; {len(expected - received)} missing,"
                    f" {len(received - expected)} unexpected"
                )

        for name, (size, digest) in sent.artifacts.items():
            response = http.get(_artifact_url(sent, name))
            body = response.content
            if response.status_code != 200 or len(body) != size:
                problems.append(f"{who}: {name}: {response.status_code}, {len(body)} of {size} B")
            elif hashlib.sha256(body).hexdigest() != digest:
                problems.append(f"{who}: {name}: sha256 differs")
        listed = _get(http, f"{API}/artifacts/list", {"run_id": sent.run_id, "path": "data"})
        if [f["path"] for f in listed.get("files", [])] != ["data/part-0.bin"]:
            problems.append(f"{who}: artifacts/list data: {listed}")
    return problems


def search_all(http: httpx.Client, experiment_ids: list[str]) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    token = None
    while True:
        body: dict[str, Any] = {"experiment_ids": experiment_ids, "max_results": 25}
        if token:
            body["page_token"] = token
        page = _post(http, f"{API}/runs/search", body)
        runs += page.get("runs", [])
        token = page.get("next_page_token")
        if not token:
            return runs


# ------------------------------------------------------------------ the test


@pytest.mark.parametrize(
    ("backend", "workers"),
    [pytest.param("postgres", 4, marks=pytest.mark.postgres), ("sqlite", 2)],
)
def test_concurrent_clients_lose_nothing(
    backend: str,
    workers: int,
    cairn_server: Callable[..., Any],
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    uri = request.getfixturevalue("postgres_uri") if backend == "postgres" else None
    server = cairn_server("--workers", str(workers), backend_store_uri=uri)
    startup_s = time.monotonic() - started
    tag = f"concurrency-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as http:
        shared = _post(http, f"{API}/experiments/create", {"name": f"{tag}-shared"})
    shared_id = shared["experiment_id"]

    recorder = Recorder()
    workload = Workload(server.url, recorder, shared_id, tag)
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(workload.client, i) for i in range(CLIENTS)]
        results = [f.result() for f in futures]
    load_s = time.monotonic() - started

    # Every response first: a 5xx (or a transport error) is a failure whatever was stored.
    def summary(calls: list[Call]) -> str:
        counts = Counter((c.what, c.status, c.error[:300]) for c in calls)
        lines = [
            f"{n} x {what} -> {status}: {error}" for (what, status, error), n in counts.items()
        ]
        return "\n".join(lines) + f"\n--- server log ---\n{server.log()}"

    server_errors = [c for c in recorder.calls if c.status >= 500 or c.status == 0]
    assert not server_errors, summary(server_errors)
    unexpected = [c for c in recorder.calls if c.status != c.expected]
    assert not unexpected, summary(unexpected)
    assert all(s.run_id for s in results)
    assert len({s.run_id for s in results}) == CLIENTS
    # The clients really overlapped (they all start at the barrier).
    assert recorder.peak_in_flight >= CLIENTS // 2, recorder.peak_in_flight

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        problems = [
            p for found in pool.map(lambda s: verify_run(server.url, s), results) for p in found
        ]
    assert not problems, "\n".join(problems[:50])

    experiment_ids = sorted({s.experiment_id for s in results})
    assert len(experiment_ids) == 1 + CLIENTS // 2
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as http:
        found = search_all(http, experiment_ids)
    assert sorted(r["info"]["run_id"] for r in found) == sorted(s.run_id for s in results)
    assert all(r["info"]["status"] == "FINISHED" for r in found)
    verify_s = time.monotonic() - started

    points = sum(len(p) for s in results for p in s.metrics.values())
    megabytes = sum(size for s in results for size, _ in s.artifacts.values()) / 2**20
    with capsys.disabled():
        print(
            f"\n[{backend}, {workers} workers] started in {startup_s:.1f} s;"
            f" {len(recorder.calls)} requests"
            f" ({points} metric points, {megabytes:.0f} MB of artifacts) in {load_s:.1f} s,"
            f" peak {recorder.peak_in_flight} in flight; verified in {verify_s:.1f} s"
        )


# ------------------------------------------------------------------ one run, many writers


@pytest.mark.parametrize(
    ("backend", "workers"),
    [
        pytest.param(
            "postgres",
            4,
            marks=pytest.mark.postgres,
        ),
        ("sqlite", 2),
    ],
)
def test_concurrent_writers_to_one_run_lose_nothing(
    backend: str,
    workers: int,
    cairn_server: Callable[..., Any],
    request: pytest.FixtureRequest,
) -> None:
    """What a run must keep when 64 connections write to it at once (distributed training)."""
    uri = request.getfixturevalue("postgres_uri") if backend == "postgres" else None
    server = cairn_server("--workers", str(workers), backend_store_uri=uri)
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as http:
        experiment = _post(http, f"{API}/experiments/create", {"name": "one-run"})
        body = {"experiment_id": experiment["experiment_id"]}
        run_id = _post(http, f"{API}/runs/create", body)["run"]["info"]["run_id"]

    recorder = Recorder()
    barrier = threading.Barrier(CLIENTS)

    def writer(i: int) -> None:
        ref = {"run_id": run_id}
        with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as http:
            http.get("/health").raise_for_status()
            barrier.wait(timeout=60)
            for path, body in (
                ("/runs/log-parameter", {**ref, "key": f"p{i}", "value": str(i)}),
                ("/runs/set-tag", {**ref, "key": f"t{i}", "value": str(i)}),
                (
                    "/runs/log-metric",
                    {**ref, "key": "shared", "value": i, "timestamp": 1, "step": i},
                ),
            ):
                recorder.request(http, "POST", API + path, json=body)

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(writer, range(CLIENTS)))
    bad = Counter((c.what, c.status, c.error[:300]) for c in recorder.calls if c.status != 200)
    assert not bad, f"{bad}\n--- server log ---\n{server.log()}"

    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as http:
        data = _get(http, f"{API}/runs/get", {"run_id": run_id})["run"]["data"]
        history = _history(http, run_id, "shared")
    assert sorted(m["step"] for m in history) == list(range(CLIENTS))
    latest = {m["key"]: m["step"] for m in data.get("metrics", [])}
    assert latest == {"shared": CLIENTS - 1}
    params = {p["key"]: p["value"] for p in data.get("params", [])}
    tags = {t["key"]: t["value"] for t in data.get("tags", []) if t["key"].startswith("t")}
    expected = {str(i) for i in range(CLIENTS)}
    assert (len(params), len(tags)) == (CLIENTS, CLIENTS), (
        f"runs/get lost {sorted(expected - {p[1:] for p in params}, key=int)} of the params "
        f"and {sorted(expected - {t[1:] for t in tags}, key=int)} of the tags"
    )
