"""``search_runs`` over 10,000 runs (10 params, 5 metrics, 2 tags each) returning 1,000 runs.

Filter ``metrics.m0 < 0.5 and params.p0 = 'a'`` (about 1,250 runs match), order by
``metrics.m1 ASC``, ``max_results=1000``; median of several repetitions after one warm-up.

cairn, as entities: ``cairn.search_runs(..., output_format="list")`` and
``TrackingClient().search_runs(...)``; as a DataFrame: ``cairn.search_runs(...)``.
MLflow: ``MlflowClient().search_runs(...)`` and ``mlflow.search_runs(...)``.

Both stores get the same runs (same seed). cairn is populated with ``TrackingClient.create_run``
+ ``log_batch``; MLflow with ``MlflowClient.create_run`` + ``log_batch``, which takes minutes, so
its database is built once and cached under ``benchmarks/.cache/`` (delete it to rebuild).
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

from common import (
    CACHE_DIR,
    MISSING,
    Row,
    bench_main,
    call_mlflow,
    fresh_dir,
    log,
    median_time,
    mlflow_available,
    mlflow_version,
)

N_RUNS = 10_000
SEED = 20_240_601
EXPERIMENT = "search-bench"
FILTER = "metrics.m0 < 0.5 and params.p0 = 'a'"
ORDER_BY = ["metrics.m1 ASC"]
MAX_RESULTS = 1000
CAIRN_REPEATS = 7
MLFLOW_REPEATS = 5
TARGET_ENTITIES_S = 0.030
TARGET_FRAME_S = 0.300
BASE_TIME_MS = 1_700_000_000_000


def make_runs(n: int, seed: int) -> list[dict[str, Any]]:
    """The runs both stores get: name, 10 params, 5 metrics, 2 tags (plain data)."""
    rng = random.Random(seed)
    runs = []
    for i in range(n):
        params = {"p0": rng.choice("abcd")}
        params.update({f"p{k}": str(rng.randrange(1000)) for k in range(1, 10)})
        runs.append(
            {
                "name": f"run-{i:05d}",
                "params": params,
                "metrics": {f"m{k}": rng.random() for k in range(5)},
                "tags": {"team": rng.choice(["red", "blue"]), "stage": f"s{i % 7}"},
            }
        )
    return runs


def expected_matches(runs: list[dict[str, Any]]) -> int:
    return sum(1 for r in runs if r["metrics"]["m0"] < 0.5 and r["params"]["p0"] == "a")


# --------------------------------------------------------------------------- cairn


def populate_cairn(runs: list[dict[str, Any]]) -> str:
    """Create the runs in the current cairn store; returns the experiment id."""
    from cairn import TrackingClient
    from cairn.entities import Metric, Param, RunTag

    client = TrackingClient()
    experiment_id = client.create_experiment(EXPERIMENT)
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
    return experiment_id


def measure_cairn(runs: list[dict[str, Any]]) -> dict[str, Any]:
    import cairn
    from cairn import TrackingClient

    with fresh_dir():
        populate_s = time.perf_counter()
        experiment_id = populate_cairn(runs)
        populate_s = time.perf_counter() - populate_s
        log(f"cairn: populated {len(runs):,} runs in {populate_s:.1f} s")
        kwargs: dict[str, Any] = {
            "experiment_ids": [experiment_id],
            "filter_string": FILTER,
            "order_by": ORDER_BY,
            "max_results": MAX_RESULTS,
        }
        found = cairn.search_runs(output_format="list", **kwargs)
        names = [r.info.run_name for r in found]  # type: ignore[union-attr]
        client = TrackingClient()
        figures = {
            "populate": populate_s,
            "names": names,
            "fluent_list": median_time(
                lambda: cairn.search_runs(output_format="list", **kwargs), CAIRN_REPEATS
            ),
            "client": median_time(lambda: client.search_runs(**kwargs), CAIRN_REPEATS),
            "frame": median_time(lambda: cairn.search_runs(**kwargs), CAIRN_REPEATS),
        }
        frame = cairn.search_runs(**kwargs)
        figures["frame_shape"] = list(frame.shape)  # type: ignore[union-attr]
    return figures


# --------------------------------------------------------------------------- MLflow


def mlflow_search(n_runs: int, seed: int, cache: str, repeats: int) -> dict[str, Any]:
    """Runs inside the MLflow venv, in a fresh working directory."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    db, cache_db, cache_meta = Path("mlflow.db"), Path(cache), Path(cache + ".json")
    if cache_db.exists():
        shutil.copyfile(cache_db, db)
        meta = json.loads(cache_meta.read_text())
    else:
        mlflow.set_tracking_uri(f"sqlite:///{db}")
        client = MlflowClient()
        start = time.perf_counter()
        experiment_id = client.create_experiment(EXPERIMENT)
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
        meta = {"populate": time.perf_counter() - start, "runs": n_runs}
        cache_db.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(db, cache_db)
        cache_meta.write_text(json.dumps(meta))
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = MlflowClient()
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    ids = [experiment.experiment_id]

    def entities() -> Any:
        return client.search_runs(ids, FILTER, order_by=ORDER_BY, max_results=MAX_RESULTS)

    def frame() -> Any:
        return mlflow.search_runs(
            experiment_ids=ids, filter_string=FILTER, order_by=ORDER_BY, max_results=MAX_RESULTS
        )

    return {
        "populate": meta["populate"],
        "runs": meta["runs"],
        "names": [r.info.run_name for r in entities()],
        "client": median_time(entities, repeats),
        "frame": median_time(frame, repeats),
        "frame_shape": list(frame().shape),
    }


