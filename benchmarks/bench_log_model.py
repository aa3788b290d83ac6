"""``sklearn.log_model`` of a LogisticRegression with an input example, cairn vs MLflow.

Each trial is a new process in a fresh directory on the default local store (cairn:
``sqlite:///cairn.db``; MLflow: ``sqlite:///mlflow.db``). The process imports the library,
scikit-learn and pandas, fits the model on iris and starts a run; then the first ``log_model``
call is timed (what a training script pays: it includes the flavor's lazy imports, e.g. skops),
then a second one in the same process (the steady state). ``load_model`` + first ``predict`` of
the logged model is timed in the same process. Median over the trials.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import MISSING, CallFailed, Row, bench_main, call_mlflow, call_python, log

TRIALS = 3
SCRIPT = Path(__file__).resolve()


def _fit() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    return LogisticRegression(max_iter=500).fit(X, y), X


def cairn_trial(
    serialization_format: str = "skops", tracking_uri: str | None = None
) -> dict[str, float]:
    import time

    import cairn
    import cairn.pyfunc
    import cairn.sklearn

    if tracking_uri:
        cairn.set_tracking_uri(tracking_uri)
    model, X = _fit()
    with cairn.start_run():
        t0 = time.perf_counter()
        info = cairn.sklearn.log_model(
            model, name="model", input_example=X[:5], serialization_format=serialization_format
        )
        t1 = time.perf_counter()
        cairn.sklearn.log_model(
            model, name="again", input_example=X[:5], serialization_format=serialization_format
        )
        t2 = time.perf_counter()
    loaded = cairn.pyfunc.load_model(info.model_uri)
    loaded.predict(X[:5])
    t3 = time.perf_counter()
    return {"first": t1 - t0, "second": t2 - t1, "load": t3 - t2}


def mlflow_trial(tracking_uri: str = "sqlite:///mlflow.db") -> dict[str, float]:
    import os
    import time

    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn

    mlflow.set_tracking_uri(tracking_uri)
    model, X = _fit()
    with mlflow.start_run():
        t0 = time.perf_counter()
        info = mlflow.sklearn.log_model(model, name="model", input_example=X[:5])
        t1 = time.perf_counter()
        mlflow.sklearn.log_model(model, name="again", input_example=X[:5])
        t2 = time.perf_counter()
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    loaded.predict(X[:5])
    t3 = time.perf_counter()
    return {"first": t1 - t0, "second": t2 - t1, "load": t3 - t2}


def _median(trials: list[dict[str, float]], key: str) -> float:
    return statistics.median(t[key] for t in trials)


def _against_servers() -> tuple[list[dict[str, float]], list[dict[str, float]] | None]:
    """The same trials with each client logging to its own tool's server (SQLite behind it)."""
    from bench_server_tracking import server

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with server("cairn", f"sqlite:///{work}/cairn.db", work, 1) as port:
            url = f"http://127.0.0.1:{port}"
            cairn = [
                call_python(sys.executable, SCRIPT, "cairn_trial", tracking_uri=url)
                for _ in range(TRIALS)
            ]
        log(f"cairn against its server: {cairn}")
        try:
            with server("mlflow", f"sqlite:///{work}/mlflow.db", work, 4) as port:
                url = f"http://127.0.0.1:{port}"
                mlflow: list[dict[str, float]] | None = [
                    call_mlflow(SCRIPT, "mlflow_trial", tracking_uri=url) for _ in range(TRIALS)
                ]
            log(f"mlflow against its server: {mlflow}")
        except (CallFailed, RuntimeError) as exc:
            log(str(exc))
            mlflow = None
    return cairn, mlflow


def run() -> list[Row]:
    cairn = [call_python(sys.executable, SCRIPT, "cairn_trial") for _ in range(TRIALS)]
    pickled = [
        call_python(sys.executable, SCRIPT, "cairn_trial", serialization_format="cloudpickle")
        for _ in range(TRIALS)
    ]
    log(f"cairn: {cairn}")
    try:
        mlflow: list[dict[str, float]] | None = [
            call_mlflow(SCRIPT, "mlflow_trial") for _ in range(TRIALS)
        ]
        log(f"mlflow: {mlflow}")
    except CallFailed as exc:
        log(str(exc))
        mlflow = None

    def theirs(key: str) -> float | str:
        return MISSING if mlflow is None else _median(mlflow, key)

    served, mlflow_served = _against_servers()

    return [
        Row(
            "sklearn.log_model, first call in a process",
            _median(cairn, "first"),
            theirs("first"),
            unit="s",
            target=0.5,
            note="skops (the default in both); includes importing skops.io (~0.4 s: it imports "
            "every scikit-learn estimator module to build its trusted-type list).",
        ),
        Row("sklearn.log_model, later calls", _median(cairn, "second"), theirs("second"), "ms"),
        Row(
            "sklearn.log_model, first call, cloudpickle",
            _median(pickled, "first"),
            MISSING,
            "ms",
        ),
        Row("pyfunc load_model + first predict", _median(cairn, "load"), theirs("load"), "ms"),
        Row(
            "sklearn.log_model against a local server, first call",
            _median(served, "first"),
            MISSING if mlflow_served is None else _median(mlflow_served, "first"),
            unit="s",
            target=1.0,
            note="cairn server (1 worker) / mlflow server (4 workers), SQLite behind each; "
            "artifacts through cairn's proxy, MLflow's written by its client directly.",
        ),
        Row(
            "sklearn.log_model against a local server, later calls",
            _median(served, "second"),
            MISSING if mlflow_served is None else _median(mlflow_served, "second"),
            "ms",
        ),
    ]


if __name__ == "__main__":
    bench_main(run, __doc__ or "")
