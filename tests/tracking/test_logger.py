"""The batching logger's promises: durable at end_run/flush, at most ~1 s lost on SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from cairn.tracking.client import TrackingClient

KILLED_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import cairn
    cairn.set_tracking_uri(sys.argv[1])
    with cairn.start_run() as run:
        print(run.info.run_id, flush=True)
        step = 0
        while True:
            cairn.log_metric("m", float(step), step=step)
            step += 1
            time.sleep(0.0005)
    """
)


def test_sigkill_loses_at_most_about_one_second(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path}/killed.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_SCRIPT, uri], stdout=subprocess.PIPE, text=True
    )
    try:
        run_id = proc.stdout.readline().strip()  # type: ignore[union-attr]
        time.sleep(2.5)
        killed_at = time.time_ns() // 1_000_000
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    history = TrackingClient(uri).get_metric_history_columns(run_id, "m")
    assert len(history) > 100
    assert int(history.timestamps.max()) >= killed_at - 1000
    # Nothing is lost before the last flush: steps are contiguous from 0.
    assert history.steps.tolist() == list(range(len(history)))
    assert TrackingClient(uri).get_run(run_id).info.status == "RUNNING"