# --------------------------------------------------------------------------- report


def run() -> list[Row]:
    runs = make_runs(N_RUNS, SEED)
    log(f"search_runs: {N_RUNS:,} runs, {expected_matches(runs):,} match {FILTER!r}")
    cairn = measure_cairn(runs)

    mlf: dict[str, Any] = dict.fromkeys(("client", "frame", "populate"), MISSING)
    notes = [
        f"{N_RUNS:,} runs, {expected_matches(runs):,} match; median of {CAIRN_REPEATS} (cairn) "
        f"/ {MLFLOW_REPEATS} (MLflow) after a warm-up. cairn returned "
        f"{len(cairn['names']):,} runs, DataFrame {cairn['frame_shape']}."
    ]
    if mlflow_available():
        cache = CACHE_DIR / f"mlflow-{mlflow_version()}-search-{N_RUNS}runs-seed{SEED}.db"
        log(
            "mlflow search_runs: "
            + ("using cached DB" if cache.exists() else "populating (minutes; cached after)")
        )
        mlf = call_mlflow(
            __file__,
            "mlflow_search",
            n_runs=N_RUNS,
            seed=SEED,
            cache=str(cache),
            repeats=MLFLOW_REPEATS,
        )
        same = mlf["names"] == cairn["names"]
        notes[0] += (
            f" MLflow returned {len(mlf['names']):,} runs, DataFrame {mlf['frame_shape']}; "
            f"same runs in the same order as cairn: {'yes' if same else 'NO'}."
        )
        notes.append(
            "Time to create the runs one by one (create_run + log_batch + set_terminated), "
            f"total. MLflow's figure is from when its cached DB ({cache.name}) was built."
        )
    else:
        notes.append("Time to create the runs (create_run + log_batch + set_terminated), total.")
    return [
        Row(
            "search_runs 10k -> 1,000 as entities (cairn fluent list)",
            cairn["fluent_list"],
            mlf["client"],
            unit="ms",
            target=TARGET_ENTITIES_S,
            note=notes[0],
        ),
        Row(
            "search_runs 10k -> 1,000 as entities (TrackingClient)",
            cairn["client"],
            mlf["client"],
            unit="ms",
            target=TARGET_ENTITIES_S,
        ),
        Row(
            "search_runs 10k -> 1,000 as DataFrame",
            cairn["frame"],
            mlf["frame"],
            unit="ms",
            target=TARGET_FRAME_S,
        ),
        Row(
            "populate 10,000 runs for search_runs",
            cairn["populate"],
            mlf["populate"],
            unit="s",
            note=notes[1],
        ),
    ]


if __name__ == "__main__":
    bench_main(run, __doc__ or "")
