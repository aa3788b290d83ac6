"""``cairn models generate-dockerfile`` and ``cairn models build-docker`` (the command objects,
run through click's CliRunner): what they write and print, and their clean errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

pytest.importorskip("sklearn", reason="scikit-learn is not installed")
pytest.importorskip("skops", reason="skops is not installed")

from cairn.cli.container import COMMANDS, build_docker, generate_dockerfile
from cairn.serving.container import write_build_context
from cairn.tracking import config
from cairn.tracking.client import TrackingClient
from model_envs import save_env_model


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-container-model") / "model"
    save_env_model(path)
    return path


@pytest.fixture(scope="module")
def wheel(saved_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cairn wheel built once for the module; most commands below are given it."""
    return write_build_context(saved_model, tmp_path_factory.mktemp("wheel") / "ctx").wheel


def run(command, *args: str) -> Result:  # type: ignore[no-untyped-def]
    return CliRunner().invoke(command, list(args))


def fails(command, *args: str, exit_code: int = 1) -> str:  # type: ignore[no-untyped-def]
    """Run and require a clean failure: ``Error: ...`` on stderr, no traceback."""
    result = run(command, *args)
    assert result.exit_code == exit_code, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "Error: " in result.stderr
    return result.stderr


def test_commands_and_help() -> None:
    assert [c.name for c in COMMANDS] == ["generate-dockerfile", "build-docker"]
    text = run(generate_dockerfile, "--help").stdout
    for option in ("--model-uri", "--output-directory", "--base-image", "--port", "--force"):
        assert option in text, option
    text = run(build_docker, "--help").stdout
    for option in ("--model-uri", "--name", "--base-image", "--port"):
        assert option in text, option


def test_generate_dockerfile_writes_the_context(saved_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    result = run(generate_dockerfile, "-m", str(saved_model), "-d", str(out), "--port", "9090")
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout == f"Wrote {out / 'Dockerfile'}\n"
    assert "Building a cairn wheel" in result.stderr
    assert f"docker build -t IMAGE {out}" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        ".dockerignore",
        "Dockerfile",
        "dist",
        "model",
        "requirements.txt",
    ]
    text = (out / "Dockerfile").read_text()
    assert "EXPOSE 9090\n" in text and '"--port", "9090"' in text


def test_an_existing_output_directory_needs_force(
    saved_model: Path, wheel: Path, tmp_path: Path
) -> None:
    out = tmp_path / "build"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = ["-m", str(saved_model), "-d", str(out), "--cairn-wheel", str(wheel)]
    err = fails(generate_dockerfile, *args)
    assert "is not empty; pass --force" in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    result = run(generate_dockerfile, *args, "--force")
    assert result.exit_code == 0, result.output
    assert (out / "Dockerfile").is_file() and (out / "keep.txt").read_text() == "mine"
    assert "Building a cairn wheel" not in result.stderr  # the given wheel was used


def test_an_unknown_model_is_a_clear_error(tmp_path: Path) -> None:
    err = fails(generate_dockerfile, "-m", str(tmp_path / "nope"), "-d", str(tmp_path / "out"))
    assert "No model at" in err and "does not exist" in err
    assert not (tmp_path / "out").exists()


def test_an_unknown_registered_model_is_a_clear_error(
    client: TrackingClient, tmp_path: Path
) -> None:
    config.set_tracking_uri(client.tracking_uri)  # what `cairn --tracking-uri` does
    err = fails(generate_dockerfile, "-m", "models:/churn@champion", "-d", str(tmp_path / "out"))
    assert "churn" in err
    assert not (tmp_path / "out").exists()


def test_a_model_without_python_env_yaml(saved_model: Path, wheel: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(saved_model, model)
    (model / "python_env.yaml").unlink()
    out = tmp_path / "out"
    result = run(generate_dockerfile, "-m", str(model), "-d", str(out), "--cairn-wheel", str(wheel))
    assert result.exit_code == 0, result.output
    assert "has no python_env.yaml" in result.stderr and "--base-image" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "0"], "0 is not in the range"),
        (["--port", "http"], "'http' is not a valid integer"),
        (["--cairn-wheel", "/nonexistent/cairn.whl"], "does not exist"),
    ],
)
def test_bad_options_are_usage_errors(
    saved_model: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    err = fails(
        generate_dockerfile, "-m", str(saved_model), "-d", str(tmp_path), *args, exit_code=2
    )
    assert message in err


def test_missing_required_options() -> None:
    assert "--output-directory" in fails(generate_dockerfile, "-m", "x", exit_code=2)
    assert "--name" in fails(build_docker, "-m", "x", exit_code=2)


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed")
def test_build_docker_without_an_engine_says_where_to_build(
    saved_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real docker client; DOCKER_HOST names a socket no engine listens on, so this holds
    on machines that do run Docker too."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    err = fails(build_docker, "-m", str(saved_model), "-n", "churn:1")
    assert "No Docker engine is reachable" in err
    assert "cairn models generate-dockerfile -m MODEL_URI -d DIR" in err
    assert "docker build -t IMAGE DIR" in err


def test_build_docker_refuses_a_bad_image_name_before_anything_else(
    saved_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker at all: the name is checked first
    err = fails(build_docker, "-m", str(saved_model), "-n", "Churn Model")
    assert "'Churn Model' is not a Docker image name" in err


def test_build_docker_without_the_docker_command(
    saved_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    err = fails(build_docker, "-m", str(saved_model), "-n", "churn")
    assert "docker command was not found" in err and "generate-dockerfile" in err
