"""Micro-batching: concurrent requests joined into one prediction give exactly the answers
each would get alone. The app runs in-process (httpx's ASGI transport) with a real model; the
prediction thread is held busy while requests queue, so the batches are deterministic."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

import cairn.pyfunc
from cairn.serving.app import AppSettings, ScoringApp
from cairn.serving.model_source import ResolvedModel, load
from scoring_support import IRIS_COLUMNS, iris_frame, save_iris, save_scaler


@pytest.fixture(scope="module")
def iris_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("iris") / "model"
    save_iris(path)
    return path


def make_app(path: Path, **settings: Any) -> ScoringApp:
    resolved = ResolvedModel(str(path), str(path), str(path))
    settings.setdefault("freeze_heap", False)  # not this test process's collector
    return ScoringApp(lambda: (resolved, load(resolved)), AppSettings(**settings))


def sample(app: ScoringApp, name: str, **labels: str) -> float:
    value = app.metrics.registry.get_sample_value(name, labels or None)
    return value or 0.0


async def post_all(app: ScoringApp, payloads: list[Any]) -> list[httpx.Response]:
    """Send every payload at once while the prediction thread is held, then let it go."""
    await app.startup()
    scorer = app.scorer
    assert scorer is not None
    gate = threading.Event()
    held = asyncio.ensure_future(scorer.run_blocking(gate.wait))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://scoring") as client:
            sent = [asyncio.ensure_future(client.post("/invocations", json=p)) for p in payloads]
            while scorer.waiting < len(payloads):  # all queued behind the held thread
                await asyncio.sleep(0.01)
            gate.set()
            await held
            return list(await asyncio.gather(*sent))
    finally:
        gate.set()
        await app.shutdown()


def split_payload(frame: Any) -> dict[str, Any]:
    return {"dataframe_split": {"columns": IRIS_COLUMNS, "data": frame.to_numpy().tolist()}}


def test_concurrent_requests_are_joined_and_match_unbatched_scoring(iris_path: Path) -> None:
    frame, _ = iris_frame()
    model = cairn.pyfunc.load_model(str(iris_path))
    parts = [frame.iloc[i : i + 1 + i % 3] for i in range(0, 150, 5)]  # 30 requests, 1-3 rows
    payloads = [split_payload(part) for part in parts]
    payloads[7] = {"dataframe_records": parts[7].to_dict(orient="records")}  # joins separately
    app = make_app(iris_path, max_batch_size=1000)
    responses = asyncio.run(post_all(app, payloads))
    for part, response in zip(parts, responses, strict=True):
        assert response.status_code == 200, response.text
        alone = model.predict(part).tolist()
        assert response.json() == {"predictions": alone}
    # The dispatcher took the first request(s) before the others arrived; the rest came in
    # one batch, except the records request, which joins only records.
    predicts = sample(app, "cairn_serving_batch_requests_count")
    assert sample(app, "cairn_serving_batch_requests_sum") == 30
    assert 2 <= predicts <= 3
    assert sample(app, "cairn_serving_rows_total") == sum(len(p) for p in parts)


def test_batches_hold_at_most_max_batch_size_rows(iris_path: Path) -> None:
    frame, _ = iris_frame()
    payloads = [split_payload(frame.iloc[i : i + 1]) for i in range(20)]
    app = make_app(iris_path, max_batch_size=4)
    responses = asyncio.run(post_all(app, payloads))
    assert all(r.status_code == 200 for r in responses)
    predicts = sample(app, "cairn_serving_batch_rows_count")
    assert 5 <= predicts <= 6  # the first request(s) taken early, then batches of 4
    assert sample(app, "cairn_serving_batch_rows_bucket", le="4.0") == predicts


def test_a_bad_request_in_a_batch_fails_alone(iris_path: Path) -> None:
    frame, _ = iris_frame()
    model = cairn.pyfunc.load_model(str(iris_path))
    payloads = [split_payload(frame.iloc[i : i + 1]) for i in range(6)]
    payloads[3]["dataframe_split"]["data"][0][0] = "not a number"
    responses = asyncio.run(post_all(make_app(iris_path), payloads))
    assert responses[3].status_code == 400
    assert "'sl'" in responses[3].json()["message"]
    for i in (0, 1, 2, 4, 5):
        assert responses[i].json() == {"predictions": model.predict(frame.iloc[i : i + 1]).tolist()}


def test_without_batching_every_request_is_its_own_prediction(iris_path: Path) -> None:
    frame, _ = iris_frame()
    payloads = [split_payload(frame.iloc[i : i + 1]) for i in range(8)]
    app = make_app(iris_path, batching=False)
    responses = asyncio.run(post_all(app, payloads))
    assert all(r.status_code == 200 for r in responses)
    assert sample(app, "cairn_serving_batch_requests_count") == 8


def test_custom_models_are_never_joined(tmp_path: Path) -> None:
    """A PythonModel may look across its rows, so joining could change its answers."""
    save_scaler(tmp_path / "model")
    payloads = [{"dataframe_split": {"columns": ["x"], "data": [[float(i)]]}} for i in range(5)]
    app = make_app(tmp_path / "model")
    responses = asyncio.run(post_all(app, payloads))
    assert [r.json()["predictions"] for r in responses] == [[float(i)] for i in range(5)]
    assert sample(app, "cairn_serving_batch_requests_count") == 5


def test_only_rows_with_the_same_columns_and_params_join(iris_path: Path) -> None:
    """What the dispatcher takes as one batch from a queue, in order, up to the row limit."""
    from cairn.serving.batching import Scorer, _Item
    from cairn.serving.payloads import Rows, ScoringRequest

    loaded = load(ResolvedModel(str(iris_path), str(iris_path), str(iris_path)))

    async def take() -> list[list[int]]:
        scorer = Scorer(lambda: loaded, max_batch_size=5)
        loop = asyncio.get_running_loop()
        requests = [
            ScoringRequest(Rows(("a", "b"), [[1, 2]])),  # 0
            ScoringRequest(Rows(("a", "b"), [[1, 2]]), {"k": 1}),  # 1: other params
            ScoringRequest(Rows(("b", "a"), [[1, 2]])),  # 2: other column order
            ScoringRequest(Rows(("a", "b"), [{"a": 1, "b": 2}], records=True)),  # 3: records
            ScoringRequest(Rows(("a", "b"), [[1, 2], [3, 4]])),  # 4
            ScoringRequest(Rows(("a", "b"), [[1, 2], [3, 4], [5, 6]])),  # 5: over the limit
            ScoringRequest(Rows(("a", "b"), [[1, 2]])),  # 6
        ]
        number = {id(request): i for i, request in enumerate(requests)}
        for request in requests:
            scorer._queue.append(_Item(request, loop.create_future()))
        batches = []
        while batch := scorer._take():
            batches.append([number[id(item.request)] for item in batch])
        return batches

    assert asyncio.run(take()) == [[0, 4, 6], [1], [2], [3], [5]]


def test_waiting_for_more_never_joins_what_may_not_be_joined(tmp_path: Path) -> None:
    """With requests still arriving, the dispatcher waits for more only after a request
    others may join: a custom model's requests and a frame with an index stay alone."""
    from cairn.serving.batching import Scorer
    from cairn.serving.payloads import parse_json

    save_scaler(tmp_path / "model")
    custom = load(ResolvedModel(str(tmp_path), str(tmp_path / "model"), "custom"))
    sizes: list[int] = []

    async def score_all(payloads: list[bytes]) -> list[Any]:
        scorer = Scorer(lambda: custom, max_wait_s=0.05, on_batch=lambda n, _: sizes.append(n))
        scorer.start()
        scorer.arriving = 1  # as if another request were being read
        try:
            first = asyncio.ensure_future(scorer.score(parse_json(payloads[0])))
            await asyncio.sleep(0.01)  # the dispatcher has it; the others arrive while it waits
            rest = [scorer.score(parse_json(p)) for p in payloads[1:]]
            return await asyncio.wait_for(asyncio.gather(first, *rest), 10)
        finally:
            await scorer.stop()

    rows = [b'{"dataframe_split": {"columns": ["x"], "data": [[%d.0]]}}' % i for i in range(3)]
    scored = asyncio.run(score_all(rows))
    assert [s.predictions.tolist() for s in scored] == [[0.0], [1.0], [2.0]]
    assert sizes == [1, 1, 1]  # not [1, 2]: rows 1 and 2 must not reach the custom model together
    indexed = b'{"dataframe_split": {"columns": ["x"], "data": [[5.0]], "index": [9]}}'
    sizes.clear()
    scored = asyncio.run(score_all([indexed, rows[1]]))
    assert [s.predictions.tolist() for s in scored] == [[5.0], [1.0]]
    assert sizes == [1, 1]
