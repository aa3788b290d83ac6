"""``cairn run`` vs ``mlflow run`` of a tiny project: the whole command, end to end.

The script writes two copies of one small project into a temp directory, one per tool: an
``MLproject`` whose ``main`` entry point takes ``alpha: float`` and runs ``python train.py``,
which imports the tool, starts a run (the one the tool created for it) and logs 1 param and 10
metrics; and an entry point ``noop`` whose command is ``true``, so only the tool's own work is
left (read the project, create the run, start the command, record its end).

Each command is a child process timed from start to exit: ``cairn run DIR ... --env-manager
local`` (the venv's ``cairn``) and ``/opt/mlflow-venv/bin/mlflow run DIR ... --env-manager
local``, with ``PATH`` starting at the tool's own venv (so ``python`` in the command is that
venv's) and the tracking store a SQLite file in a fresh directory per tool and benchmark. The
first run on the new store is the warm-up (reported on its own: it creates the store); then the
median of ``REPEATS``. After timing, each store must hold every run FINISHED with the script's
10 metrics, or the row says what is wrong.

A third pair runs a copy of the project that declares a ``python_env.yaml`` with
``--env-manager virtualenv``: the first run builds the environment (under a temp env root), the
timed runs reuse it (MLflow's copy lists ``mlflow``; cairn installs itself). MLflow finds the
interpreter through pyenv; where it refuses, the row says why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import (
    MISSING,
    CallFailed,
    Row,
    bench_main,
    call_mlflow,
    clean_env,
    log,
    mlflow_available,
    mlflow_python,
    mlflow_version,
)

REPEATS = 5
METRICS = 10
SCRIPT = Path(__file__).resolve()
ENV_BUILD_TIMEOUT = 900  # seconds; building a virtualenv installs packages

TRAIN = """\
import argparse

import {tool}

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float, required=True)
args = parser.parse_args()
with {tool}.start_run():
    {tool}.log_param("alpha", args.alpha)
    for i in range({metrics}):
        {tool}.log_metric(f"m{{i}}", args.alpha * i)
"""

MLPROJECT = """\
name: bench_{tool}
{env_line}
entry_points:
  main:
    parameters:
      alpha: float
    command: "python train.py --alpha {{alpha}}"
  noop:
    command: "true"
