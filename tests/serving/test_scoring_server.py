"""``cairn models serve`` as a user runs it: a real server process, real HTTP, every payload
format, the bad ones, and MLflow's own scoring client against it."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from cairn.version import __version__
from rest_server import free_port
from scoring_support import CAIRN, IRIS_COLUMNS, ScoringServer, iris_frame, save_iris, save_scaler


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    path = tmp_path_factory.mktemp("iris") / "model"
    return path, save_iris(path)


@pytest.fixture(scope="module")
def server(iris: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("serve")
    live = ScoringServer(str(iris[0]), root, "--log-predictions", str(root / "log")).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def scaler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("scaler")
    save_scaler(root / "model")
    live = ScoringServer(str(root / "model"), root, "--timeout", "3", "--max-request-mb", "0.01")
    yield live.start()
    live.stop()


def rows(n: int = 5) -> pd.DataFrame:
    frame, _ = iris_frame()
    return frame.iloc[[0, 60, 120, 30, 90][:n]].reset_index(drop=True)


def expected(iris: tuple[Path, Any], frame: pd.DataFrame) -> list[int]:
    return iris[1].predict(frame).tolist()


def test_health_version_and_unknown_endpoints(server: Any) -> None:
    for path in ("/ping", "/health"):
        assert httpx.get(server.url + path).status_code == 200
    assert httpx.get(server.url + "/version").text == __version__
    missing = httpx.get(server.url + "/nope")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    wrong = httpx.get(server.url + "/invocations")
    assert wrong.status_code == 405 and "POST" in wrong.json()["message"]


def test_every_json_format_gives_the_models_predictions(
    server: Any, iris: tuple[Path, Any]
) -> None:
    frame = rows()
    want = expected(iris, frame)
    payloads = [
        {"dataframe_split": frame.to_dict(orient="split")},
        {"dataframe_split": {"columns": IRIS_COLUMNS, "data": frame.to_numpy().tolist()}},
        {"dataframe_records": frame.to_dict(orient="records")},
        {"instances": frame.to_dict(orient="records")},
        {"inputs": frame.to_dict(orient="list")},
        {"inputs": frame.to_dict(orient="records")},
    ]
    for payload in payloads:
        response = server.invoke(payload)
        assert response.status_code == 200, (payload, response.text)
        assert response.json() == {"predictions": want}


def test_csv_and_parquet_bodies(server: Any, iris: tuple[Path, Any]) -> None:
    frame = rows()
    csv = httpx.post(
        server.url + "/invocations",
        content=frame.to_csv(index=False),
        headers={"Content-Type": "text/csv"},
    )
    assert csv.json() == {"predictions": expected(iris, frame)}
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    parquet = httpx.post(
        server.url + "/invocations",
        content=buffer.getvalue(),
        headers={"Content-Type": "application/vnd.apache.parquet"},
    )
    assert parquet.json() == {"predictions": expected(iris, frame)}


def test_the_models_saved_serving_example_is_accepted(server: Any, iris: tuple[Path, Any]) -> None:
    example = (iris[0] / "serving_input_example.json").read_bytes()
    response = httpx.post(
        server.url + "/invocations", content=example, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json() == {"predictions": expected(iris, iris_frame()[0].head(3))}


@pytest.mark.parametrize(
    ("payload", "status", "code", "message"),
    [
        (
            {"dataframe_split": {"columns": ["sl", "sw", "pl"], "data": [[1, 2, 3]]}},
            400,
            "INVALID_PARAMETER_VALUE",
            "Missing required input column(s) ['pw']",
        ),
        (
            {"dataframe_records": [{"sl": "long", "sw": 1, "pl": 1, "pw": 1}]},
            400,
            "INVALID_PARAMETER_VALUE",
            "'sl'",
        ),
        ({"dataframe_split": {"columns": ["a"]}}, 400, "BAD_REQUEST", "needs 'data'"),
        ({"rows": [[1, 2, 3, 4]]}, 400, "BAD_REQUEST", "exactly one of the keys"),
        ({"inputs": [[1, 2, 3, 4]]}, 400, "INVALID_PARAMETER_VALUE", "named columns"),
    ],
)
def test_bad_payloads_are_4xx_naming_the_problem(
    server: Any, payload: Any, status: int, code: str, message: str
) -> None:
    response = server.invoke(payload)
    assert response.status_code == status
    body = response.json()
    assert body["error_code"] == code
    assert message in body["message"]
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"a,b", "text/plain", 415),
        (b"{}", "application/json; charset=utf-16", 415),
        (b"", "text/csv", 400),
    ],
)
def test_unreadable_bodies(server: Any, content: bytes, content_type: str, status: int) -> None:
    response = httpx.post(
        server.url + "/invocations", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == status
    assert set(response.json()) == {"error_code", "message"}


def test_request_ids_are_echoed_or_made(server: Any) -> None:
    payload = {"dataframe_split": rows(1).to_dict(orient="split")}
    given = server.invoke(payload, headers={"X-Request-Id": "order-42:a"})
    assert given.headers["x-request-id"] == "order-42:a"
    made = {server.invoke(payload).headers["x-request-id"] for _ in range(3)}
    assert len(made) == 3 and all(len(i) == 32 for i in made)
    hostile = server.invoke(payload, headers={"X-Request-Id": "x" * 300})
    assert hostile.headers["x-request-id"] != "x" * 300
    assert given.headers["x-cairn-model"].endswith("model")


def test_predictions_are_logged_with_their_request_id(server: Any, iris: tuple[Path, Any]) -> None:
    frame = rows(2)
    server.invoke(
        {"dataframe_split": frame.to_dict(orient="split")}, headers={"X-Request-Id": "r-1"}
    )
    server.invoke({"rows": []}, headers={"X-Request-Id": "r-2"})  # refused: not logged
    deadline = time.monotonic() + 10
    lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not any(line["request_id"] == "r-1" for line in lines):
        time.sleep(0.2)
        lines = [
            json.loads(line)
            for path in (server.root / "log").glob("predictions-*.jsonl")
            for line in path.read_text().splitlines()
        ]
    logged = [line for line in lines if line["request_id"] == "r-1"]
    assert len(logged) == 1
    assert logged[0]["model"].endswith("model")
    assert logged[0]["inputs"] == {"columns": IRIS_COLUMNS, "data": frame.to_numpy().tolist()}
    assert logged[0]["predictions"] == expected(iris, frame)
    assert not any(line["request_id"] == "r-2" for line in lines)


def test_params_reach_the_model_and_bad_params_are_400(scaler: Any) -> None:
    data = {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.5]]}}
    assert scaler.invoke(data).json() == {"predictions": [1.0, 2.5]}
    assert scaler.invoke({**data, "params": {"scale": 2}}).json() == {"predictions": [2.0, 5.0]}
    bad = scaler.invoke({**data, "params": {"scale": "big"}})
    assert bad.status_code == 400 and "scale" in bad.json()["message"]


def test_a_request_past_the_timeout_is_504_and_the_server_goes_on(scaler: Any) -> None:
    data = {"dataframe_split": {"columns": ["x"], "data": [[1.0]]}}
    slow = scaler.invoke({**data, "params": {"delay": 4}})
    assert slow.status_code == 504
    assert slow.json()["error_code"] == "DEADLINE_EXCEEDED"
    assert scaler.invoke(data).json() == {"predictions": [1.0]}


def test_a_body_over_the_limit_is_413(scaler: Any) -> None:
    big = {"dataframe_split": {"columns": ["x"], "data": [[float(i)] for i in range(5000)]}}
    response = scaler.invoke(big)
    assert response.status_code == 413
    assert response.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    chunked = httpx.post(
        scaler.url + "/invocations",
        content=iter([json.dumps(big).encode()]),  # no Content-Length: counted as it arrives
        headers={"Content-Type": "application/json"},
    )
    assert chunked.status_code == 413


def test_mlflows_scoring_client_and_input_conversion(server: Any, iris: tuple[Path, Any]) -> None:
    from mlflow.models import convert_input_example_to_serving_input
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    frame = rows()
    host, port = server.url.removeprefix("http://").split(":")
    client = ScoringServerClient(host, int(port))
    client.wait_server_ready(timeout=10)
    result = client.invoke(frame)
    assert np.asarray(result.get_predictions()).ravel().tolist() == expected(iris, frame)
    payload = convert_input_example_to_serving_input(frame)
    response = httpx.post(
        server.url + "/invocations", content=payload, headers={"Content-Type": "application/json"}
    )
    assert response.json() == {"predictions": expected(iris, frame)}


def test_metrics_count_requests_errors_and_batches(server: Any) -> None:
    server.invoke({"dataframe_split": rows(2).to_dict(orient="split")})
    server.invoke({"rows": []})
    text = httpx.get(server.url + "/metrics").text
    assert 'cairn_serving_requests_total{endpoint="invocations",status="200"}' in text
    assert 'cairn_serving_errors_total{error_code="BAD_REQUEST"}' in text
    assert "cairn_serving_request_duration_seconds_bucket" in text
    assert "cairn_serving_batch_rows_count" in text


def test_sigterm_finishes_the_request_in_flight(tmp_path: Path) -> None:
    save_scaler(tmp_path / "model")
    live = ScoringServer(str(tmp_path / "model"), tmp_path).start()
    result: dict[str, Any] = {}

    def slow() -> None:
        data = {"dataframe_split": {"columns": ["x"], "data": [[2.0]]}, "params": {"delay": 1.0}}
        result["response"] = live.invoke(data)

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.3)  # the request is being scored
    process = live._process
    assert process is not None
    os.killpg(process.pid, signal.SIGTERM)
    thread.join(10)
    assert result["response"].status_code == 200
    assert result["response"].json() == {"predictions": [2.0]}
    # uvicorn re-raises the signal once it has shut down cleanly: killed by SIGTERM, after
    # the application's own shutdown ran.
    assert process.wait(10) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in live.log()
    with pytest.raises(httpx.TransportError):
        httpx.get(live.url + "/ping", timeout=1)


def test_two_workers_share_their_metrics(iris: tuple[Path, Any], tmp_path: Path) -> None:
    live = ScoringServer(str(iris[0]), tmp_path, "--workers", "2").start()
    try:
        payload = {"dataframe_split": rows(1).to_dict(orient="split")}
        with httpx.Client() as client:
            for _ in range(20):
                assert client.post(live.url + "/invocations", json=payload).status_code == 200
        text = httpx.get(live.url + "/metrics").text
        line = next(
            line
            for line in text.splitlines()
            if line.startswith('cairn_serving_requests_total{endpoint="invocations",status="200"')
        )
        assert float(line.rsplit(" ", 1)[1]) == 20
    finally:
        live.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "/no/such/model"], "No model at '/no/such/model'"),
        (["-m", "models:/nope@champion"], "nope"),
        (["-m", "{model}", "--watch-alias", "1"], "--watch-alias needs a model URI that can move"),
        (["-m", "{model}", "--workers", "0"], "0 is not in the range"),
    ],
)
def test_bad_serve_commands_fail_clearly(
    iris: tuple[Path, Any], tmp_path: Path, args: list[str], message: str
) -> None:
    args = [a.replace("{model}", str(iris[0])) for a in args]
    env = {**os.environ, "CAIRN_TRACKING_URI": f"sqlite:///{tmp_path}/cairn.db"}
    done = subprocess.run(
        [CAIRN, "models", "serve", *args, "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
