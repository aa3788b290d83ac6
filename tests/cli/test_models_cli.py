"""``cairn models prepare-env`` and ``cairn models inspect`` (a model directory's MLmodel)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli_support import Cli
from model_envs import BuiltEnv, built_env, save_env_model


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-model") / "model"
    save_env_model(path)
    return path


# ----------------------------------------------------------------------------- bad input (fast)


def test_help_lists_the_models_group(cli: Cli) -> None:
    assert "models" in cli("--help").stdout
    text = cli("models", "--help").stdout
    assert "prepare-env" in text and "inspect" in text


def test_prepare_env_of_a_missing_path_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    err = cli.fails("models", "prepare-env", str(tmp_path / "nope"), "--env-dir", str(tmp_path))
    assert "No model at" in err and "does not exist" in err


def test_prepare_env_of_an_unknown_run_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    err = cli.fails("models", "prepare-env", "runs:/0123456789abcdef/model")
    assert "0123456789abcdef" in err


def test_prepare_env_of_a_directory_that_is_not_a_model(cli: Cli, tmp_path: Path) -> None:
    err = cli.fails("models", "prepare-env", str(tmp_path), "--env-dir", str(tmp_path / "e"))
    assert "not a saved model directory" in err


def test_prepare_env_without_python_env_yaml(cli: Cli, saved_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(saved_model, model)
    (model / "python_env.yaml").unlink()
    err = cli.fails("models", "prepare-env", str(model), "--env-dir", str(tmp_path / "envs"))
    assert "has no python_env.yaml" in err
    assert not (tmp_path / "envs").exists()


def test_prepare_env_without_requirements(cli: Cli, saved_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(saved_model, model)
    (model / "requirements.txt").unlink()
    err = cli.fails("models", "prepare-env", str(model), "--env-dir", str(tmp_path / "envs"))
    assert "'requirements.txt', which is missing" in err


def test_prepare_env_with_a_missing_interpreter(
    cli: Cli, saved_model: Path, tmp_path: Path
) -> None:
    err = cli.fails(
        "models", "prepare-env", str(saved_model), "--python", str(tmp_path / "python9")
    )
    assert "no such interpreter" in err


# ----------------------------------------------------------------------------- inspect


def test_inspect_a_saved_model(cli: Cli, saved_model: Path) -> None:
    data = cli.json("models", "inspect", str(saved_model))
    assert sorted(data["flavors"]) == ["python_function", "sklearn"]
    assert [c["name"] for c in data["signature"]["inputs"]] == ["a", "b"]
    assert data["requirements"][0].startswith("scikit-learn==")
    assert data["run_id"] is None and data["model_id"] is None
    assert data["input_example"]["type"] == "dataframe"
    text = cli("models", "inspect", str(saved_model)).stdout
    assert "python_function, sklearn" in text and "a: double, b: double" in text


def test_inspect_a_logged_model_by_uri(cli: Cli, saved_model: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    import cairn.sklearn

    cairn.set_tracking_uri(cli.tracking_uri)
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with cairn.start_run() as run:
        info = cairn.sklearn.log_model(model, name="clf")
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/clf"):
        data = cli.json("models", "inspect", uri)
        assert data["model_id"] == info.model_id and data["run_id"] == run.info.run_id
    err = cli.fails("models", "inspect", "models:/m-00000000000000000000000000000000")
    assert "m-00000000000000000000000000000000" in err


# ----------------------------------------------------------------------------- a real env


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> BuiltEnv:
    return built_env(tmp_path_factory)


@pytest.mark.slow
def test_prepare_env_reuses_the_environment_and_verifies_the_model(cli: Cli, env: BuiltEnv) -> None:
    args = ("models", "prepare-env", str(env.model_dir), "--env-dir", str(env.env_root))
    result = cli(*args)
    assert f"Environment: {env.first.path}" in result.stdout
    assert "Reused the cached environment." in result.stdout
    assert "Reusing the cached environment" in result.stderr
    assert "Model loaded: ok" in result.stdout
    assert "Prediction on the input example: array([0, 1])" in result.stdout


@pytest.mark.slow
def test_prepare_env_reports_a_model_that_does_not_load(
    cli: Cli, env: BuiltEnv, tmp_path: Path
) -> None:
    broken = tmp_path / "model"
    shutil.copytree(env.model_dir, broken)
    (broken / "model.skops").write_bytes(b"not a skops file")
    err = cli.fails("models", "prepare-env", str(broken), "--env-dir", str(env.env_root))
    assert "does not load in the environment" in err and "cairn.pyfunc.load_model" in err