"""


# --------------------------------------------------------------------------- the projects


def write_project(directory: Path, tool: str, requirements: list[str] | None = None) -> Path:
    """A project for ``tool`` ("cairn" or "mlflow") in ``directory``; with ``requirements`` it
    declares a python_env.yaml listing them."""
    directory.mkdir(parents=True)
    env_line = "python_env: python_env.yaml\n" if requirements is not None else ""
    (directory / "MLproject").write_text(MLPROJECT.format(tool=tool, env_line=env_line))
    (directory / "train.py").write_text(TRAIN.format(tool=tool, metrics=METRICS))
    if requirements is not None:
        python = ".".join(map(str, sys.version_info[:3]))
        lines = [f'python: "{python}"', "build_dependencies:", "  - pip", "dependencies:"]
        lines += [f"  - {r}" for r in requirements] if requirements else ["  []"]
        (directory / "python_env.yaml").write_text("\n".join(lines) + "\n")
    return directory


def cairn_cli() -> Path:
    return Path(sys.executable).with_name("cairn")


def mlflow_cli() -> Path:
    python = mlflow_python()
    assert python is not None
    return Path(python).with_name("mlflow")


def child_env(tool: str, store_dir: Path, env_root: Path | None = None) -> dict[str, str]:
    """The environment of one ``run`` command: the tool's venv first on PATH, its store in
    ``store_dir``."""
    env = clean_env()
    bin_dir = cairn_cli().parent if tool == "cairn" else mlflow_cli().parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    if tool == "cairn":
        env["CAIRN_TRACKING_URI"] = f"sqlite:///{store_dir / 'cairn.db'}"
        env["CAIRN_ARTIFACT_ROOT"] = str(store_dir / "cairn-artifacts")
        if env_root is not None:
            env["CAIRN_ENV_ROOT"] = str(env_root)
    else:
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{store_dir / 'mlflow.db'}"
        if env_root is not None:
            env["MLFLOW_ENV_ROOT"] = str(env_root)
    return env


def run_command(tool: str, project: Path, entry_point: str, env_manager: str) -> list[str]:
    cli = cairn_cli() if tool == "cairn" else mlflow_cli()
    command = [str(cli), "run", str(project), "-e", entry_point]
    if entry_point == "main":
        command += ["-P", "alpha=0.5"]
    return [*command, "--env-manager", env_manager]


# --------------------------------------------------------------------------- measuring


def timed_run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> float:
    """Wall seconds of ``command`` run to its end; raises CallFailed (with its output's
    tail) if it fails. The wait blocks in the kernel (``Popen.wait`` with a timeout polls,
    adding up to 50 ms); a timer kills the command if it overruns ``timeout``."""
    out = cwd / "output.txt"
    with open(out, "wb") as sink:
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=sink, stderr=sink, start_new_session=True
        )
        watchdog = threading.Timer(timeout, _kill_group, (proc.pid,))
        watchdog.start()
        try:
            returncode = proc.wait()
        finally:
            watchdog.cancel()
        seconds = time.perf_counter() - started
    if seconds >= timeout:
        raise CallFailed(f"timed out after {timeout:.0f} s")
    if returncode != 0:
        lines = [ln for ln in out.read_text(errors="replace").splitlines() if ln.strip()]
        raise CallFailed(f"exit {returncode}: " + "\n".join(lines[-12:]))
    return seconds


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def measure(
    tool: str,
    project: Path,
    entry_point: str,
    env_manager: str,
    work: Path,
    *,
    env_root: Path | None = None,
) -> dict[str, Any]:
    """The first run on a new store, then the median of REPEATS; the store checked after."""
    store_dir = work / f"{tool}-{entry_point}-{env_manager}"
    store_dir.mkdir()
    env = child_env(tool, store_dir, env_root)
    command = run_command(tool, project, entry_point, env_manager)
    first_timeout = ENV_BUILD_TIMEOUT if env_manager != "local" else 300
    first = timed_run(command, store_dir, env, first_timeout)
    times = [timed_run(command, store_dir, env, 300) for _ in range(REPEATS)]
    expected = METRICS if entry_point == "main" else 0
    uri = env["CAIRN_TRACKING_URI" if tool == "cairn" else "MLFLOW_TRACKING_URI"]
    if tool == "cairn":
        problem = cairn_check(uri, REPEATS + 1, expected)
    else:
        problem = call_mlflow(SCRIPT, "mlflow_check", uri=uri, runs=REPEATS + 1, metrics=expected)
    result = {"first": first, "median": statistics.median(times), "problem": problem}
    log(
        f"  {tool} {entry_point} ({env_manager}): first {first:.2f} s, median "
        f"{result['median']:.2f} s of {[round(t, 2) for t in times]}"
        + (f"; CHECK FAILED: {problem}" if problem else "")
    )
    return result


def _check(runs: list[Any], count: int, metrics: int) -> str:
    """'' if ``runs`` are ``count`` FINISHED runs with ``metrics`` metrics each, else why not."""
    if len(runs) != count:
        return f"{len(runs)} runs in the store, expected {count}"
    for run in runs:
        if run.info.status != "FINISHED":
            return f"run {run.info.run_id} is {run.info.status}"
        if len(run.data.metrics) != metrics:
            return f"run {run.info.run_id} has {len(run.data.metrics)} metrics, not {metrics}"
        if metrics and run.data.params.get("alpha") != "0.5":
            return f"run {run.info.run_id} has params {run.data.params}"
    return ""


def cairn_check(uri: str, runs: int, metrics: int) -> str:
    from cairn.tracking.client import TrackingClient

    client = TrackingClient(uri)
    found = client.search_runs(["0"], max_results=1000)
    return _check(list(found), runs, metrics)


def mlflow_check(uri: str, runs: int, metrics: int) -> str:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    return _check(list(client.search_runs(["0"], max_results=1000)), runs, metrics)


def measure_both(
    label: str, entry_point: str, env_manager: str, projects: dict[str, Path], work: Path
) -> tuple[dict[str, Any], dict[str, Any] | str]:
    """(cairn's result, or {"error": why}; MLflow's result, or a short reason)."""
    env_roots = {t: work / f"{t}-envs" for t in projects} if env_manager != "local" else {}
    log(f"{label} ...")
    cairn: dict[str, Any]
    try:
        cairn = measure(
            "cairn",
            projects["cairn"],
            entry_point,
            env_manager,
            work,
            env_root=env_roots.get("cairn"),
        )
    except CallFailed as exc:
        log(f"  cairn failed: {exc}")
        cairn = {"error": _reason(str(exc))}
    mlflow: dict[str, Any] | str
    if not mlflow_available():
        mlflow = MISSING
    else:
        try:
            mlflow = measure(
                "mlflow",
                projects["mlflow"],
                entry_point,
                env_manager,
                work,
                env_root=env_roots.get("mlflow"),
            )
        except CallFailed as exc:
            log(f"  mlflow failed: {exc}")
            mlflow = "mlflow: " + _reason(str(exc))
    return cairn, mlflow


def _reason(message: str) -> str:
    """The line of a failure's output that says why (an exception's message, else the last)."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line[:200]
    return lines[-1][:200] if lines else "failed"


