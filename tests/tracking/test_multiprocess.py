"""Many processes logging into one store at once lose nothing, from a fresh store on."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from cairn.tracking.client import TrackingClient

WORKER = textwrap.dedent(
    """
    import sys
    import cairn
    cairn.set_tracking_uri(sys.argv[1])
    worker = int(sys.argv[2])
    cairn.set_experiment("shared")
    for r in range(3):
        with cairn.start_run(run_name=f"w{worker}-r{r}"):
            cairn.log_params({"worker": worker, "r": r})
            for step in range(5000):
                cairn.log_metric("loss", step * 0.5, step=step)
                cairn.log_metric("acc", step * 0.25, step=step)
            cairn.set_tag("done", "yes")
    """
)


@pytest.mark.slow
def test_four_processes_start_and_log_at_once(db_uri: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_uri, str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "error" not in err.lower(), err
    client = TrackingClient(db_uri)
    experiment = client.get_experiment_by_name("shared")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    assert sorted(r.info.run_name for r in runs) == sorted(
        f"w{w}-r{r}" for w in range(4) for r in range(3)
    )
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.tags["done"] == "yes"
        assert run.data.metrics == {"loss": 4999 * 0.5, "acc": 4999 * 0.25}
        loss = client.get_metric_history_columns(run.info.run_id, "loss")
        assert loss.steps.tolist() == list(range(5000))
