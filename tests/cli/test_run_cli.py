"""`cairn run`, `cairn runs logs|cancel|reproduce`: the command line around projects."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cairn.tracking.client import TrackingClient
from cli_support import Cli
from project_support import git, running, wait_for

PROJECT = Path(__file__).parents[1] / "projects" / "fixtures" / "basic_project"


def test_run_streams_output_and_exits_by_status(cli: Cli, client: TrackingClient) -> None:
    done = cli(
        "run", str(PROJECT), "-P", "alpha=0.2", "--env-manager", "local", "--experiment-name", "cli"
    )
    assert "trained run=" in done.stdout
    assert "FINISHED" in done.stderr
    [run] = client.search_runs([client.get_experiment_by_name("cli").experiment_id])
    assert f"view: `cairn ui`, then http://127.0.0.1:5000/#/runs/{run.info.run_id}" in done.stderr
    assert run.data.params["alpha"] == "0.2"
    failed = cli.invoke("run", str(PROJECT), "-e", "fail", "--env-manager", "local")
    assert failed.exit_code == 1
    assert "something went wrong" in failed.stdout
    assert "FAILED" in failed.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-P", "alpha=abc"], "must be a number"),
        (["-P", "alpha"], "write it as -P name=value"),
        (["-P", "alpha=1", "-P", "alpha=2"], "given twice"),
        (["-e", "nope"], "no entry point 'nope'"),
        (["--version", "no-such-version"], "is not a branch, tag or commit"),
    ],
)
def test_bad_requests_fail_cleanly(cli: Cli, args: list[str], message: str) -> None:
    assert message in cli.fails("run", str(PROJECT), "--env-manager", "local", *args)


def start_waiting(cli: Cli, marker: Path) -> str:
    """Start the fixture's `wait` entry point detached; returns the run id."""
    started = cli(
        "run",
        str(PROJECT),
        "-e",
        "wait",
        "-P",
        f"marker={marker}",
        "--detach",
        "--env-manager",
        "local",
    )
    assert "cairn runs cancel" in started.stderr
    return started.stdout.strip()


def test_detached_run_logs_and_cancel(cli: Cli, client: TrackingClient, tmp_path: Path) -> None:
    marker = tmp_path / "pids.txt"
    run_id = start_waiting(cli, marker)
    wait_for(marker.is_file)
    pids = [int(p) for p in marker.read_text().split()]
    assert client.get_run(run_id).info.status == "RUNNING"
    wait_for(lambda: "waiting" in cli("runs", "logs", run_id).stdout)
    assert "KILLED" in cli("runs", "cancel", run_id).stdout
    assert client.get_run(run_id).info.status == "KILLED"
    wait_for(lambda: not any(running(p) for p in pids), timeout=30)
    log = cli("runs", "logs", run_id).stdout  # now from the saved artifact
    assert "waiting" in log and "Cancelled" in log
    assert "already ended" in cli.fails("runs", "cancel", run_id)


def test_follow_a_detached_run_to_its_end(cli: Cli, client: TrackingClient) -> None:
    run_id = cli("run", str(PROJECT), "--detach", "--env-manager", "local").stdout.strip()
    followed = cli("runs", "logs", run_id, "--follow").stdout
    assert f"trained run={run_id}" in followed
    wait_for(lambda: client.get_run(run_id).info.status == "FINISHED", timeout=30)


def test_cancel_and_logs_refuse_runs_not_started_by_cairn_run(
    cli: Cli, client: TrackingClient
) -> None:
    run = client.create_run("0")
    assert "not started by `cairn run --detach`" in cli.fails("runs", "cancel", run.info.run_id)
    client.set_terminated(run.info.run_id)
    assert "no project log" in cli.fails("runs", "logs", run.info.run_id)
    assert "not started by `cairn run`" in cli.fails("runs", "reproduce", run.info.run_id)


