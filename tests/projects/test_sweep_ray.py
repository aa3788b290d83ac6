"""`cairn sweep --backend ray`: trials as tasks on a real local Ray cluster (2 CPUs).

Ray takes seconds to start, so this module starts one cluster for its sweeps and stops it
after; the first test lets the sweep start (and stop) a cluster of its own, as the CLI does.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.projects.sweeps import TrialResult, sweep
from cairn.tracking.client import TrackingClient

ray = pytest.importorskip("ray")

PROJECT = str(Path(__file__).parent / "fixtures" / "sweep_project")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """One local cluster for the module's sweeps. The workers inherit this process's
    environment, so `python` must already be this interpreter when it starts."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_a_sweep_starts_and_stops_its_own_local_cluster(client: TrackingClient) -> None:
    assert not ray.is_initialized()
    result = sweep(
        PROJECT,
        "train",
        space={"alpha": "0..1", "depth": "3..5"},
        strategy="random",
        trials=3,
        seed=5,
        backend="ray",
        max_parallel=2,
        ray_num_cpus=2,
    )
    assert not ray.is_initialized()
    assert [t.status for t in result.trials] == ["FINISHED"] * 3
    values = {t.run_id: t.value for t in result.trials}
    assert result.best_run_id == min(values, key=lambda k: values[k])  # type: ignore[arg-type, return-value]


def test_trials_run_as_ray_tasks_and_the_best_is_marked(
    client: TrackingClient, ray_cluster: None
) -> None:
    result = sweep(
        PROJECT,
        "train",
        space=["alpha=-1,0.1,1", "depth=3..4"],
        backend="ray",
        max_parallel=2,
    )
    assert ray.is_initialized()  # a cluster the caller started is left running
    assert result.status == "FINISHED"
    statuses = {(t.params["alpha"], t.params["depth"]): t.status for t in result.trials}
    assert statuses == {
        ("-1", "3"): "FAILED",
        ("-1", "4"): "FAILED",
        ("0.1", "3"): "FINISHED",
        ("0.1", "4"): "FINISHED",
        ("1", "3"): "FINISHED",
        ("1", "4"): "FINISHED",
    }
    best = result.best
    assert best is not None and best.params == {"alpha": "0.1", "depth": "4"}
    runs = list(
        client.search_runs(
            result.experiment_id, f"tags.`mlflow.parentRunId` = '{result.parent_run_id}'"
        )
    )
    assert {run.info.run_id for run in runs} == {t.run_id for t in result.trials}
    for run in runs:
        assert run.data.tags["mlflow.project.backend"] == "ray"
    assert client.get_run(best.run_id).data.tags["cairn.sweep.best"] == "true"  # type: ignore[arg-type]
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["cairn.sweep.backend"] == "ray"
    assert parent.data.metrics["best_loss"] == pytest.approx(0.0)
    assert [f.path for f in client.list_artifacts(result.parent_run_id)] == [
        "sweep_summary.csv",
        "sweep_summary.json",
    ]


def test_an_interrupted_ray_sweep_cancels_its_trials(
    client: TrackingClient, ray_cluster: None
) -> None:
    def interrupt_once_a_trial_runs(trial: TrialResult) -> None:
        if (trial.index, trial.status) != (1, "SCHEDULED"):
            return
        for _ in range(600):  # until trial 0's command is really running (up to a minute)
            if list(client.search_runs(["0"], "metrics.started = 1")):
                raise KeyboardInterrupt
            time.sleep(0.1)
        raise AssertionError("the first trial never started")

    with pytest.raises(KeyboardInterrupt):
        sweep(
            PROJECT,
            "train",
            space=["alpha=0.1,1,2", "seconds=300"],
            backend="ray",
            max_parallel=2,
            on_trial=interrupt_once_a_trial_runs,
        )
    assert ray.is_initialized()
    runs = list(client.search_runs(["0"]))
    [parent] = [r for r in runs if r.data.tags.get("cairn.sweep") == "true"]
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.status == "KILLED"
    assert len(trials) == 2
    assert {r.info.status for r in trials} == {"KILLED"}
    # The run inside the task stopped its command and recorded itself (with its log).
    for run in trials:
        assert "project.log" in [f.path for f in client.list_artifacts(run.info.run_id)]
