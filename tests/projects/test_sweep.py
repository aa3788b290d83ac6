"""`cairn.projects.sweep`: search spaces, strategies, and real sweeps of a real project.

The fixture project's loss is (alpha - 0.1)**2 + (depth - 4)**2, so the best trial of every
sweep is known in advance; alpha < 0 makes a trial fail, depth < 0 makes it finish without
logging the loss.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from pathlib import Path

import pytest

from cairn.errors import CairnError
from cairn.projects import sweeps
from cairn.projects.sweep_space import Dimension, make_strategy, parse_dimension, parse_space
from cairn.projects.sweeps import SweepResult
from cairn.tracking.client import TrackingClient
from project_support import git

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = str(FIXTURES / "sweep_project")


def loss(alpha: float, depth: int) -> float:
    return (alpha - 0.1) ** 2 + (depth - 4) ** 2


def artifact_text(client: TrackingClient, run_id: str, path: str, tmp_path: Path) -> str:
    local = client.download_artifacts(run_id, path, str(tmp_path / f"dl-{run_id}"))
    return Path(local).read_text()


def children(client: TrackingClient, result: SweepResult) -> list:
    return list(
        client.search_runs(
            result.experiment_id, f"tags.`mlflow.parentRunId` = '{result.parent_run_id}'"
        )
    )


# ---------------------------------------------------------------------------- search spaces


@pytest.mark.parametrize(
    ("text", "kind", "grid"),
    [
        ("0.01,0.1,1", "choice", ["0.01", "0.1", "1"]),
        ("adam, sgd", "choice", ["adam", "sgd"]),
        ("3..6", "int", ["3", "4", "5", "6"]),
        ("-1..1", "int", ["-1", "0", "1"]),
        ("2..10:3", "int", ["2", "5", "8"]),
        ("0..1:0.25", "float", ["0.0", "0.25", "0.5", "0.75", "1.0"]),
        ("0.1..0.3:0.1", "float", ["0.1", "0.2", "0.3"]),
        ("7", "fixed", ["7"]),
        ("../data/train.csv", "fixed", ["../data/train.csv"]),
    ],
)
def test_dimensions_a_grid_can_enumerate(text: str, kind: str, grid: list[str]) -> None:
    dimension = parse_dimension("p", text)
    assert dimension.kind == kind
    assert dimension.grid_values() == grid


def test_continuous_and_log_ranges_are_for_random_and_bayes() -> None:
    continuous = parse_dimension("alpha", "0.001..1")
    assert (continuous.kind, continuous.low, continuous.high) == ("float", 0.001, 1.0)
    assert continuous.continuous and not continuous.log
    log = parse_dimension("lr", "log:1e-4..1")
    assert (log.kind, log.low, log.high, log.log) == ("float", 1e-4, 1.0, True)
    with pytest.raises(CairnError, match=r"continuous range.*choices \(a,b,c\) or a step"):
        continuous.grid_values()
    with pytest.raises(CairnError, match="log-uniform"):
        log.grid_values()
    assert parse_dimension("n", "log:1..1000").kind == "int"


def test_a_space_from_strings_or_a_mapping() -> None:
    space = parse_space(["alpha=0.1,1", "depth = 3..4", "name=a=b"])
    assert list(space) == ["alpha", "depth", "name"]
    assert space["name"].values == ("a=b",)
    mapped = parse_space({"alpha": [0.1, 1], "depth": 4, "flag": True, "lr": "log:1e-3..1"})
    assert mapped["alpha"] == Dimension("alpha", "choice", ("0.1", "1"))
    assert mapped["depth"] == Dimension("depth", "fixed", ("4",))
    assert mapped["flag"].values == ("true",)
    assert mapped["lr"].log
    # The description recorded on the sweep's run reads back as the same dimension.
    for dimension in [*space.values(), *mapped.values()]:
        assert parse_dimension(dimension.name, dimension.describe()) == dimension


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (["alpha="], "empty value"),
        (["alpha=0.1,,1"], "empty choice"),
        (["depth=6..3"], "starts above its end"),
        (["depth=1..x"], "cannot read '1..x' as a range"),
        (["depth=1..5:0"], "step .* must be positive"),
        (["lr=log:0..1"], "positive bounds"),
        (["lr=log:1e-4..1:0.1"], "takes no step"),
        (["alpha"], "write -P name=value"),
        (["=1"], "write -P name=value"),
        (["alpha=1", "alpha=2"], "given twice"),
        ([], "needs a search space"),
        ({"alpha": []}, "empty list"),
    ],
)
def test_bad_spaces_are_refused_with_what_to_write(space: object, message: str) -> None:
    with pytest.raises(CairnError, match=message):
        parse_space(space)  # type: ignore[arg-type]


def test_strategies_check_their_arguments() -> None:
    space = parse_space(["alpha=0.001..1", "depth=3..6"])
    with pytest.raises(CairnError, match="Unknown sweep strategy 'hyperband'"):
        make_strategy(space, "hyperband", trials=None, goal="minimize", seed=None)
    with pytest.raises(CairnError, match="continuous range"):
        make_strategy(space, "grid", trials=None, goal="minimize", seed=None)
    grid = parse_space(["depth=3..6"])
    with pytest.raises(CairnError, match="--trials is for random and bayes"):
        make_strategy(grid, "grid", trials=5, goal="minimize", seed=None)
    big = parse_space(["a=1..200", "b=1..100"])
    with pytest.raises(CairnError, match="20000 combinations"):
        make_strategy(big, "grid", trials=None, goal="minimize", seed=None)
    with pytest.raises(CairnError, match="--trials must be between 1"):
        make_strategy(space, "random", trials=0, goal="minimize", seed=None)
    assert make_strategy(space, "random", trials=None, goal="minimize", seed=1).planned == 10


def test_a_grid_visits_every_combination_once() -> None:
    grid = make_strategy(
        parse_space(["alpha=0.1,1", "depth=3..5", "seconds=0"]),
        "grid",
        trials=None,
        goal="minimize",
        seed=None,
    )
    proposals = list(iter(grid.propose, None))
    assert grid.planned == len(proposals) == 6
    assert proposals[0] == {"alpha": "0.1", "depth": "3", "seconds": "0"}
    assert {(p["alpha"], p["depth"]) for p in proposals} == {
        (a, d) for a in ("0.1", "1") for d in ("3", "4", "5")
    }


@pytest.mark.parametrize("strategy", ["random", "bayes"])
def test_seeded_proposals_repeat_and_stay_inside_the_space(strategy: str) -> None:
    space = parse_space(["alpha=log:1e-3..1", "depth=2..6", "opt=adam,sgd", "beta=0..1:0.5"])

    def proposals(seed: int) -> list[dict[str, str]]:
        chosen = make_strategy(space, strategy, trials=12, goal="minimize", seed=seed)
        out = []
        for index in range(12):
            params = chosen.propose()
            assert params is not None
            out.append(params)
            chosen.report(index, loss(float(params["alpha"]), int(params["depth"])))
        assert chosen.propose() is None  # exactly the asked number of trials
        return out

    first = proposals(7)
    assert first == proposals(7)
    assert first != proposals(8)
    for params in first:
        assert 1e-3 <= float(params["alpha"]) <= 1
        assert params["depth"] in {"2", "3", "4", "5", "6"}
        assert params["opt"] in {"adam", "sgd"}
        assert params["beta"] in {"0.0", "0.5", "1.0"}


# ---------------------------------------------------------------------------- real sweeps


def test_the_public_name_is_the_function() -> None:
    import cairn.projects.sweeps

    assert cairn.projects.sweep is sweeps.sweep


def test_a_grid_sweep_runs_every_trial_as_a_child_and_marks_the_best(
    client: TrackingClient, tmp_path: Path
) -> None:
    seen: list[tuple[int, str]] = []
    result = sweeps.sweep(
        PROJECT,
        "train",
        space=["alpha=0.01,0.1,1", "depth=3..6"],
        max_parallel=2,
        experiment_name="grid",
        on_trial=lambda t: seen.append((t.index, t.status)),
    )
    assert result.status == "FINISHED"
    assert len(result.trials) == 12
    assert sorted(i for i, status in seen if status == "SCHEDULED") == list(range(12))
    assert sorted(i for i, status in seen if status == "FINISHED") == list(range(12))

    # Every trial is a finished child run of the sweep's run, with its own parameters.
    runs = children(client, result)
    assert len(runs) == 12
    by_id = {run.info.run_id: run for run in runs}
    assert {t.run_id for t in result.trials} == set(by_id)
    experiment = client.get_experiment_by_name("grid")
    assert experiment is not None and result.experiment_id == experiment.experiment_id
    for trial in result.trials:
        run = by_id[trial.run_id]
        assert run.info.status == "FINISHED"
        assert run.data.params["alpha"] == trial.params["alpha"]
        assert run.data.params["depth"] == trial.params["depth"]
        assert run.data.tags["mlflow.project.backend"] == "local"
        # The last logged value counts, not the first (which is 100 higher).
        expected = loss(float(trial.params["alpha"]), int(trial.params["depth"]))
        assert trial.value == pytest.approx(expected)

    # The analytically best trial is marked, on itself and on the sweep's run.
    best = result.best
    assert best is not None and best.params == {"alpha": "0.1", "depth": "4"}
    assert result.best_run_id == best.run_id
    assert by_id[best.run_id].data.tags["cairn.sweep.best"] == "true"
    assert sum("cairn.sweep.best" in run.data.tags for run in runs) == 1
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.params == {"alpha": "0.01,0.1,1", "depth": "3..6"}
    tags = parent.data.tags
    assert tags["cairn.sweep"] == "true"
    assert (tags["cairn.sweep.strategy"], tags["cairn.sweep.metric"]) == ("grid", "loss")
    assert tags["cairn.sweep.goal"] == "minimize"
    assert tags["cairn.sweep.best_run_id"] == best.run_id
    assert (tags["cairn.sweep.best.alpha"], tags["cairn.sweep.best.depth"]) == ("0.1", "4")
    assert parent.data.metrics["best_loss"] == pytest.approx(0.0)
    assert "mlflow.parentRunId" not in tags

    # The summary table: one row per trial, as JSON (MLflow's table format) and CSV.
    table = json.loads(artifact_text(client, result.parent_run_id, "sweep_summary.json", tmp_path))
    assert table["columns"] == ["trial", "run_id", "status", "alpha", "depth", "loss", "best"]
    rows = {row[1]: row for row in table["data"]}
    assert set(rows) == set(by_id)
    for trial in result.trials:
        row = rows[trial.run_id]
        assert row[2:6] == [
            "FINISHED",
            float(trial.params["alpha"]),
            int(trial.params["depth"]),
            pytest.approx(trial.value),
        ]
        assert row[6] is (trial.run_id == best.run_id)
    text = artifact_text(client, result.parent_run_id, "sweep_summary.csv", tmp_path)
    lines = list(csv.DictReader(io.StringIO(text)))
    assert len(lines) == 12
    assert [line["run_id"] for line in lines if line["best"] == "True"] == [best.run_id]


def test_failed_trials_and_trials_without_the_metric_cannot_win(client: TrackingClient) -> None:
    result = sweeps.sweep(
        PROJECT,
        "train",
        space={"alpha": "-1,0.5,3", "depth": "-1,6"},
        max_parallel=2,
    )
    by_params = {(t.params["alpha"], t.params["depth"]): t for t in result.trials}
    assert {k: t.status for k, t in by_params.items()} == {
        ("-1", "-1"): "FAILED",
        ("-1", "6"): "FAILED",
        ("0.5", "-1"): "FINISHED",
        ("0.5", "6"): "FINISHED",
        ("3", "-1"): "FINISHED",
        ("3", "6"): "FINISHED",
    }
    assert by_params[("0.5", "-1")].value is None
    assert "without logging metric 'loss'" in (by_params[("0.5", "-1")].error or "")
    # The best of the rest: (0.5, 6) beats (3, 6); the failed runs are recorded FAILED.
    assert result.best is by_params[("0.5", "6")]
    assert result.status == "FINISHED"
    for key in (("-1", "-1"), ("-1", "6")):
        run_id = by_params[key].run_id
        assert run_id is not None and client.get_run(run_id).info.status == "FAILED"
    tags = client.get_run(result.parent_run_id).data.tags
    assert (tags["cairn.sweep.failed"], tags["cairn.sweep.finished"]) == ("2", "4")


def test_a_sweep_where_every_trial_fails_is_failed(client: TrackingClient) -> None:
    result = sweeps.sweep(PROJECT, "train", space=["alpha=-2,-1", "depth=4"])
    assert [t.status for t in result.trials] == ["FAILED", "FAILED"]
    assert result.best is None and result.best_run_id is None
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FAILED"
    assert "best_loss" not in parent.data.metrics
    assert "cairn.sweep.best_run_id" not in parent.data.tags


@pytest.mark.parametrize(("strategy", "goal"), [("random", "minimize"), ("bayes", "maximize")])
def test_random_and_bayes_sweeps_run_the_asked_trials(
    client: TrackingClient, strategy: str, goal: str
) -> None:
    result = sweeps.sweep(
        PROJECT,
        "train",
        space={"alpha": "0..1", "depth": "2..6"},
        strategy=strategy,
        trials=5,
        seed=11,
        goal=goal,
        max_parallel=2,
    )
    assert result.status == "FINISHED"
    assert len(result.trials) == len(children(client, result)) == 5
    values = {}
    for trial in result.trials:
        alpha, depth = float(trial.params["alpha"]), int(trial.params["depth"])
        assert 0 <= alpha <= 1 and 2 <= depth <= 6
        assert trial.value == pytest.approx(loss(alpha, depth))
        values[trial.run_id] = trial.value
    pick = min if goal == "minimize" else max
    assert result.best_run_id == pick(values, key=values.__getitem__)
    tags = client.get_run(result.parent_run_id).data.tags
    assert (tags["cairn.sweep.strategy"], tags["cairn.sweep.seed"]) == (strategy, "11")
    assert tags["cairn.sweep.goal"] == goal


def test_bad_requests_are_refused_before_any_run(client: TrackingClient) -> None:
    cases = [
        (dict(space=["alpha=0.1", "depth=3.5,4"]), "must be an integer"),
        (
            dict(space=["alpha=0.1", "depth=3.5..5"], strategy="random"),
            "is an int, but 3.5..5.0 ranges over floats",
        ),
        (dict(space=["alpha=x,y"]), "must be a number"),
        (dict(space=["alpha=0.1"], goal="lowest"), "Unknown goal"),
        (dict(space=["alpha=0.1"], backend="slurm"), "Unknown backend"),
        (dict(space=["alpha=0.1"], max_parallel=0), "at least 1"),
        (dict(space=["alpha=0.1"], strategy="grid", trials=3), "--trials is for random"),
    ]
    for kwargs, message in cases:
        with pytest.raises(CairnError, match=message):
            sweeps.sweep(PROJECT, "train", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(CairnError, match="no entry point 'fit'"):
        sweeps.sweep(PROJECT, "fit", space=["alpha=0.1"])
    assert list(client.search_runs(["0"])) == []


def test_an_interrupted_sweep_cancels_its_trials_and_is_killed(client: TrackingClient) -> None:
    def interrupt_once_a_trial_runs(trial: object) -> None:
        if getattr(trial, "index", None) != 1 or getattr(trial, "status", None) != "SCHEDULED":
            return
        first = None
        for _ in range(600):  # until trial 0's command is really running (up to a minute)
            runs = list(client.search_runs(["0"], "metrics.started = 1"))
            if runs:
                first = runs[0]
                break
            time.sleep(0.1)
        assert first is not None, "the first trial never started"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweeps.sweep(
            PROJECT,
            "train",
            space=["alpha=0.1,1,2", "seconds=300"],
            max_parallel=2,
            on_trial=interrupt_once_a_trial_runs,
        )
    parents = list(client.search_runs(["0"], "tags.`cairn.sweep` = 'true'"))
    assert len(parents) == 1 and parents[0].info.status == "KILLED"
    trials = list(
        client.search_runs(["0"], f"tags.`mlflow.parentRunId` = '{parents[0].info.run_id}'")
    )
    assert len(trials) == 2  # the third was never started
    assert {run.info.status for run in trials} == {"KILLED"}


def test_a_git_project_is_fetched_once_and_recorded_as_its_uri(
    client: TrackingClient, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(PROJECT, repo / "models" / "tune")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "the project")
    commit = git(repo, "rev-parse", "HEAD")
    uri = f"file://{repo}#models/tune"
    result = sweeps.sweep(uri, "train", space=["alpha=0.1,1", "depth=4"], max_parallel=2)
    assert [t.status for t in result.trials] == ["FINISHED", "FINISHED"]
    for run in [client.get_run(t.run_id) for t in result.trials]:  # type: ignore[arg-type]
        assert run.data.tags["mlflow.source.name"] == uri
        assert run.data.tags["mlflow.source.git.commit"] == commit
    assert client.get_run(result.parent_run_id).data.tags["mlflow.source.name"] == uri
