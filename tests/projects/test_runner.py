"""`cairn.projects.run`: real projects run as tracked runs, from directories and git."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cairn
from cairn.errors import CairnError
from cairn.projects.runner import SubmittedRun
from cairn.tracking.client import TrackingClient
from project_support import git, running, wait_for


def artifact_text(client: TrackingClient, run_id: str, path: str, tmp_path: Path) -> str:
    local = client.download_artifacts(run_id, path, str(tmp_path / f"dl-{run_id}"))
    return Path(local).read_text()


def test_a_run_records_its_source_params_metrics_and_log(
    client: TrackingClient, basic_project: Path, tmp_path: Path
) -> None:
    submitted = cairn.projects.run(
        str(basic_project),
        "main",
        parameters={"alpha": 0.7, "note": "hello world"},
        experiment_name="churn",
        env_manager="local",
    )
    assert submitted.wait()
    run = client.get_run(submitted.run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "churn"
    # The script's own start_run() logged into the project's run.
    assert run.data.params == {"alpha": "0.7", "epochs": "3", "note": "hello world"}
    assert run.data.tags["note"] == "hello world"
    assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == pytest.approx(
        [(0.7 - 0.3) ** 2 + 1 / (e + 1) for e in range(3)]
    )
    tags = run.data.tags
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.source.name"] == str(basic_project)
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.project.env"] == "local"
    assert tags["mlflow.project.backend"] == "local"
    assert json.loads(tags["cairn.project.parameters"]) == {
        "alpha": "0.7",
        "epochs": "3",
        "note": "hello world",
    }
    log = artifact_text(client, run.info.run_id, "project.log", tmp_path)
    assert f"trained run={run.info.run_id} alpha=0.7 epochs=3" in log
    assert "python train.py --alpha 0.7 --epochs 3 --note 'hello world'" in log


def test_a_failing_command_is_a_failed_run_with_its_log(
    client: TrackingClient, basic_project: Path, tmp_path: Path
) -> None:
    submitted = cairn.projects.run(str(basic_project), "fail", env_manager="local")
    assert not submitted.wait()
    assert submitted.returncode == 3
    run = client.get_run(submitted.run_id)
    assert run.info.status == "FAILED"
    assert run.info.end_time is not None
    log = artifact_text(client, submitted.run_id, "project.log", tmp_path)
    assert "about to fail" in log
    assert "something went wrong" in log  # stderr is kept too
    assert "exit code 3" in log


def test_bad_requests_create_no_run(client: TrackingClient, basic_project: Path) -> None:
    for kwargs, message in [
        ({"entry_point": "nope"}, "no entry point 'nope'"),
        ({"parameters": {"alpha": "high"}}, "must be a number"),
        ({"entry_point": "wait"}, "needs parameter"),
        ({"env_manager": "pip"}, "pip"),
        ({"experiment_name": "a", "experiment_id": "0"}, "not both"),
    ]:
        with pytest.raises(CairnError, match=message):
            cairn.projects.run(str(basic_project), **kwargs)
    assert client.search_runs(["0"]) == []


def test_multistep_workflow_links_its_steps_as_children(
    client: TrackingClient, basic_project: Path
) -> None:
    submitted = cairn.projects.run(str(basic_project), "pipeline", env_manager="local")
    assert submitted.wait()
    children = client.search_runs(
        ["0"], filter_string=f"tags.mlflow.parentRunId = '{submitted.run_id}'"
    )
    assert sorted(c.data.params["alpha"] for c in children) == ["0.1", "0.9"]
    assert all(c.info.status == "FINISHED" for c in children)
    assert all(c.data.tags["mlflow.source.type"] == "PROJECT" for c in children)


def test_a_git_project_records_the_commit_it_ran(client: TrackingClient, git_repo: Path) -> None:
    submitted = cairn.projects.run(
        f"file://{git_repo}#projects/basic", "version", version="v1", env_manager="local"
    )
    assert submitted.wait()
    run = client.get_run(submitted.run_id)
    assert run.data.metrics["version_marker"] == 1.0
    assert run.data.tags["mlflow.source.git.commit"] == git(git_repo, "rev-parse", "v1^{commit}")
    assert run.data.tags["mlflow.source.name"] == f"file://{git_repo}#projects/basic"
    assert run.data.tags["cairn.project.version"] == "v1"


def test_an_asynchronous_run_can_be_cancelled_with_all_its_processes(
    client: TrackingClient, basic_project: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pids.txt"
    submitted = cairn.projects.run(
        str(basic_project),
        "wait",
        parameters={"marker": str(marker)},
        env_manager="local",
        synchronous=False,
    )
    assert isinstance(submitted, SubmittedRun)
    wait_for(marker.is_file)
    pids = [int(p) for p in marker.read_text().split()]
    assert submitted.get_status() == "RUNNING"
    assert all(running(p) for p in pids)
    submitted.cancel()
    assert submitted.get_status() == "KILLED"
    # The command and the grandchild it started.
    wait_for(lambda: not any(running(p) for p in pids), timeout=30, what="the processes to end")
    run = client.get_run(submitted.run_id)
    assert run.info.status == "KILLED"
    log = artifact_text(client, submitted.run_id, "project.log", tmp_path)
    assert "waiting" in log
    assert "Cancelled" in log


def test_public_names_stay_functions_after_their_modules_load() -> None:
    """A module named like the function (``reproduce.py``) would replace the package attribute
    the first time it is imported."""
    import cairn.projects.reproduction
    import cairn.projects.runner
    import cairn.projects.sweeps

    assert cairn.projects.reproduce.__module__ == "cairn.projects.reproduction"
    assert cairn.projects.run.__module__ == "cairn.projects.runner"
    assert cairn.projects.sweep.__module__ == "cairn.projects.sweeps"
    assert cairn.projects.SubmittedRun.__name__ == "SubmittedRun"


def test_project_runs_on_each_database(
    db_uri: str, basic_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command's own process logs into the run over the same database (a multi-step
    pipeline: the parent and two child project runs, each a process of its own)."""
    monkeypatch.setenv("CAIRN_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    submitted = cairn.projects.run(
        str(basic_project), "pipeline", env_manager="local", tracking_uri=db_uri
    )
    assert submitted.wait()
    client = TrackingClient(db_uri)
    parent = client.get_run(submitted.run_id)
    assert set(parent.data.metrics) == {"step_0.1", "step_0.9"}
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{submitted.run_id}'",
    )
    assert sorted(c.data.metrics["final_alpha"] for c in children) == [0.1, 0.9]
