"""The Docker build context of :mod:`cairn.serving.container`: the Dockerfile's instructions,
the requirements, the cairn wheel, registry resolution, refusals, the docker engine check, and
the ENTRYPOINT serving the model outside a container."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed")
pytest.importorskip("skops", reason="skops is not installed")

import cairn
from cairn.errors import CairnError
from cairn.models.environment import read_requirements
from cairn.serving.container import (
    MODEL_DIR_IN_IMAGE,
    WORKERS_VARIABLE,
    BuildContext,
    check_docker_engine,
    check_image_name,
    default_base_image,
    docker_build_argv,
    entrypoint_argv,
    render_dockerfile,
    write_build_context,
)
from cairn.version import __version__
from model_envs import save_env_model

Instruction = tuple[str, str]


def parse_dockerfile(text: str) -> list[Instruction]:
    """(INSTRUCTION, arguments) in order: comments dropped, continuation lines joined."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "a continuation line ends the file"
    return instructions


def only(instructions: list[Instruction], keyword: str) -> str:
    found = [args for key, args in instructions if key == keyword]
    assert len(found) == 1, (keyword, found)
    return found[0]


def index_of(instructions: list[Instruction], keyword: str, contains: str = "") -> int:
    for i, (key, args) in enumerate(instructions):
        if key == keyword and contains in args:
            return i
    raise AssertionError(f"no {keyword} containing {contains!r}")


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("container-model") / "model"
    save_env_model(path)  # requirements include a cairn==<version> line
    return path


