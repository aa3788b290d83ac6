"""Four processes start logging at the same moment into a store that does not exist yet.

Each process imports the library, signals "ready", waits for "go", then runs
``with start_run(): log_param(...); log_metric(...) x 200`` against the default SQLite store in
the shared working directory (cairn: ``sqlite:///cairn.db``; MLflow: ``sqlite:///mlflow.db`` via
``mlflow.set_tracking_uri``), so all four race to create and migrate the database. A trial is
"ok" if every process exits 0 and the store then holds 4 finished runs with all their points.
Several trials, each in a fresh directory; the cell shows "ok" or how many trials and processes
crashed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    MISSING,
    CallFailed,
    Row,
    bench_main,
    call_command,
    call_python,
    clean_env,
    fresh_dir,
    log,
    mlflow_available,
    mlflow_python,
    parse_result,
)

PROCESSES = 4
TRIALS = 5
POINTS = 200
TIMEOUT_S = 300.0


# --------------------------------------------------------------------------- in the children


def child(tool: str, index: int, points: int) -> dict[str, Any]:
    """One racing process: import, say ready, wait for go, then create a run and log."""
    # Import the database layer up front too (cairn loads it lazily), so the four processes
    # reach "create the store" together rather than staggered by import times.
    import alembic  # noqa: F401
    import sqlalchemy  # noqa: F401

    if tool == "cairn":
        import cairn as lib

        _ = lib.start_run  # loads cairn.tracking.fluent
    else:
        import mlflow as lib

        lib.set_tracking_uri("sqlite:///mlflow.db")
    Path(f"ready-{index}").touch()
    while not os.path.exists("go"):
        time.sleep(0.001)
    with lib.start_run() as run:
        lib.log_param("worker", index)
        for i in range(points):
            lib.log_metric("loss", 1.0 / (i + 1), step=i)
    return {"run_id": run.info.run_id}


def verify(tool: str) -> dict[str, Any]:
    """Finished runs and, per run, the points of "loss" in the store in the working dir."""
    if tool == "cairn":
        import cairn

        runs = cairn.search_runs(output_format="list")
        client: Any = cairn.TrackingClient()
    else:
        import mlflow

        mlflow.set_tracking_uri("sqlite:///mlflow.db")
        runs = mlflow.search_runs(output_format="list")
        client = mlflow.MlflowClient()
    return {
        "finished": sum(1 for r in runs if r.info.status == "FINISHED"),
        "points": [len(client.get_metric_history(r.info.run_id, "loss")) for r in runs],
    }


# --------------------------------------------------------------------------- in the parent


def trial(tool: str, python: str) -> list[str]:
    """One race in a fresh directory: what went wrong, one entry per failed process."""
    with fresh_dir(f"race-{tool}-") as workdir:
        procs = [
            subprocess.Popen(
                call_command(python, __file__, "child", tool=tool, index=i, points=POINTS),
                cwd=workdir,
                env=clean_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(PROCESSES)
        ]
        deadline = time.monotonic() + TIMEOUT_S
        while not all((workdir / f"ready-{i}").exists() for i in range(PROCESSES)):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.005)
        (workdir / "go").touch()
        failures = []
        for i, proc in enumerate(procs):
            try:
                out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                failures.append(f"process {i} hung (killed after {TIMEOUT_S:.0f} s)")
                continue
            if proc.returncode != 0 or not isinstance(parse_result(out), dict):
                failures.append(f"process {i} exited {proc.returncode}: {_last_error(err)}")
        if failures:
            return failures
        try:
            found = call_python(python, __file__, "verify", cwd=workdir, tool=tool)
        except CallFailed as exc:
            return [f"reading the store back failed: {_last_error(str(exc))}"]
        if found["finished"] != PROCESSES or found["points"] != [POINTS] * PROCESSES:
            return [f"data lost: {found}"]
        return []


_EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception|Exit|Interrupt)\b")


def _last_error(stderr: str) -> str:
    """The exception line of a traceback (the last ``SomeError: ...`` line), shortened."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if _EXCEPTION_LINE.match(line)]
    return (errors or lines or ["(no stderr)"])[-1][:240]


def race(tool: str, python: str) -> tuple[str, str]:
    """(cell, note) over ``TRIALS`` trials."""
    failed_trials = 0
    crashed_processes = 0
    examples: dict[str, None] = {}  # distinct failures, in order
    for n in range(TRIALS):
        failures = trial(tool, python)
        log(f"{tool} concurrent start, trial {n + 1}: {'; '.join(failures) or 'ok'}")
        failed_trials += bool(failures)
        crashed_processes += sum(1 for f in failures if " exited " in f or " hung " in f)
        examples.update(dict.fromkeys(f.split(": ", 1)[-1] for f in failures))
    if not failed_trials:
        return "ok", ""
    total = PROCESSES * TRIALS
    if crashed_processes:
        cell = f"crashed ({failed_trials}/{TRIALS} trials, {crashed_processes}/{total} procs)"
    else:
        cell = f"data lost ({failed_trials}/{TRIALS} trials)"
    return cell, f"{tool} errors: " + " | ".join(list(examples)[:3])


def run() -> list[Row]:
    cairn_cell, cairn_note = race("cairn", sys.executable)
    mlflow_cell: str = MISSING
    mlflow_note = ""
    python = mlflow_python()
    if mlflow_available() and python is not None:
        mlflow_cell, mlflow_note = race("mlflow", python)
    notes = [f"{PROCESSES} processes x {TRIALS} trials, each on a fresh SQLite store."]
    notes += [n for n in (cairn_note, mlflow_note) if n]
    return [
        Row(
            f"{PROCESSES} processes start logging into a fresh store",
            cairn_cell,
            mlflow_cell,
            unit="s",
            target="ok",
            note=" ".join(notes),
        )
    ]


if __name__ == "__main__":
    bench_main(run, __doc__ or "")
