"""``cairn init``: the files a template writes, the name and Python filled in, no clobbering;
then the written project run for real through ``cairn.projects.run`` (local and uv)."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import sysconfig
from pathlib import Path

import pandas as pd
import pytest
import yaml

import cairn
import cairn.projects
from cairn.errors import CairnError
from cairn.projects.init import RENDERED_FILES, init_project, template_files, template_names
from cairn.projects.spec import load_project
from cairn.tracking.client import TrackingClient

TEMPLATES = ["classification", "regression"]
METRICS = {"classification": ("accuracy", "f1", "roc_auc"), "regression": ("rmse", "mae", "r2")}
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_the_bundled_templates() -> None:
    assert template_names() == TEMPLATES


# ----------------------------------------------------------------------------- writing


@pytest.mark.parametrize("template", TEMPLATES)
def test_writes_a_loadable_project_named_as_asked(tmp_path: Path, template: str) -> None:
    result = init_project(tmp_path / "churn", template=template, name="Churn model")
    target = tmp_path / "churn"
    assert result.directory == target and result.name == "Churn model"
    assert result.template == template and result.overwritten == ()
    assert list(result.files) == template_files(template)
    written = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert written == list(result.files)
    for name in ("MLproject", "python_env.yaml", "README.md", "train.py", "evaluate.py"):
        assert name in written

    project = load_project(target)
    assert project.name == "Churn model"
    assert set(project.entry_points) == {"main", "train", "evaluate"}
    assert project.entry_point("evaluate").parameters["model_uri"].required
    train = project.entry_point("train").parameters
    assert {"n_estimators", "max_depth", "test_size", "data"} <= set(train)
    assert (train["max_depth"].type, train["test_size"].type) == ("int", "float")
    assert project.environment.kind == "python"

    env = yaml.safe_load((target / "python_env.yaml").read_text())
    assert env["python"] == PYTHON
    assert {"scikit-learn", "pandas", "cairn"} <= set(env["dependencies"])
    assert (target / "README.md").read_text().startswith("# Churn model\n")
    assert "cairn.db*" in (target / ".gitignore").read_text().splitlines()  # the local store
    for rel in RENDERED_FILES:
        assert "{{" not in (target / rel).read_text(), rel


@pytest.mark.parametrize("template", TEMPLATES)
def test_bundled_data_is_small_and_has_the_default_target(tmp_path: Path, template: str) -> None:
    init_project(tmp_path, template=template)
    default = load_project(tmp_path).entry_point("train").parameters
    data = tmp_path / str(default["data"].default)
    assert data.stat().st_size < 100_000
    frame = pd.read_csv(data)
    assert str(default["target"].default) in frame.columns
    assert len(frame) > 400 and frame.notna().all().all()


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_readme_commands_name_real_entry_points_and_parameters(
    tmp_path: Path, template: str
) -> None:
    init_project(tmp_path, template=template)
    project = load_project(tmp_path)
    readme = (tmp_path / "README.md").read_text().replace("\\\n", " ")
    commands = [
        shlex.split(line.split("#")[0])
        for line in readme.splitlines()
        if line.startswith(("cairn run .", "cairn sweep ."))
    ]
    assert len(commands) >= 4
    for argv in commands:
        point = project.entry_point(argv[argv.index("-e") + 1] if "-e" in argv else "main")
        given = [argv[i + 1].split("=")[0] for i, arg in enumerate(argv) if arg == "-P"]
        assert set(given) <= set(point.parameters), (argv, sorted(point.parameters))
        if argv[1] == "sweep":
            metric = argv[argv.index("--metric") + 1]
            assert metric.startswith("test_") and metric[5:] in METRICS[template]


def test_defaults_the_current_directory_and_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fraud-detector").mkdir()
    monkeypatch.chdir(tmp_path / "fraud-detector")
    result = init_project()
    assert result.template == "classification"
    assert result.name == "fraud-detector"
    assert load_project(tmp_path / "fraud-detector").name == "fraud-detector"


def test_creates_missing_directories(tmp_path: Path) -> None:
    init_project(tmp_path / "a" / "b", template="regression")
    assert (tmp_path / "a" / "b" / "data" / "diabetes.csv").is_file()


def test_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "MLproject").write_text("mine\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "breast_cancer.csv").write_text("mine\n")
    with pytest.raises(CairnError) as caught:
        init_project(tmp_path)
    message = caught.value.message
    assert "2 file(s)" in message
    assert "MLproject" in message and "data/breast_cancer.csv" in message
    assert "--force" in message
    assert (tmp_path / "MLproject").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MLproject", "data"]


def test_force_overwrites_only_the_template_files(tmp_path: Path) -> None:
    (tmp_path / "MLproject").write_text("mine\n")
    (tmp_path / "notes.txt").write_text("keep me\n")
    result = init_project(tmp_path, force=True, name="p")
    assert result.overwritten == ("MLproject",)
    assert load_project(tmp_path).name == "p"
    assert (tmp_path / "notes.txt").read_text() == "keep me\n"


def test_unknown_template_lists_the_choices(tmp_path: Path) -> None:
    with pytest.raises(CairnError) as caught:
        init_project(tmp_path / "x", template="clustering")
    assert "'clustering'" in caught.value.message
    assert "classification, regression" in caught.value.message
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", ["a: b", 'say "hi"', "", "line\nbreak", "-flag"])
def test_refuses_names_that_would_break_the_files(tmp_path: Path, name: str) -> None:
    with pytest.raises(CairnError, match="cannot be a project name"):
        init_project(tmp_path / "x", name=name)
    assert not (tmp_path / "x").exists()


def test_an_unusable_directory_name_asks_for_name(tmp_path: Path) -> None:
    with pytest.raises(CairnError, match="pass --name NAME"):
        init_project(tmp_path / "a:b")
    assert init_project(tmp_path / "a:b", name="ab").name == "ab"


def test_a_file_in_the_way_is_an_error_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file, not a directory\n")
    with pytest.raises(CairnError, match="is a file, but the template writes the directory data/"):
        init_project(tmp_path, force=True)
    (tmp_path / "data").unlink()
    (tmp_path / "train.py").mkdir()
    with pytest.raises(CairnError, match=r"train\.py is a directory"):
        init_project(tmp_path, force=True)
    file = tmp_path / "file"
    file.write_text("")
    with pytest.raises(CairnError, match="is a file; give a directory"):
        init_project(file)


# ----------------------------------------------------------------------------- running it


def _run(
    directory: Path,
    entry_point: str,
    env_manager: str = "local",
    env_root: Path | None = None,
    **params: object,
) -> str:
    submitted = cairn.projects.run(
        str(directory),
        entry_point=entry_point,
        parameters=params,
        env_manager=env_manager,
        env_root=str(env_root) if env_root else None,
        experiment_name="templates",
    )
    assert submitted.wait(), f"{entry_point} ended {submitted.get_status()}"
    return submitted.run_id


@pytest.mark.parametrize("template", TEMPLATES)
def test_train_then_evaluate_then_main(
    tmp_path: Path, client: TrackingClient, template: str
) -> None:
    project = tmp_path / "proj"
    init_project(project, template=template)
    metrics = METRICS[template]

    trained = client.get_run(_run(project, "train", max_depth=3, n_estimators=20))
    assert trained.info.status == "FINISHED"
    params = trained.data.params
    assert (params["max_depth"], params["n_estimators"]) == ("3", "20")
    assert params["data"] == str(project / "data" / Path(params["data"]).name)
    assert int(params["train_rows"]) > 300
    for key in metrics:
        assert {f"train_{key}", f"test_{key}"} <= set(trained.data.metrics)
    model = cairn.sklearn.load_model(f"runs:/{trained.info.run_id}/model")
    assert model.get_params()["max_depth"] == 3 and model.get_params()["n_estimators"] == 20
    info = cairn.models.get_model_info(f"runs:/{trained.info.run_id}/model")
    assert info.signature is not None and info.saved_input_example_info is not None
    assert [d.dataset.name for d in trained.inputs.dataset_inputs] == [Path(params["data"]).stem]

    model_uri = f"runs:/{trained.info.run_id}/model"
    evaluated = client.get_run(_run(project, "evaluate", model_uri=model_uri))
    assert evaluated.data.params["model_uri"] == model_uri
    for key in metrics:
        # The same held-out rows as train's test_ metrics: the steps share the split.
        assert evaluated.data.metrics[f"eval_{key}"] == pytest.approx(
            trained.data.metrics[f"test_{key}"]
        )
    assert "eval_predictions.json" in [a.path for a in client.list_artifacts(evaluated.info.run_id)]

    whole = client.get_run(_run(project, "main", n_estimators=10))
    names = set(whole.data.metrics)
    for key in metrics:
        assert {f"train_{key}", f"test_{key}", f"eval_{key}"} <= names
    assert whole.data.params["n_estimators"] == "10"
    assert whole.data.tags["mlflow.project.entryPoint"] == "main"
    assert len(client.search_runs([whole.info.experiment_id])) == 3  # no stray runs


def test_a_failing_step_fails_the_run(tmp_path: Path, client: TrackingClient) -> None:
    init_project(tmp_path / "proj")
    submitted = cairn.projects.run(
        str(tmp_path / "proj"),
        entry_point="train",
        parameters={"target": "no_such_column"},
        env_manager="local",
    )
    assert not submitted.wait()
    assert client.get_run(submitted.run_id).info.status == "FAILED"


@pytest.mark.slow
def test_both_templates_run_in_their_uv_environment(
    tmp_path: Path, client: TrackingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    uv = shutil.which("uv") or shutil.which("uv", path=sysconfig.get_path("scripts"))
    if uv is None:
        pytest.skip("uv is not installed (pip install uv)")
    monkeypatch.setenv("PATH", os.path.dirname(uv) + os.pathsep + os.environ["PATH"])
    envs = tmp_path / "envs"
    for template in TEMPLATES:
        init_project(tmp_path / template, template=template)
        run = client.get_run(_run(tmp_path / template, "main", "uv", envs, n_estimators=10))
        assert run.data.tags["mlflow.project.env"] == "uv"
        assert f"eval_{METRICS[template][0]}" in run.data.metrics
    # Both templates declare the same environment: built once, used twice.
    assert len([p for p in envs.iterdir() if (p / ".cairn-env.json").is_file()]) == 1