@pytest.fixture(scope="module")
def context(saved_model: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildContext:
    return write_build_context(saved_model, tmp_path_factory.mktemp("ctx") / "out")


@pytest.fixture(scope="module")
def wheel(context: BuildContext) -> Path:
    """The cairn wheel built once for the module (building takes seconds)."""
    return context.wheel


@pytest.fixture(scope="module")
def dockerfile(context: BuildContext) -> list[Instruction]:
    return parse_dockerfile(context.dockerfile.read_text())


def model_python(model_dir: Path) -> str:
    import yaml

    return str(yaml.safe_load((model_dir / "python_env.yaml").read_text())["python"])


# ----------------------------------------------------------------------------- the Dockerfile


def test_the_context_holds_what_the_dockerfile_copies(context: BuildContext) -> None:
    names = sorted(p.name for p in context.path.iterdir())
    assert names == [".dockerignore", "Dockerfile", "dist", "model", "requirements.txt"]
    for key, args in parse_dockerfile(context.dockerfile.read_text()):
        if key == "COPY":
            source = args.split()[0]
            assert (context.path / source).exists(), source
            assert source.split("/")[0] in {"model", "requirements.txt", "dist"}
    ignore = (context.path / ".dockerignore").read_text().splitlines()
    assert ignore[0] == "*" and {"!model", "!requirements.txt", "!dist"} <= set(ignore)


def test_base_image_is_slim_python_of_the_models_minor_version(
    context: BuildContext, dockerfile: list[Instruction], saved_model: Path
) -> None:
    major, minor = model_python(saved_model).split(".")[:2]
    assert only(dockerfile, "FROM") == f"python:{major}.{minor}-slim"
    assert dockerfile[0][0] == "FROM"


@pytest.mark.parametrize(
    ("version", "image"),
    [("3.10.14", "python:3.10-slim"), ("3.12.1", "python:3.12-slim"), ("3.9", "python:3.9-slim")],
)
def test_default_base_image(version: str, image: str) -> None:
    assert default_base_image(version) == image


def test_default_base_image_of_a_model_without_a_version_is_this_python() -> None:
    assert default_base_image(None) == f"python:{sys.version_info[0]}.{sys.version_info[1]}-slim"
    with pytest.raises(CairnError, match="--base-image"):
        default_base_image("three")


def test_another_python_version_and_an_explicit_base_image(
    saved_model: Path, wheel: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(saved_model, model)
    env = model / "python_env.yaml"
    env.write_text(env.read_text().replace(model_python(saved_model), "3.10.14"))
    made = write_build_context(model, tmp_path / "a", cairn_wheel=wheel)
    assert only(parse_dockerfile(made.dockerfile.read_text()), "FROM") == "python:3.10-slim"
    assert made.labels["cairn.model.python"] == "3.10.14"
    chosen = write_build_context(
        model, tmp_path / "b", base_image="registry.local/py:3.10", port=9000, cairn_wheel=wheel
    )
    steps = parse_dockerfile(chosen.dockerfile.read_text())
    assert only(steps, "FROM") == "registry.local/py:3.10"
    assert only(steps, "EXPOSE") == "9000"
    assert json.loads(only(steps, "ENTRYPOINT")) == entrypoint_argv(9000)
    assert "9000/ping" in only(steps, "HEALTHCHECK")


def test_requirements_are_installed_before_cairn_and_the_model(
    dockerfile: list[Instruction],
) -> None:
    copy_requirements = index_of(dockerfile, "COPY", "requirements.txt")
    install_requirements = index_of(dockerfile, "RUN", "-r /tmp/requirements.txt")
    copy_wheel = index_of(dockerfile, "COPY", "dist/cairn-")
    install_wheel = index_of(dockerfile, "RUN", "pip install /tmp/cairn-dist/cairn-")
    copy_model = index_of(dockerfile, "COPY", f"model {MODEL_DIR_IN_IMAGE}")
    assert copy_requirements < install_requirements < copy_wheel < install_wheel < copy_model
    assert "PIP_NO_CACHE_DIR=1" in only(dockerfile, "ENV")
    # the model's pinned pip/setuptools go in before its requirements, as python_env.yaml says
    assert "pip==" in dockerfile[install_requirements][1].split("-r")[0]


def test_the_server_runs_as_a_non_root_user(dockerfile: list[Instruction]) -> None:
    user = only(dockerfile, "USER")
    assert user not in {"root", "0"} and user.split(":")[0] == "10001"
    assert "useradd --uid 10001" in dockerfile[index_of(dockerfile, "RUN", "useradd")][1]
    assert index_of(dockerfile, "USER") < index_of(dockerfile, "ENTRYPOINT")
    assert index_of(dockerfile, "USER") > index_of(dockerfile, "RUN", "pip install /tmp/cairn")


def test_expose_healthcheck_and_entrypoint(dockerfile: list[Instruction]) -> None:
    assert only(dockerfile, "EXPOSE") == "8080"
    health = only(dockerfile, "HEALTHCHECK")
    options, _, command = health.partition(" CMD ")
    assert "--interval=" in options
    argv = json.loads(command)  # exec form: slim images have no curl, python checks /ping
    assert argv[:2] == ["python", "-c"] and "http://127.0.0.1:8080/ping" in argv[2]
    entry = json.loads(only(dockerfile, "ENTRYPOINT"))  # exec form: signals reach the server
    assert entry == [
        "cairn",
        "models",
        "serve",
        "-m",
        "/opt/ml/model",
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
        "--env-manager",
        "local",
    ]
    assert index_of(dockerfile, "ENTRYPOINT") == len(dockerfile) - 1


def test_workers_come_from_an_environment_variable_serve_reads(
    dockerfile: list[Instruction],
) -> None:
    from cairn.cli.serving import serve

    assert f"{WORKERS_VARIABLE}=1" in only(dockerfile, "ENV").split()
    workers = next(p for p in serve.params if p.name == "workers")
    assert workers.envvar == WORKERS_VARIABLE


def test_healthcheck_command_fails_without_a_server() -> None:
    """The check itself is real Python: against a closed port it exits non-zero."""
    from rest_server import free_port

    text = render_dockerfile("python:3.11-slim", free_port(), [], "cairn.whl", {"a": "b"})
    check = json.loads(only(parse_dockerfile(text), "HEALTHCHECK").partition(" CMD ")[2])
    done = subprocess.run([sys.executable, *check[1:]], capture_output=True, timeout=60)
    assert done.returncode != 0


def test_labels_say_where_the_model_came_from(
    context: BuildContext, dockerfile: list[Instruction], saved_model: Path
) -> None:
    label = only(dockerfile, "LABEL")
    assert f'"cairn.version"="{__version__}"' in label
    assert f'"cairn.model.uri"={json.dumps(str(saved_model))}' in label
    assert "cairn.model.version" not in label  # not a registered model


# ----------------------------------------------------------------------------- the files


def test_requirements_are_the_models_without_cairn(
    context: BuildContext, saved_model: Path
) -> None:
    captured = read_requirements(saved_model)
    assert any(line.startswith("cairn==") for line in captured)
    written = (context.path / "requirements.txt").read_text().splitlines()
    assert written == [line for line in captured if not line.startswith("cairn")]
    assert written and all("cairn" not in line for line in written)
    assert context.requirements == written


def test_the_model_is_copied_whole(context: BuildContext, saved_model: Path) -> None:
    compared = filecmp.dircmp(saved_model, context.path / "model")
    assert not compared.left_only and not compared.right_only and not compared.diff_files
    for path in (context.path / "model").rglob("*"):
        assert path.stat().st_mode & 0o004, path  # readable by the image's non-root user


def test_the_wheel_is_this_cairn_and_installable(context: BuildContext) -> None:
    wheels = list((context.path / "dist").iterdir())
    assert wheels == [context.wheel]
    with zipfile.ZipFile(context.wheel) as wheel:
        names = wheel.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        text = wheel.read(metadata).decode()
    assert "Name: cairn\n" in text and f"Version: {__version__}\n" in text
    assert "cairn/serving/container.py" in names and "cairn/cli/__init__.py" in names
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--no-deps",
            "--no-index",
            str(context.wheel),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"Would install cairn-{__version__}" in done.stdout


def test_a_model_without_python_env_yaml_uses_this_python(
    saved_model: Path, wheel: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(saved_model, model)
    (model / "python_env.yaml").unlink()
    notes: list[str] = []
    made = write_build_context(model, tmp_path / "out", cairn_wheel=wheel, log=notes.append)
    assert made.base_image == default_base_image(None)
    assert any("no python_env.yaml" in note for note in notes)
    assert "cairn" not in (made.path / "requirements.txt").read_text()


# ----------------------------------------------------------------------------- the registry


@pytest.fixture
def registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """'churn' v1 and v2 in a SQLite store, alias champion -> 2; returns the tracking URI."""
    from sklearn.linear_model import LogisticRegression

    import cairn.sklearn
    from cairn.registry.client import RegistryClient

    monkeypatch.setenv("CAIRN_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    uri = f"sqlite:///{tmp_path}/cairn.db"
    cairn.set_tracking_uri(uri)
    try:
        for c in (1.0, 2.0):
            model = LogisticRegression(C=c).fit([[0.0], [1.0]], [0, 1])
            with cairn.start_run():
                logged = cairn.sklearn.log_model(model, name="clf")
            cairn.register_model(logged.model_uri, "churn")
    finally:
        cairn.set_tracking_uri(None)
    RegistryClient(uri).set_registered_model_alias("churn", "champion", 2)
    return uri


def test_an_alias_is_resolved_now_and_recorded(
    registered: str, wheel: Path, tmp_path: Path
) -> None:
    from cairn.registry.client import RegistryClient

    made = write_build_context(
        "models:/churn@champion", tmp_path / "out", tracking_uri=registered, cairn_wheel=wheel
    )
    assert made.source.load_uri == "models:/churn/2"
    assert made.labels["cairn.model.name"] == "churn"
    assert made.labels["cairn.model.version"] == "2"
    assert made.labels["cairn.model.uri"] == "models:/churn@champion"
    label = only(parse_dockerfile(made.dockerfile.read_text()), "LABEL")
    assert '"cairn.model.version"="2"' in label
    version = RegistryClient(registered).get_model_version("churn", "2")
    assert made.labels["cairn.model.id"] == version.model_id
    assert (made.path / "model" / "MLmodel").is_file()


def test_an_unknown_alias_is_a_clear_error(registered: str, tmp_path: Path) -> None:
    with pytest.raises(CairnError, match="challenger"):
        write_build_context("models:/churn@challenger", tmp_path / "out", tracking_uri=registered)
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- refusals


def test_an_unknown_model_path_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(CairnError, match="No model at"):
        write_build_context(tmp_path / "nope", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_directory_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(CairnError, match="not a saved model directory"):
        write_build_context(tmp_path / "empty", tmp_path / "out")


def test_a_non_empty_output_directory_needs_force(
    saved_model: Path, wheel: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(CairnError, match="not empty; pass --force"):
        write_build_context(saved_model, out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    write_build_context(saved_model, out, force=True, cairn_wheel=wheel)
    (out / "model" / "stale.bin").write_text("from an earlier model")
    made = write_build_context(saved_model, out, force=True, cairn_wheel=wheel)
    assert (out / "notes.txt").read_text() == "mine"  # not ours: kept, and .dockerignore'd
    assert not (out / "model" / "stale.bin").exists()
    assert made.dockerfile.is_file()


def test_an_empty_output_directory_is_used(saved_model: Path, wheel: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    made = write_build_context(saved_model, tmp_path / "out", cairn_wheel=wheel)
    assert made.dockerfile.is_file() and made.wheel.name == wheel.name


def test_an_output_directory_overlapping_the_model(saved_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(saved_model, model)
    for out in (model, model / "build", tmp_path):
        with pytest.raises(CairnError, match="overlap"):
            write_build_context(model, out, force=True)
    assert filecmp.dircmp(saved_model, model).diff_files == []


def test_an_output_path_that_is_a_file(saved_model: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(CairnError, match="not a directory"):
        write_build_context(saved_model, tmp_path / "file")


def test_a_given_wheel_must_be_a_cairn_wheel(saved_model: Path, tmp_path: Path) -> None:
    (tmp_path / "other-1.0-py3-none-any.whl").write_bytes(b"")
    for given in (tmp_path / "other-1.0-py3-none-any.whl", tmp_path / "cairn-9-py3-none-any.whl"):
        with pytest.raises(CairnError, match="is not a cairn wheel"):
            write_build_context(saved_model, tmp_path / "out", cairn_wheel=given)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kwargs", [{"port": 0}, {"port": 70000}, {"base_image": "python 3"}])
def test_bad_port_and_base_image(saved_model: Path, tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(CairnError):
        write_build_context(saved_model, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- docker


def test_docker_build_argv() -> None:
    assert docker_build_argv("churn:3", Path("/tmp/ctx")) == [
        "docker",
        "build",
        "-t",
        "churn:3",
        "/tmp/ctx",
    ]
    assert docker_build_argv("x", Path("c"), docker="/usr/bin/podman")[0] == "/usr/bin/podman"


@pytest.mark.parametrize(
    "name",
    [
        "churn",
        "churn:3",
        "team/churn:v1.2-rc",
        "registry.example.com:5000/team/churn:latest",
        "localhost/churn",
        "a_b__c-d/e.f",
    ],
)
def test_valid_image_names(name: str) -> None:
    assert check_image_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "Churn", "churn:", "churn:3:4", "-churn", "churn model", "a//b", "churn:ü"]
)
def test_invalid_image_names(name: str) -> None:
    with pytest.raises(CairnError, match="not a Docker image name"):
        check_image_name(name)


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed")
def test_no_docker_engine_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real docker client, pointed at a socket no engine listens on."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(CairnError) as caught:
        check_docker_engine()
    message = caught.value.message
    assert message.startswith("No Docker engine is reachable (docker info: ")
    assert "no-engine.sock" in message
    assert "cairn models generate-dockerfile" in message


def test_no_docker_command_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CairnError, match="docker command was not found"):
        check_docker_engine()


# ----------------------------------------------------------------------------- the entrypoint


def test_the_entrypoint_serves_the_model(
    context: BuildContext, saved_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Dockerfile's own ENTRYPOINT argv, with the image's paths and port swapped for local
    ones, run with the dev venv's cairn: /ping answers and /invocations predicts what the
    model predicts."""
    import httpx
    import pandas as pd

    from rest_server import LiveServer, free_port

    cairn_bin = Path(sys.executable).parent / "cairn"
    if not cairn_bin.is_file():
        pytest.skip(f"no cairn script next to {sys.executable}")
    steps = parse_dockerfile(context.dockerfile.read_text())
    argv = json.loads(only(steps, "ENTRYPOINT"))
    port = free_port()
    swap = {
        "cairn": str(cairn_bin),
        MODEL_DIR_IN_IMAGE: str(context.path / "model"),
        "0.0.0.0": "127.0.0.1",
        only(steps, "EXPOSE"): str(port),
    }
    command = [swap.get(arg, arg) for arg in argv]
    for pair in only(steps, "ENV").split():  # what the image's environment holds
        key, _, value = pair.partition("=")
        monkeypatch.setenv(key, value)
    assert command[1:4] == ["models", "serve", "-m"] and str(port) in command
    frame = pd.DataFrame({"a": [0.0, 2.5, 3.0, -1.0], "b": [1.0, 0.0, 0.5, 1.0]})
    expected = cairn.pyfunc.load_model(str(saved_model)).predict(frame)
    server = LiveServer(command, port, context.path.parent).start()
    try:
        assert httpx.get(f"{server.url}/ping", timeout=10).status_code == 200
        body = {"dataframe_split": frame.to_dict(orient="split", index=False)}
        answer = httpx.post(f"{server.url}/invocations", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == [int(v) for v in expected]
    finally:
        server.stop()
    assert os.path.isdir(context.path / "model")
