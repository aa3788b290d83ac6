"""`cairn sweep`: a real sweep from the command line, its table and its exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cairn.tracking.client import TrackingClient
from cli_support import Cli

PROJECT = str(Path(__file__).parents[1] / "projects" / "fixtures" / "sweep_project")


def test_sweep_prints_the_trials_and_the_best(cli: Cli, client: TrackingClient) -> None:
    done = cli(
        "sweep", PROJECT, "-e", "train", "-P", "alpha=0.01,0.1,-1", "-P", "depth=3..4",
        "--max-parallel", "2", "--experiment-name", "cli-sweep", "--run-name", "tune",
    )  # fmt: skip
    experiment = client.get_experiment_by_name("cli-sweep")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    [parent] = [r for r in runs if r.data.tags.get("cairn.sweep") == "true"]
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(trials) == 6
    assert {r.info.run_name for r in trials} == {f"tune-{i}" for i in range(6)}
    [best] = [r for r in trials if r.data.tags.get("cairn.sweep.best") == "true"]
    assert (best.data.params["alpha"], best.data.params["depth"]) == ("0.1", "4")
    assert parent.info.run_name == "tune"
    # The table lists every trial (the failed ones too); the best is named under it.
    for trial in trials:
        assert trial.info.run_id in done.stdout
    assert done.stdout.count("FAILED") == 2
    assert f"Best: trial 3, run {best.info.run_id}, loss=0 (alpha=0.1 depth=4)" in done.stdout
    # Progress goes to stderr, so the result can be piped.
    assert "trial 0 started: alpha=0.01 depth=3" in done.stderr
    assert "trial 4 FAILED" in done.stderr


def test_sweep_json_output(cli: Cli) -> None:
    data = json.loads(
        cli(
            "sweep", PROJECT, "-e", "train", "-P", "alpha=0..1", "-P", "depth=4",
            "--strategy", "random", "--trials", "3", "--seed", "1", "-o", "json",
        ).stdout
    )  # fmt: skip
    assert data["status"] == "FINISHED"
    assert len(data["trials"]) == 3
    assert data["best_run_id"] == min(data["trials"], key=lambda t: t["value"])["run_id"]
    assert all(t["params"]["depth"] == "4" for t in data["trials"])


def test_a_sweep_without_a_winner_exits_1(cli: Cli) -> None:
    result = cli.invoke("sweep", PROJECT, "-e", "train", "-P", "alpha=-1", "-P", "depth=4")
    assert result.exit_code == 1
    assert "No trial finished with metric 'loss' logged" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-P", "depth=6..3"], "starts above its end"),
        (["-P", "alpha=0.001..1"], "continuous range"),
        (["-P", "alpha=log:1e-4..1"], "log-uniform"),
        (["-P", "alpha=0.1", "--trials", "4"], "--trials is for random and bayes"),
        (["-P", "alpha=0.1,x"], "must be a number"),
        ([], "needs a search space"),
        (["-P", "alpha=0.1", "--max-parallel", "0"], "at least 1"),
    ],
)
def test_bad_sweeps_fail_cleanly(
    cli: Cli, client: TrackingClient, args: list[str], message: str
) -> None:
    assert message in cli.fails("sweep", PROJECT, "-e", "train", *args)
    assert list(client.search_runs(["0"])) == []


def test_unknown_strategy_is_a_usage_error(cli: Cli) -> None:
    result = cli.invoke("sweep", PROJECT, "-e", "train", "-P", "alpha=1", "--strategy", "nope")
    assert result.exit_code == 2
    assert "'nope' is not one of 'grid', 'random', 'bayes'" in result.stderr