def test_reproduce_reruns_the_recorded_commit_and_compares(
    cli: Cli, client: TrackingClient, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    project = repo / "proj"
    import shutil

    shutil.copytree(PROJECT, project)
    (project / "version.txt").write_text("1\n")
    git(repo, "init", "--quiet")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "one")
    original = cli("run", str(project), "-e", "version", "--env-manager", "local")
    [run] = client.search_runs(["0"])
    assert run.data.metrics["version_marker"] == 1.0
    # The code moves on; reproducing the run still runs the commit it recorded.
    (project / "version.txt").write_text("9\n")
    git(repo, "commit", "--quiet", "-am", "nine")
    assert original.exit_code == 0
    done = cli("runs", "reproduce", run.info.run_id)
    assert "version_marker" in done.stdout
    assert "same" in done.stdout
    again = [r for r in client.search_runs(["0"]) if r.info.run_id != run.info.run_id]
    [rerun] = again
    assert rerun.data.tags["cairn.reproduces"] == run.info.run_id
    assert rerun.data.metrics["version_marker"] == 1.0
    assert rerun.data.tags["mlflow.source.git.commit"] == run.data.tags["mlflow.source.git.commit"]


def test_reproducing_a_sweep_gives_the_command_that_reruns_it(
    cli: Cli, client: TrackingClient
) -> None:
    from cairn.projects.sweeps import sweep

    project = Path(__file__).parents[1] / "projects" / "fixtures" / "sweep_project"
    result = sweep(
        str(project),
        "train",
        space=["alpha=0.1,1", "depth=3..4"],
        strategy="random",
        trials=2,
        seed=7,
        env_manager="local",
    )
    message = cli.fails("runs", "reproduce", result.parent_run_id)
    assert "is a sweep" in message
    command = message.split("\n", 1)[1].strip()
    assert command.startswith(f"cairn sweep {project} -e train -P alpha=0.1,1 -P depth=3..4")
    assert "--strategy random" in command and "--trials 2" in command and "--seed 7" in command
    # The command it prints is one `cairn sweep` accepts.
    again = cli(*command.split()[1:], "--env-manager", "local")
    assert "Best:" in again.stdout


def test_a_run_whose_supervisor_died_can_still_be_ended(
    cli: Cli, client: TrackingClient, tmp_path: Path
) -> None:

    marker = tmp_path / "pids.txt"
    run_id = start_waiting(cli, marker)
    wait_for(marker.is_file)
    wait_for(lambda: "cairn.project.pid" in client.get_run(run_id).data.tags)
    supervisor = int(client.get_run(run_id).data.tags["cairn.project.pid"])
    os.kill(supervisor, signal.SIGKILL)  # no chance to record anything
    for pid in (int(p) for p in marker.read_text().split()):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not running(supervisor), timeout=30)
    assert client.get_run(run_id).info.status == "RUNNING"
    assert "process that ran it is gone" in cli.fails("runs", "logs", run_id, "--follow")
    assert "KILLED" in cli("runs", "cancel", run_id).stdout
    assert client.get_run(run_id).info.status == "KILLED"


def test_ctrl_c_stops_a_synchronous_run_and_everything_it_started(
    client: TrackingClient, tmp_path: Path
) -> None:

    marker = tmp_path / "pids.txt"
    cairn = Path(sys.executable).with_name("cairn")
    process = subprocess.Popen(
        [
            str(cairn),
            "--tracking-uri",
            client.tracking_uri,
            "run",
            str(PROJECT),
            "-e",
            "wait",
            "-P",
            f"marker={marker}",
            "--env-manager",
            "local",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )
    try:
        wait_for(marker.is_file)
        pids = [int(p) for p in marker.read_text().split()]
        process.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends
        output = process.communicate(timeout=60)[0].decode()
    finally:
        process.kill()
    assert process.returncode == 130, output
    assert "Interrupted" in output and "Traceback" not in output
    [run] = client.search_runs(["0"])
    assert run.info.status == "KILLED"
    wait_for(lambda: not any(running(p) for p in pids), timeout=30)