# --------------------------------------------------------------------------- the table


def rows_for(
    label: str,
    cairn: dict[str, Any],
    mlflow: dict[str, Any] | str,
    note: str,
    first_label: str = "first run on a new store",
) -> list[Row]:
    def cell(result: dict[str, Any] | str, key: str) -> float | str:
        if isinstance(result, str):
            return "failed" if result.startswith("mlflow: ") else result
        if "error" in result:
            return "failed"
        return result[key] if not result.get("problem") else f"wrong ({result[key]:.2f} s)"

    notes = [note]
    if isinstance(cairn, dict) and cairn.get("error"):
        notes.append(f"cairn failed: {cairn['error']}")
    if isinstance(cairn, dict) and cairn.get("problem"):
        notes.append(f"cairn's store: {cairn['problem']}")
    if isinstance(mlflow, str) and mlflow != MISSING:
        notes.append(mlflow)
    if isinstance(mlflow, dict) and mlflow.get("problem"):
        notes.append(f"mlflow's store: {mlflow['problem']}")
    return [
        Row(
            f"{label}: run (median of {REPEATS})",
            cell(cairn, "median"),
            cell(mlflow, "median"),
            unit="s",
            note="; ".join(n for n in notes if n),
        ),
        Row(f"{label}: {first_label}", cell(cairn, "first"), cell(mlflow, "first"), "s"),
    ]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run() -> list[Row]:
    start_load = _load()
    log(f"load average {start_load}; mlflow {mlflow_version()}")
    work = Path(tempfile.mkdtemp(prefix="cairn-bench-projects-"))
    try:
        local = {t: write_project(work / f"{t}-project", t) for t in ("cairn", "mlflow")}
        version = mlflow_version() or "3"
        with_env = {
            "cairn": write_project(work / "cairn-env-project", "cairn", []),
            "mlflow": write_project(work / "mlflow-env-project", "mlflow", [f"mlflow=={version}"]),
        }
        rows: list[Row] = []
        c, m = measure_both("run main (local)", "main", "local", local, work)
        rows += rows_for(
            "run main, --env-manager local",
            c,
            m,
            f"the whole `run` command; train.py imports the tool and logs 1 param + {METRICS} "
            "metrics into the run the tool created",
        )
        c, m = measure_both("run noop (local)", "noop", "local", local, work)
        rows += rows_for(
            "run `true`, --env-manager local",
            c,
            m,
            "the tool's own overhead: read the project, create the run, run `true`, end the run",
        )
        c, m = measure_both("run main (virtualenv)", "main", "virtualenv", with_env, work)
        rows += rows_for(
            "run main, --env-manager virtualenv",
            c,
            m,
            "python_env.yaml (cairn: no dependencies, cairn itself is installed; mlflow: "
            f"mlflow=={version}); median = the environment reused from the cache; first run "
            "= building it (pip's download cache as this machine has it)",
            first_label="first run, building the environment",
        )
        rows[0].note += f"; load average {start_load} at the start, {_load()} at the end"
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    bench_main(run, __doc__ or "")
