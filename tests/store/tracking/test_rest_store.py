"""The tracking store suite against a live ``cairn server``, through RestTrackingStore.

Also what only the REST store does: MLflow-sized log-batch requests, history paging, error
JSON, retries, authentication, and the fluent API over HTTP.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Iterator

import httpx
import msgspec
import pytest

import cairn
from cairn.entities import LoggedModelOutput, Metric
from cairn.errors import CairnError
from cairn.store.tracking import get_tracking_store, rest
from cairn.store.tracking.columns import MetricColumns
from cairn.store.tracking.protocol import TrackingStore
from cairn.store.tracking.rest import HttpSettings, RestTrackingStore, split_batch
from cairn.tracking.client import TrackingClient
from rest_server import CairnServer, free_port
from store_suite import *  # noqa: F403  (the suite's tests and fixtures run here)


@pytest.fixture
def artifact_root(cairn_server: CairnServer) -> str:
    return cairn_server.experiment_artifact_root


@pytest.fixture
def store(cairn_server: CairnServer) -> Iterator[RestTrackingStore]:
    cairn_server.reset()
    store = RestTrackingStore(cairn_server.url)
    yield store
    store.close()


@pytest.fixture
def sql_only() -> None:
    pytest.skip("inspects SQL tables or purges: a REST store has no tables and cannot purge")


class Recorder(httpx.HTTPTransport):
    """A real transport that keeps every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)

    def bodies(self, path_end: str) -> list[dict]:
        return [
            msgspec.json.decode(r.content) for r in self.requests if r.url.path.endswith(path_end)
        ]


Recorded = tuple[RestTrackingStore, Recorder]


@pytest.fixture
def recorded(cairn_server: CairnServer, store: RestTrackingStore) -> Iterator[Recorded]:
    """A second store on the (freshly reset) server whose requests are kept."""
    recorder = Recorder()
    recording = RestTrackingStore(cairn_server.url, transport=recorder)
    yield recording, recorder
    recording.close()


# ---------------------------------------------------------------- routing


def test_http_uris_get_a_rest_store(cairn_server: CairnServer) -> None:
    store = get_tracking_store(cairn_server.url)
    assert isinstance(store, RestTrackingStore)
    assert isinstance(store, TrackingStore)
    assert get_tracking_store("https://tracking.example/prefix").__class__ is RestTrackingStore


def test_purge_is_refused_with_the_command_that_does_it(store: RestTrackingStore) -> None:
    for call in (lambda: store.purge_deleted_runs(0), lambda: store.purge_deleted_experiments(0)):
        with pytest.raises(CairnError, match="cairn gc") as exc:
            call()
        assert exc.value.error_code == "NOT_IMPLEMENTED"


# ---------------------------------------------------------------- log-batch limits


def test_split_batch_keeps_mlflow_limits_and_sends_params_first() -> None:
    metrics = [{"key": "m", "value": 1.0, "timestamp": 1, "step": i} for i in range(2500)]
    params = [{"key": f"p{i}", "value": "1"} for i in range(150)]
    tags = [{"key": f"t{i}", "value": "1"} for i in range(120)]
    bodies = list(split_batch(metrics, params, tags))
    sizes = [
        (len(b.get("params", [])), len(b.get("tags", [])), len(b.get("metrics", [])))
        for b in bodies
    ]
    assert sizes == [(100, 100, 800), (50, 20, 930), (0, 0, 770)]
    assert [m for b in bodies for m in b.get("metrics", [])] == metrics
    assert list(split_batch([], [], [])) == [{}]


def test_log_columns_sends_mlflow_sized_batches(recorded: Recorded) -> None:
    store, recorder = recorded
    run_id = store.create_run("0", "u", None, {}, None).info.run_id
    cols = {"a": MetricColumns(), "b": MetricColumns()}
    for i in range(1250):
        cols["a"].append(float(i), 1000 + i, i)
        cols["b"].append(math.nan if i == 7 else -math.inf if i == 8 else 0.5, 1000 + i, i)
    params = {f"p{i}": str(i) for i in range(150)}
    tags = {f"t{i}": "x" for i in range(120)}
    store.log_columns(run_id, cols, params, tags)
    batches = recorder.bodies("/runs/log-batch")
    assert len(batches) == 3
    for body in batches:
        assert len(body.get("metrics", [])) <= 1000 and len(body.get("params", [])) <= 100
        assert sum(len(body.get(f, [])) for f in ("metrics", "params", "tags")) <= 1000
    sent_b = [m["value"] for body in batches for m in body.get("metrics", []) if m["key"] == "b"]
    assert sent_b[7:9] == ["NaN", "-Infinity"]
    run = store.get_run(run_id)
    assert run.data.params == params and run.data.metrics == {"a": 1249.0, "b": 0.5}
    assert len(store.get_metric_history_columns(run_id, "a")) == 1250


