"""Fluent ``log_metric`` end to end: the calls inside ``with start_run():`` plus the final flush.

cairn: 10^5 ``cairn.log_metric("loss", v, step=i)`` calls; the clock runs from before
``start_run`` to after the ``with`` block, so it includes writing every point. Median of 3.

MLflow: ``mlflow.log_metric`` into ``sqlite:///mlflow.db``, synchronous (2,000 calls) and with
``mlflow.config.enable_async_logging(True)`` (2,000 calls; per call and per metric including the
drain at ``end_run``). One repetition each: MLflow's figures are milliseconds per call.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from common import (
    MISSING,
    Row,
    bench_main,
    call_mlflow,
    call_python,
    fresh_dir,
    log,
    mlflow_available,
)

CAIRN_CALLS = 100_000
CAIRN_REPEATS = 3
MLFLOW_SYNC_CALLS = 2_000
MLFLOW_ASYNC_CALLS = 2_000
TARGET_S = 5e-6


def cairn_log_metric(calls: int) -> dict[str, float]:
    """Seconds per call for the loop alone and for the whole ``with`` block (incl. flush)."""
    import cairn

    run_id = ""
    start = time.perf_counter()
    with cairn.start_run() as run:
        run_id = run.info.run_id
        loop_start = time.perf_counter()
        for i in range(calls):
            cairn.log_metric("loss", 1.0 / (i + 1), step=i)
        loop_end = time.perf_counter()
    end = time.perf_counter()
    written = len(cairn.TrackingClient().get_metric_history_columns(run_id, "loss"))
    if written != calls:
        raise AssertionError(f"cairn wrote {written} of {calls} points")
    return {"per_call": (loop_end - loop_start) / calls, "end_to_end": (end - start) / calls}


def cairn_cold(calls: int) -> float:
    """Seconds per metric in a new process and store, from ``import cairn`` to the flush."""
    start = time.perf_counter()
    import cairn

    with cairn.start_run():
        for i in range(calls):
            cairn.log_metric("loss", 1.0 / (i + 1), step=i)
    return (time.perf_counter() - start) / calls


def mlflow_log_metric(sync_calls: int, async_calls: int) -> dict[str, Any]:
    """MLflow sync and async per-call figures (runs inside the MLflow venv)."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    with mlflow.start_run():  # creates and migrates the database: not timed
        mlflow.log_metric("warmup", 0.0)

    def one_run(calls: int) -> tuple[float, float, int]:
        start = time.perf_counter()
        with mlflow.start_run() as run:
            loop_start = time.perf_counter()
            for i in range(calls):
                mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
            loop_end = time.perf_counter()
        end = time.perf_counter()
        written = len(MlflowClient().get_metric_history(run.info.run_id, "loss"))
        return (loop_end - loop_start) / calls, (end - start) / calls, written

    sync_call, sync_total, sync_written = one_run(sync_calls)
    mlflow.config.enable_async_logging(True)
    async_call, async_total, async_written = one_run(async_calls)
    mlflow.config.enable_async_logging(False)
    return {
        "sync_per_call": sync_call,
        "sync_end_to_end": sync_total,
        "async_per_call": async_call,
        "async_end_to_end": async_total,
        "written": [sync_written, async_written],
    }


def measure_cairn(default_uri: bool) -> tuple[float, float]:
    """Median (per call, per metric incl. flush) over ``CAIRN_REPEATS`` runs in a fresh dir.

    ``default_uri``: unset ``CAIRN_TRACKING_URI`` so cairn uses its default, the relative
    ``sqlite:///cairn.db`` in the working directory (what a user's script gets).
    """
    import os

    with fresh_dir():
        if default_uri:
            os.environ.pop("CAIRN_TRACKING_URI")
        import cairn

        with cairn.start_run():  # creates the store (schema, default experiment): not timed
            cairn.log_metric("warmup", 0.0)
        figures = []
        for i in range(CAIRN_REPEATS):
            figures.append(cairn_log_metric(CAIRN_CALLS))
            log(
                f"cairn log_metric ({'default' if default_uri else 'env'} URI) repeat {i + 1}: "
                f"{figures[-1]['end_to_end'] * 1e6:.2f} µs/metric"
            )
    return (
        statistics.median(f["per_call"] for f in figures),
        statistics.median(f["end_to_end"] for f in figures),
    )


def run() -> list[Row]:
    cairn_call, cairn_total = measure_cairn(default_uri=False)
    _, cairn_default_total = measure_cairn(default_uri=True)
    cold = call_python(sys.executable, __file__, "cairn_cold", calls=CAIRN_CALLS)
    log(f"cairn log_metric cold: {cold * 1e6:.2f} µs/metric")

    mlf: dict[str, Any]
    note = f"cairn: 10^5 calls into sqlite:///<tmp>/cairn.db, median of {CAIRN_REPEATS}."
    if mlflow_available():
        log(f"mlflow log_metric: {MLFLOW_SYNC_CALLS} sync + {MLFLOW_ASYNC_CALLS} async calls")
        mlf = call_mlflow(
            __file__,
            "mlflow_log_metric",
            sync_calls=MLFLOW_SYNC_CALLS,
            async_calls=MLFLOW_ASYNC_CALLS,
        )
        note += (
            f" MLflow: sqlite:///mlflow.db, {MLFLOW_SYNC_CALLS:,} sync / "
            f"{MLFLOW_ASYNC_CALLS:,} async calls, one run each (points written: "
            f"{mlf['written'][0]:,} / {mlf['written'][1]:,})."
        )
    else:
        mlf = dict.fromkeys(("sync_end_to_end", "async_end_to_end", "async_per_call"), MISSING)
    return [
        Row(
            "log_metric, per metric incl. flush (vs MLflow sync)",
            cairn_total,
            mlf["sync_end_to_end"],
            unit="µs",
            target=TARGET_S,
            note=note,
        ),
        Row(
            "log_metric, per metric incl. flush (vs MLflow async)",
            cairn_total,
            mlf["async_end_to_end"],
            unit="µs",
            target=TARGET_S,
        ),
        Row(
            "log_metric, per call excl. flush (vs MLflow async)",
            cairn_call,
            mlf["async_per_call"],
            unit="µs",
        ),
        Row(
            "log_metric, default URI sqlite:///cairn.db, incl. flush",
            cairn_default_total,
            mlf["sync_end_to_end"],
            unit="µs",
            target=TARGET_S,
            note="Same as the first row but with CAIRN_TRACKING_URI unset, so cairn uses its "
            "default relative sqlite:///cairn.db (MLflow column: sync, relative URI too).",
        ),
        Row(
            "log_metric cold: import + new store + 10^5 calls",
            cold,
            None,
            unit="µs",
            note="Per metric, in a new process on a new store (default URI), timed from "
            "`import cairn` to the end of the with-block, so it includes creating the "
            "database; informative, no target.",
        ),
    ]


if __name__ == "__main__":
    bench_main(run, __doc__ or "")
