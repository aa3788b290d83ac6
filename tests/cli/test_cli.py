"""The ``cairn`` command line against a real SQLite store: experiments, runs, artifacts, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cairn.cli import main
from cairn.entities import Dataset, DatasetInput, InputTag, LifecycleStage, Metric, Param
from cairn.errors import CairnError
from cairn.tracking.client import TrackingClient
from cairn.version import __version__
from cli_support import Cli


def _run(client: TrackingClient, experiment: str = "0", name: str = "r", **metrics: float) -> str:
    run_id = client.create_run(experiment, run_name=name).info.run_id
    client.log_batch(run_id, metrics=[Metric(k, v, 1000, 0) for k, v in metrics.items()])
    return run_id


# ----------------------------------------------------------------------------- top level


def test_version(cli: Cli) -> None:
    assert cli("--version").stdout.strip() == f"cairn {__version__}"


def test_help_lists_commands(cli: Cli) -> None:
    out = cli("--help").stdout
    for name in ("experiments", "runs", "artifacts", "gc", "db"):
        assert name in out


@pytest.mark.parametrize("args", [["--help"], ["runs", "--help"], ["gc", "--help"]])
def test_help_does_not_import_heavy_modules(args: list[str]) -> None:
    code = (
        "import sys\n"
        "from cairn.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('sqlalchemy', 'pandas', 'alembic') if m in sys.modules),"
        " file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    assert "Usage:" in done.stdout
    assert done.stderr.strip() == "[]"


def test_tracking_uri_from_environment(
    client: TrackingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.create_experiment("from-env")
    monkeypatch.setenv("CAIRN_TRACKING_URI", client.tracking_uri)
    result = CliRunner().invoke(main, ["experiments", "list", "-o", "json"])
    assert result.exit_code == 0, result.output
    assert "from-env" in [e["name"] for e in json.loads(result.stdout)]


def test_error_in_a_real_process_has_no_traceback(client: TrackingClient) -> None:
    done = subprocess.run(
        [
            *(sys.executable, "-c", "from cairn.cli import main; main()"),
            *("--tracking-uri", client.tracking_uri, "experiments", "delete", "missing"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr == "Error: No experiment with id or name 'missing'.\n"
    assert done.stdout == ""


# ----------------------------------------------------------------------------- experiments


def test_experiment_create_prints_id_and_list_shows_it(cli: Cli, client: TrackingClient) -> None:
    experiment_id = cli("experiments", "create", "exp-a", "--tag", "team=nlp", "--tag", "x=a=b")
    experiment_id_text = experiment_id.stdout.strip()
    assert client.get_experiment(experiment_id_text).tags == {"team": "nlp", "x": "a=b"}

    listed = {e["name"]: e for e in cli.json("experiments", "list")}
    assert set(listed) == {"Default", "exp-a"}
    exp = listed["exp-a"]
    assert exp["experiment_id"] == experiment_id_text
    assert exp["tags"] == {"team": "nlp", "x": "a=b"}
    assert exp["lifecycle_stage"] == "active"
    assert isinstance(exp["creation_time"], int)
    assert exp["artifact_location"].endswith(experiment_id_text)

    table = cli("experiments", "list").stdout
    assert "exp-a" in table and "Default" in table and "active" in table


def test_experiment_create_with_artifact_location(cli: Cli, tmp_path: Path) -> None:
    location = str(tmp_path / "elsewhere")
    cli("experiments", "create", "placed", "--artifact-location", location)
    [exp] = [e for e in cli.json("experiments", "list") if e["name"] == "placed"]
    assert exp["artifact_location"] == location


def test_experiment_create_duplicate_name(cli: Cli) -> None:
    cli("experiments", "create", "twice")
    assert "Experiment 'twice' already exists." in cli.fails("experiments", "create", "twice")


def test_experiment_create_bad_tag(cli: Cli) -> None:
    stderr = cli.fails("experiments", "create", "e", "--tag", "novalue", exit_code=2)
    assert "'novalue' is not KEY=VALUE" in stderr


def test_experiment_list_filter_order_and_max_results(cli: Cli, client: TrackingClient) -> None:
    for name in ("alpha", "beta", "gamma"):
        client.create_experiment(name)
    names = [e["name"] for e in cli.json("experiments", "list", "--order-by", "name DESC")]
    assert names == ["gamma", "beta", "alpha", "Default"]
    filtered = cli.json("experiments", "list", "--filter", "name LIKE '%a'")
    assert sorted(e["name"] for e in filtered) == ["alpha", "beta", "gamma"]
    assert len(cli.json("experiments", "list", "--max-results", "2")) == 2


def test_experiment_list_bad_filter(cli: Cli) -> None:
    stderr = cli.fails("experiments", "list", "--filter", "name ==")
    assert "Invalid filter" in stderr


def test_experiment_rename_delete_restore_by_name_and_id(cli: Cli, client: TrackingClient) -> None:
    experiment_id = client.create_experiment("old")
    assert "Renamed" in cli("experiments", "rename", "old", "new").stdout
    assert client.get_experiment(experiment_id).name == "new"

    cli("experiments", "delete", experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == LifecycleStage.DELETED
    assert [e["name"] for e in cli.json("experiments", "list", "--view", "deleted")] == ["new"]
    assert len(cli.json("experiments", "list", "--view", "all")) == 2

    cli("experiments", "restore", "new")
    assert client.get_experiment(experiment_id).lifecycle_stage == LifecycleStage.ACTIVE


def test_experiment_digits_are_an_id_first_then_a_name(cli: Cli, client: TrackingClient) -> None:
    first = client.create_experiment("first")  # id 1
    named_one = client.create_experiment(first)  # named "1", id 2
    named_42 = client.create_experiment("42")
    cli("experiments", "delete", "1")
    assert client.get_experiment(first).lifecycle_stage == LifecycleStage.DELETED
    assert client.get_experiment(named_one).lifecycle_stage == LifecycleStage.ACTIVE
    cli("experiments", "rename", "42", "forty-two")  # no experiment has id 42
    assert client.get_experiment(named_42).name == "forty-two"


@pytest.mark.parametrize("command", ["rename", "delete", "restore"])
def test_experiment_unknown(cli: Cli, command: str) -> None:
    args = ["experiments", command, "nope"] + (["x"] if command == "rename" else [])
    assert "No experiment with id or name 'nope'." in cli.fails(*args)


def test_experiment_store_rules_are_reported(cli: Cli) -> None:
    assert "cannot be deleted" in cli.fails("experiments", "delete", "0")
    assert "is not deleted" in cli.fails("experiments", "restore", "Default")


# ----------------------------------------------------------------------------- runs


def test_runs_list_defaults_to_the_default_experiment(cli: Cli, client: TrackingClient) -> None:
    in_default = _run(client, "0", "in-default", loss=1.0)
    other = client.create_experiment("other")
    in_other = _run(client, other, "in-other", loss=2.0)

    assert [r["run_id"] for r in cli.json("runs", "list")] == [in_default]
    assert [r["run_id"] for r in cli.json("runs", "list", "-e", "other")] == [in_other]
    both = cli.json("runs", "list", "-e", "other", "--experiment", "0")
    assert {r["run_id"] for r in both} == {in_default, in_other}
    everywhere = cli.json("runs", "list", "--all-experiments")
    assert {r["run_id"] for r in everywhere} == {in_default, in_other}


def test_runs_list_json_has_the_whole_run(cli: Cli, client: TrackingClient) -> None:
    run_id = _run(client, "0", "full", loss=0.5)
    client.log_param(run_id, "lr", 0.01)
    client.set_tag(run_id, "team", "nlp")
    [run] = cli.json("runs", "list")
    assert run["run_id"] == run_id
    assert run["run_name"] == "full"
    assert run["experiment_id"] == "0"
    assert run["status"] == "RUNNING"
    assert run["metrics"] == {"loss": 0.5}
    assert run["params"] == {"lr": "0.01"}
    assert run["tags"]["team"] == "nlp"
    assert set(run) == {
        "run_id",
        "run_name",
        "experiment_id",
        "user_id",
        "status",
        "start_time",
        "end_time",
        "artifact_uri",
        "lifecycle_stage",
        "metrics",
        "params",
        "tags",
    }


def test_runs_list_filter_order_by_and_max_results(cli: Cli, client: TrackingClient) -> None:
    ids = {loss: _run(client, "0", f"run-{loss}", loss=loss) for loss in (0.3, 0.1, 0.2)}
    ordered = cli.json("runs", "list", "--order-by", "metrics.loss ASC")
    assert [r["run_id"] for r in ordered] == [ids[0.1], ids[0.2], ids[0.3]]
    top = cli.json("runs", "list", "--order-by", "metrics.loss DESC", "--max-results", "1")
    assert [r["run_id"] for r in top] == [ids[0.3]]
    small = cli.json("runs", "list", "--filter", "metrics.loss < 0.25")
    assert {r["run_id"] for r in small} == {ids[0.1], ids[0.2]}


def test_runs_list_table_short_ids_and_default_columns(cli: Cli, client: TrackingClient) -> None:
    run_id = _run(client, "0", "tabled", **{f"m{i}": float(i) for i in range(7)})
    client.log_batch(run_id, params=[Param("lr", "0.1")])
    out = cli("runs", "list").stdout
    assert run_id[:8] in out and run_id not in out
    assert "tabled" in out and "RUNNING" in out
    assert "metrics.m0" in out and "metrics.m4" in out and "metrics.m6" not in out
    assert "params.lr" in out
    assert "Not shown: 2 metrics" in out


def test_runs_list_chosen_columns(cli: Cli, client: TrackingClient) -> None:
    run_id = _run(client, "0", "chosen", loss=0.25, acc=0.9)
    client.log_batch(run_id, params=[Param("lr", "0.1"), Param("depth", "3")])
    out = cli("runs", "list", "--columns", "metrics.loss,params.depth", "--columns", "user_id")
    header = out.stdout
    assert "metrics.loss" in header and "params.depth" in header and "user_id" in header
    assert "metrics.acc" not in header and "params.lr" not in header
    assert "0.25" in header


def test_runs_list_bad_columns(cli: Cli) -> None:
    assert "--columns" in cli.fails("runs", "list", "--columns", "weights.x", exit_code=2)
    assert "unknown attribute" in cli.fails("runs", "list", "--columns", "nope", exit_code=2)


def test_runs_list_views(cli: Cli, client: TrackingClient) -> None:
    alive, dead = _run(client, name="alive"), _run(client, name="dead")
    client.delete_run(dead)
    assert [r["run_id"] for r in cli.json("runs", "list")] == [alive]
    assert [r["run_id"] for r in cli.json("runs", "list", "--view", "deleted")] == [dead]
    assert {r["run_id"] for r in cli.json("runs", "list", "--view", "all")} == {alive, dead}


def test_runs_list_empty(cli: Cli) -> None:
    assert cli.json("runs", "list") == []
    assert "No runs found." in cli("runs", "list").stderr


def test_runs_list_errors(cli: Cli) -> None:
    assert "No experiment with id or name 'ghost'" in cli.fails("runs", "list", "-e", "ghost")
    assert "Invalid filter" in cli.fails("runs", "list", "--filter", "metrics.loss <")
    assert "order_by" in cli.fails("runs", "list", "--order-by", "metrics.loss SIDEWAYS")
    stderr = cli.fails("runs", "list", "-e", "0", "--all-experiments", exit_code=2)
    assert "not both" in stderr


def test_runs_describe(cli: Cli, client: TrackingClient) -> None:
    run_id = _run(client, "0", "described", loss=0.5)
    client.log_metric(run_id, "loss", 0.25, step=1)
    client.log_param(run_id, "lr", 0.01)
    client.log_inputs(
        run_id,
        [DatasetInput(Dataset("mnist", "d1g3st", "local", "/data"), [InputTag("ctx", "train")])],
    )
    client.set_terminated(run_id)

    described = cli.json("runs", "describe", run_id)
    assert described["run_id"] == run_id
    assert described["status"] == "FINISHED"
    assert described["metrics"] == {"loss": 0.25}
    assert described["params"] == {"lr": "0.01"}
    assert described["tags"]["mlflow.runName"] == "described"
    assert described["datasets"] == [
        {
            "name": "mnist",
            "digest": "d1g3st",
            "source_type": "local",
            "source": "/data",
            "schema": None,
            "profile": None,
            "tags": {"ctx": "train"},
        }
    ]

    table = cli("runs", "describe", run_id).stdout
    for text in (run_id, "described", "0 (Default)", "FINISHED", "lr", "0.25", "mnist"):
        assert text in table


def test_user_text_is_not_markup_and_nan_is_null(cli: Cli, client: TrackingClient) -> None:
    run_id = _run(client, "0", "[bold]x[/y]", loss=float("nan"))
    client.log_param(run_id, "p", "[/x]")
    table = cli("runs", "list").stdout
    assert "[bold]x[/y]" in table and "[/x]" in table and "nan" in table
    assert "[/x]" in cli("runs", "describe", run_id).stdout
    assert cli.json("runs", "describe", run_id)["metrics"] == {"loss": None}


def test_runs_describe_unknown_and_malformed(cli: Cli) -> None:
    assert "Run 'f00d' not found." in cli.fails("runs", "describe", "f00d")
    assert "Invalid run id" in cli.fails("runs", "describe", "not a run id")


def test_runs_delete_and_restore_many(cli: Cli, client: TrackingClient) -> None:
    a, b = _run(client, name="a"), _run(client, name="b")
    out = cli("runs", "delete", a, b).stdout
    assert f"Deleted run {a}." in out and f"Deleted run {b}." in out
    assert {client.get_run(r).info.lifecycle_stage for r in (a, b)} == {LifecycleStage.DELETED}
    cli("runs", "restore", a, b)
    assert {client.get_run(r).info.lifecycle_stage for r in (a, b)} == {LifecycleStage.ACTIVE}


def test_runs_delete_carries_on_past_unknown_ids(cli: Cli, client: TrackingClient) -> None:
    a, b = _run(client, name="a"), _run(client, name="b")
    stderr = cli.fails("runs", "delete", a, "0123abcd", b)
    assert "Run '0123abcd' not found." in stderr
    assert {client.get_run(r).info.lifecycle_stage for r in (a, b)} == {LifecycleStage.DELETED}


def test_runs_delete_needs_an_id(cli: Cli) -> None:
    cli.fails("runs", "delete", exit_code=2)


# ----------------------------------------------------------------------------- artifacts


def test_artifacts_list_and_download(cli: Cli, client: TrackingClient, tmp_path: Path) -> None:
    run_id = _run(client)
    client.log_text(run_id, "hello", "notes/hello.txt")
    client.log_text(run_id, "top", "top.txt")

    root = cli.json("artifacts", "list", "--run-id", run_id)
    assert root == [
        {"path": "notes", "is_dir": True, "file_size": None},
        {"path": "top.txt", "is_dir": False, "file_size": 3},
    ]
    nested = cli.json("artifacts", "list", "--run-id", run_id, "--path", "notes")
    assert [e["path"] for e in nested] == ["notes/hello.txt"]
    table = cli("artifacts", "list", "--run-id", run_id).stdout
    assert "notes/" in table and "top.txt" in table and "3 B" in table

    dst = tmp_path / "downloaded"
    local = cli("artifacts", "download", "--run-id", run_id, "--dst", str(dst)).stdout.strip()
    assert Path(local) == dst
    assert (dst / "notes" / "hello.txt").read_text() == "hello"

    one = cli("artifacts", "download", "--run-id", run_id, "--path", "top.txt").stdout.strip()
    assert Path(one).name == "top.txt" and Path(one).read_text() == "top"


def test_artifacts_errors(cli: Cli, client: TrackingClient) -> None:
    run_id = _run(client)
    assert "not found" in cli.fails("artifacts", "list", "--run-id", "0123abcd")
    assert "No artifact" in cli.fails("artifacts", "download", "--run-id", run_id, "--path", "x")
    assert "Invalid artifact path" in cli.fails(
        "artifacts", "list", "--run-id", run_id, "--path", "../up"
    )
    assert "--run-id" in cli.fails("artifacts", "list", exit_code=2)


def test_cli_and_client_see_the_same_store(cli: Cli, client: TrackingClient) -> None:
    experiment_id = cli("experiments", "create", "shared").stdout.strip()
    with pytest.raises(CairnError):
        client.create_experiment("shared")
    assert client.get_experiment_by_name("shared").experiment_id == experiment_id  # type: ignore[union-attr]
