"""``cairn init`` on the command line, then ``cairn run`` of the project it wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

import cairn
from cairn.projects.spec import load_project
from cairn.tracking.client import TrackingClient
from cli_support import Cli


def test_init_writes_the_default_template_and_says_what_next(cli: Cli, tmp_path: Path) -> None:
    out = cli("init", "my-churn").stdout
    assert f"Created the classification project 'my-churn' in {tmp_path / 'my-churn'}:" in out
    assert "  MLproject\n" in out and "  data/breast_cancer.csv\n" in out
    assert "cd my-churn\n" in out and "cairn run ." in out
    assert load_project(tmp_path / "my-churn").name == "my-churn"


def test_init_in_the_current_directory_with_a_name_and_template(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    out = cli("init", "--template", "regression", "--name", "forecast").stdout
    assert "Created the regression project 'forecast'" in out
    assert "cd " not in out  # already there
    assert (tmp_path / "here" / "data" / "diabetes.csv").is_file()
    assert load_project(tmp_path / "here").name == "forecast"


def test_init_refuses_to_clobber_until_forced(cli: Cli, tmp_path: Path) -> None:
    cli("init", "p")
    (tmp_path / "p" / "train.py").write_text("# my own\n")
    error = cli.fails("init", "p")
    assert "already has 9 file(s)" in error and "train.py" in error and "--force" in error
    assert (tmp_path / "p" / "train.py").read_text() == "# my own\n"
    out = cli("init", "p", "--force").stdout
    assert "  train.py  (overwritten)\n" in out
    assert (tmp_path / "p" / "train.py").read_text() != "# my own\n"


def test_init_unknown_template_lists_the_choices(cli: Cli) -> None:
    result = cli.invoke("init", "p", "--template", "clustering")
    assert result.exit_code == 2
    assert "'clustering' is not one of 'classification', 'regression'" in result.stderr


def test_init_bad_directory_name_is_a_clean_error(cli: Cli) -> None:
    assert "pass --name NAME" in cli.fails("init", "a:b")


def test_init_help_names_the_templates(cli: Cli) -> None:
    out = cli("init", "--help").stdout
    assert "[classification|regression]" in out and "--force" in out


def test_init_then_run_the_train_entry_point(cli: Cli, client: TrackingClient) -> None:
    cli("init", "proj")
    out = cli("run", "proj", "-e", "train", "-P", "max_depth=3", "--env-manager", "local").output
    [run] = client.search_runs(["0"])
    assert run.info.run_id in out
    assert run.info.status == "FINISHED"
    assert run.data.params["max_depth"] == "3"
    assert {"test_accuracy", "test_f1", "test_roc_auc"} <= set(run.data.metrics)
    model = cairn.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    assert model.get_params()["max_depth"] == 3
