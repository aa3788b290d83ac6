"""Read back the full history of one metric with 10^6 points.

cairn: 10^6 points written with ``TrackingClient.log_batch`` (100,000 per call), then
``TrackingClient().get_metric_history_columns(run_id, key)`` (numpy columns, the fast path) and
``get_metric_history`` (a list of ``Metric``), median of 5 after a warm-up.

MLflow: populating 10^6 points through the API takes minutes, so it gets 10^5 points
(``MlflowClient.log_batch``, 1,000 per call, MLflow's limit); ``MlflowClient().get_metric_history``
is timed (median of 3) and scaled x10 to 10^6 points (reads are linear in the point count).
"""

from __future__ import annotations

import time
from typing import Any

from common import (
    MISSING,
    Row,
    bench_main,
    call_mlflow,
    fresh_dir,
    log,
    median_time,
    mlflow_available,
)

CAIRN_POINTS = 1_000_000
CAIRN_BATCH = 100_000
CAIRN_REPEATS = 5
MLFLOW_POINTS = 100_000
MLFLOW_BATCH = 1_000
MLFLOW_REPEATS = 3
TARGET_S = 0.200
KEY = "loss"
BASE_TIME_MS = 1_700_000_000_000


def measure_cairn() -> dict[str, float]:
    from cairn import TrackingClient
    from cairn.entities import Metric

    with fresh_dir():
        client = TrackingClient()
        run_id = client.create_run("0").info.run_id
        start = time.perf_counter()
        for lo in range(0, CAIRN_POINTS, CAIRN_BATCH):
            points = range(lo, lo + CAIRN_BATCH)
            client.log_batch(
                run_id, metrics=[Metric(KEY, 1.0 / (i + 1), BASE_TIME_MS + i, i) for i in points]
            )
        populate = time.perf_counter() - start
        log(f"cairn: wrote {CAIRN_POINTS:,} points in {populate:.1f} s")

        columns = client.get_metric_history_columns(run_id, KEY)
        metrics = client.get_metric_history(run_id, KEY)
        if len(columns) != CAIRN_POINTS or len(metrics) != CAIRN_POINTS:
            raise AssertionError(f"cairn read {len(columns)} / {len(metrics)} points")
        if metrics[-1].step != CAIRN_POINTS - 1 or columns.steps[-1] != CAIRN_POINTS - 1:
            raise AssertionError("cairn history is not in step order")
        del metrics
        return {
            "populate": populate,
            "columns": median_time(
                lambda: client.get_metric_history_columns(run_id, KEY), CAIRN_REPEATS
            ),
            "metrics": median_time(lambda: client.get_metric_history(run_id, KEY), CAIRN_REPEATS),
        }


def mlflow_history(points: int, batch: int, repeats: int) -> dict[str, Any]:
    """Runs inside the MLflow venv, in a fresh working directory."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    client = MlflowClient()
    run_id = client.create_run("0").info.run_id
    start = time.perf_counter()
    for lo in range(0, points, batch):
        metrics = [Metric(KEY, 1.0 / (i + 1), BASE_TIME_MS + i, i) for i in range(lo, lo + batch)]
        client.log_batch(run_id, metrics=metrics)
    populate = time.perf_counter() - start
    read = len(client.get_metric_history(run_id, KEY))
    return {
        "populate": populate,
        "read": read,
        "metrics": median_time(lambda: client.get_metric_history(run_id, KEY), repeats),
    }


def run() -> list[Row]:
    cairn = measure_cairn()
    scale = CAIRN_POINTS / MLFLOW_POINTS
    mlf: dict[str, Any] = {"metrics": MISSING, "populate": MISSING}
    note = f"cairn: {CAIRN_POINTS:,} points, median of {CAIRN_REPEATS}."
    if mlflow_available():
        log(f"mlflow: writing {MLFLOW_POINTS:,} points ({MLFLOW_BATCH:,} per log_batch)")
        raw = call_mlflow(
            __file__,
            "mlflow_history",
            points=MLFLOW_POINTS,
            batch=MLFLOW_BATCH,
            repeats=MLFLOW_REPEATS,
        )
        mlf = {"metrics": raw["metrics"] * scale, "populate": raw["populate"] * scale}
        note += (
            f" MLflow: SCALED x{scale:g} from {MLFLOW_POINTS:,} points ({raw['read']:,} read "
            f"back), measured {raw['metrics'] * 1e3:,.0f} ms, median of {MLFLOW_REPEATS}."
        )
    return [
        Row(
            "metric history 10^6 points, numpy columns",
            cairn["columns"],
            mlf["metrics"],
            unit="ms",
            target=TARGET_S,
            note=note,
        ),
        Row(
            "metric history 10^6 points, list of Metric",
            cairn["metrics"],
            mlf["metrics"],
            unit="ms",
            target=TARGET_S,
        ),
        Row(
            "write 10^6 points via log_batch",
            cairn["populate"],
            mlf["populate"],
            unit="s",
            note=f"cairn: {CAIRN_BATCH:,} points per log_batch; MLflow: {MLFLOW_BATCH:,} per call "
            f"(its limit), {MLFLOW_POINTS:,} points measured and scaled x{scale:g}.",
        ),
    ]


if __name__ == "__main__":
    bench_main(run, __doc__ or "")