def test_history_is_fetched_in_one_request_and_pages_beyond_it(
    recorded: Recorded, store: RestTrackingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording, recorder = recorded
    n = 100_000
    run_id = store.create_run("0", "u", None, {}, None).info.run_id
    cols = MetricColumns()
    for i in range(n):
        cols.append(i * 0.25, 1_700_000_000_000 + i, i)
    started = time.perf_counter()
    store.log_columns(run_id, {"loss": cols})
    logged = time.perf_counter() - started
    started = time.perf_counter()
    history = recording.get_metric_history_columns(run_id, "loss")
    fetched = time.perf_counter() - started
    print(f"\n{n:,} points over HTTP: log_columns {logged:.2f} s, history fetch {fetched:.3f} s")
    pages = [r for r in recorder.requests if r.url.path.endswith("/metrics/get-history")]
    assert len(pages) == 1  # a cairn server reads the whole history once, not per page
    assert history.steps.tolist() == list(range(n))
    assert history.values[-1] == (n - 1) * 0.25 and history.timestamps[0] == 1_700_000_000_000
    # Longer histories than one page still come back whole, page by page.
    monkeypatch.setattr(rest, "HISTORY_PAGE_SIZE", 30_000)
    recorder.requests.clear()
    paged = recording.get_metric_history_columns(run_id, "loss")
    pages = [r for r in recorder.requests if r.url.path.endswith("/metrics/get-history")]
    assert [r.url.params["max_results"] for r in pages] == ["30000"] * 4
    assert paged.steps.tolist() == list(range(n))


# ---------------------------------------------------------------- errors and retries


def fake_store(handler: Callable[[httpx.Request], httpx.Response], **settings) -> RestTrackingStore:
    """A store whose requests go to ``handler``; retries do not sleep."""
    fast = HttpSettings(backoff_s=0.0, **settings)
    return RestTrackingStore(
        "http://tracking.test", settings=fast, transport=httpx.MockTransport(handler)
    )


def answers(*responses: httpx.Response | Exception) -> tuple[Callable, list[httpx.Request]]:
    """A handler giving ``responses`` in turn (raising the exceptions), then success."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) > len(responses):
            return httpx.Response(200, json={"experiment_id": "7"})  # enough for any call here
        answer = responses[len(seen) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


def test_server_error_codes_are_kept() -> None:
    handler, _ = answers(
        httpx.Response(400, json={"error_code": "FEATURE_DISABLED", "message": "nope"})
    )
    with pytest.raises(CairnError, match="nope") as exc:
        fake_store(handler).create_experiment("x")
    assert exc.value.error_code == "FEATURE_DISABLED"


def test_answers_without_error_json_get_a_code_from_the_status() -> None:
    handler, _ = answers(httpx.Response(502, text="<html>Bad Gateway</html>"))
    with pytest.raises(CairnError, match=r"HTTP 502.*Bad Gateway") as exc:
        fake_store(handler).create_experiment("x")
    assert exc.value.error_code == "INTERNAL_ERROR"
    handler, _ = answers(httpx.Response(200, text="<html>a web page</html>"))
    with pytest.raises(CairnError, match="other than JSON"):
        fake_store(handler).create_experiment("x")


def test_idempotent_calls_retry_503_and_lost_responses() -> None:
    handler, seen = answers(
        httpx.Response(503), httpx.ReadTimeout("slow"), httpx.Response(503, text="busy")
    )
    assert fake_store(handler).search_experiments() == []
    assert len(seen) == 4


def test_writes_retry_only_what_the_server_never_processed() -> None:
    log = lambda store: store.log_batch("r" * 32, metrics=[Metric("m", 1.0, 1, 0)])  # noqa: E731
    handler, seen = answers(httpx.ConnectError("refused"), httpx.Response(429), httpx.Response(200))
    log(fake_store(handler))
    assert len(seen) == 3  # never sent, then refused before processing: both safe to repeat
    for lost in (httpx.Response(503), httpx.ReadTimeout("slow")):
        handler, seen = answers(lost)
        with pytest.raises(CairnError):
            log(fake_store(handler))
        assert len(seen) == 1  # a repeat could append the points twice


def test_retries_give_up_and_honour_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []
    monkeypatch.setattr(rest.time, "sleep", delays.append)
    handler, seen = answers(*[httpx.Response(429, headers={"Retry-After": "2"})] * 9)
    with pytest.raises(CairnError) as exc:
        fake_store(handler, max_retries=3).create_experiment("x")
    assert exc.value.error_code == "REQUEST_LIMIT_EXCEEDED"
    assert len(seen) == 4 and delays == [2.0, 2.0, 2.0]


def test_an_unreachable_server_is_reported() -> None:
    store = RestTrackingStore(
        f"http://127.0.0.1:{free_port()}", settings=HttpSettings(max_retries=2, backoff_s=0.01)
    )
    with pytest.raises(CairnError, match="Could not reach the tracking server") as exc:
        store.get_experiment("0")
    assert exc.value.error_code == "TEMPORARILY_UNAVAILABLE"


# ---------------------------------------------------------------- authentication and TLS


def sent_authorization(monkeypatch: pytest.MonkeyPatch, **env: str) -> str | None:
    for name in (
        "CAIRN_TRACKING_TOKEN",
        "MLFLOW_TRACKING_TOKEN",
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    handler, seen = answers()
    store = RestTrackingStore("http://tracking.test", transport=httpx.MockTransport(handler))
    store.create_experiment("x")
    return seen[0].headers.get("Authorization")


def test_tokens_and_basic_auth_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sent_authorization(monkeypatch) is None
    assert sent_authorization(monkeypatch, MLFLOW_TRACKING_TOKEN="m") == "Bearer m"
    both = {"MLFLOW_TRACKING_TOKEN": "m", "CAIRN_TRACKING_TOKEN": "c"}
    assert sent_authorization(monkeypatch, **both) == "Bearer c"
    basic = sent_authorization(
        monkeypatch, MLFLOW_TRACKING_USERNAME="ann", MLFLOW_TRACKING_PASSWORD="s3cret"
    )
    assert basic == "Basic " + base64.b64encode(b"ann:s3cret").decode()


def test_insecure_tls_and_timeouts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert HttpSettings.from_env().verify is True
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "7")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    settings = HttpSettings.from_env()
    assert (settings.verify, settings.timeout_s, settings.max_retries) == (False, 7.0, 1)


# ---------------------------------------------------------------- the fluent API over HTTP


def test_fluent_logging_over_http_is_fast(cairn_server: CairnServer) -> None:
    n = 10_000
    cairn.set_tracking_uri(cairn_server.url)
    cairn.set_experiment("fluent-over-http")
    started = time.perf_counter()
    with cairn.start_run() as run:
        cairn.log_param("lr", 0.1)
        calls_started = time.perf_counter()
        for step in range(n):
            cairn.log_metric("loss", 1.0 / (step + 1), step=step)
        calls = time.perf_counter() - calls_started
    total = time.perf_counter() - started
    print(
        f"\n{n:,} fluent log_metric over HTTP: {calls / n * 1e6:.1f} µs per call, "
        f"{total:.2f} s with start_run and end_run (flush)"
    )
    stored = cairn.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.params == {"lr": "0.1"} and stored.data.metrics == {"loss": 1.0 / n}
    assert [m.step for m in cairn.get_metric_history(run.info.run_id, "loss")] == list(range(n))
    assert calls / n < 100e-6  # the call only appends to memory
    assert total < 30


def test_tracking_uri_from_the_environment(
    cairn_server: CairnServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_TRACKING_URI", cairn_server.url)
    cairn.set_experiment("env-uri")
    with cairn.start_run() as run:
        cairn.log_metric("m", 2.0)
    client = TrackingClient()
    assert isinstance(client.store, RestTrackingStore)
    assert client.get_run(run.info.run_id).data.metrics == {"m": 2.0}
    client.log_param(run.info.run_id, "p", 1)
    with pytest.raises(CairnError, match="Changing param values") as exc:
        client.log_param(run.info.run_id, "p", 2)
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"


# ---------------------------------------------------------------- logged models


def test_logged_model_writes_and_run_outputs(
    cairn_server: CairnServer, store: RestTrackingStore
) -> None:
    run_id = store.create_run("0", "u", None, {}, None).info.run_id
    api = f"{cairn_server.url}/api/2.0/mlflow/logged-models"
    created = httpx.post(api, json={"experiment_id": "0", "name": "m", "source_run_id": run_id})
    model_id = created.json()["model"]["info"]["model_id"]
    store.log_logged_model_params(model_id, {"alpha": "0.5"})
    store.set_logged_model_tags(model_id, {"a/b": "1", "keep": "2"})
    store.delete_logged_model_tag(model_id, "a/b")
    model = httpx.get(f"{api}/{model_id}").json()["model"]
    assert model["data"]["params"] == [{"key": "alpha", "value": "0.5"}]
    assert model["info"]["tags"] == [{"key": "keep", "value": "2"}]
    store.log_outputs(run_id, [LoggedModelOutput(model_id, 3)])
    other = store.create_run("0", "u", None, {}, None).info.run_id
    assert store.get_run_outputs([run_id, other, "f" * 32]) == {
        run_id: [LoggedModelOutput(model_id, 3)]
    }
    store.delete_logged_model(model_id)
    assert httpx.get(f"{api}/{model_id}").status_code == 404
    with pytest.raises(CairnError) as exc:
        store.get_logged_model(model_id)  # deleted
    assert exc.value.error_code in ("NOT_IMPLEMENTED", "RESOURCE_DOES_NOT_EXIST")
