"""cairn.projects.environments: choosing where a project's command runs, and running it there.

The fixture project ``fixtures/env_project`` needs ``text-unidecode``, which the development
environment does not have: its command fails with ``--env-manager local`` and works in the
virtualenv (venv or uv) cairn builds from its ``python_env.yaml``. Building installs cairn's
dependencies, so each environment is built once per test run, under a root shared by the
pytest-xdist workers (the builder locks an environment while one process builds it).

conda and Docker engines are absent here: their commands are tested as pure functions and their
absence through the real tools (``docker info`` with the real client).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cairn.errors import CairnError
from cairn.projects.environments import (
    DOCKER_WORKDIR,
    ProjectEnvironment,
    VirtualEnvironment,
    conda_create_argv,
    conda_prefix,
    conda_run_argv,
    docker_run_argv,
    prepare_environment,
    project_env_spec,
    resolve_env_manager,
)
from cairn.projects.spec import Project, load_project
from cairn.version import __version__

FIXTURE = Path(__file__).parent / "fixtures" / "env_project"
MODULE = "text_unidecode"
COMMAND = "python transliterate.py --text 'Škoda café'"


def write_project(directory: Path, mlproject: str, **files: str) -> Project:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "MLproject").write_text(mlproject)
    for name, text in files.items():
        (directory / name.replace("__", ".")).write_text(text)
    return load_project(directory)


@pytest.fixture
def conda_project(tmp_path: Path) -> Project:
    return write_project(
        tmp_path / "conda",
        "name: c\nconda_env: conda.yaml\nentry_points:\n  main: python x.py\n",
        conda__yaml="name: c\ndependencies:\n  - python=3.11\n",
    )


@pytest.fixture
def docker_project(tmp_path: Path) -> Project:
    return write_project(
        tmp_path / "docker",
        "name: d\ndocker_env:\n  image: python:3.11-slim\nentry_points:\n  main: python x.py\n",
    )


@pytest.fixture
def bare_project(tmp_path: Path) -> Project:
    return write_project(tmp_path / "bare", "name: bare\nentry_points:\n  main: python x.py\n")


def uv_directory() -> str | None:
    """Where uv is: on PATH, or beside this Python (installed into the venv)."""
    found = shutil.which("uv") or shutil.which("uv", path=sysconfig.get_path("scripts"))
    return str(Path(found).parent) if found else None


def path_without(tool: str) -> str:
    """PATH with every directory holding ``tool`` left out."""
    keep = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    return os.pathsep.join(d for d in keep if not (Path(d) / tool).exists())


# ----------------------------------------------------------------------------- choosing


def test_the_default_follows_the_mlproject(
    conda_project: Project,
    docker_project: Project,
    bare_project: Project,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    python_project = load_project(FIXTURE)
    assert resolve_env_manager(conda_project, None) == "conda"
    assert resolve_env_manager(docker_project, None) == "docker"
    assert resolve_env_manager(bare_project, None) == "local"
    monkeypatch.setenv("PATH", path_without("uv"))
    assert resolve_env_manager(python_project, None) == "virtualenv"
    uv = uv_directory()
    if uv is None:
        pytest.skip("uv is not installed (pip install uv)")
    monkeypatch.setenv("PATH", uv + os.pathsep + os.environ["PATH"])
    assert resolve_env_manager(python_project, None) == "uv"


def test_the_requested_manager_wins(docker_project: Project, conda_project: Project) -> None:
    python_project = load_project(FIXTURE)
    assert resolve_env_manager(python_project, "local") == "local"
    assert resolve_env_manager(python_project, "VirtualEnv") == "virtualenv"
    assert resolve_env_manager(python_project, "uv") == "uv"
    assert resolve_env_manager(docker_project, "local") == "local"
    assert resolve_env_manager(conda_project, "local") == "local"


@pytest.mark.parametrize("requested", ["pipenv", "venv", "  "])
def test_an_unknown_manager_is_refused(requested: str) -> None:
    with pytest.raises(CairnError, match="Unknown env manager") as caught:
        resolve_env_manager(load_project(FIXTURE), requested)
    assert "local, virtualenv, uv, conda, docker" in caught.value.message
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("requested", ["virtualenv", "uv"])
def test_pip_cannot_rebuild_a_conda_env(conda_project: Project, requested: str) -> None:
    with pytest.raises(CairnError, match=r"declares conda_env 'conda.yaml'") as caught:
        resolve_env_manager(conda_project, requested)
    assert "--env-manager conda" in caught.value.message
    assert "--env-manager local" in caught.value.message


def test_docker_needs_a_docker_env(bare_project: Project) -> None:
    with pytest.raises(CairnError, match="docker needs a docker_env") as caught:
        resolve_env_manager(load_project(FIXTURE), "docker")
    assert "declares python_env 'python_env.yaml'" in caught.value.message
    with pytest.raises(CairnError, match="declares no environment"):
        resolve_env_manager(bare_project, "docker")


def test_conda_needs_a_conda_env(docker_project: Project) -> None:
    with pytest.raises(CairnError, match=r"not a conda_env.*virtualenv or uv"):
        resolve_env_manager(load_project(FIXTURE), "conda")
    with pytest.raises(CairnError, match=r"not a conda_env.*local or docker"):
        resolve_env_manager(docker_project, "conda")


def test_a_docker_project_has_no_python_env_to_build(docker_project: Project) -> None:
    with pytest.raises(CairnError, match=r"image 'python:3.11-slim'.*--env-manager docker"):
        resolve_env_manager(docker_project, "uv")


def test_without_a_declaration_requirements_txt_is_the_python_env(
    bare_project: Project,
) -> None:
    with pytest.raises(CairnError, match=r"no requirements.txt, so there is nothing to build"):
        resolve_env_manager(bare_project, "virtualenv")
    (bare_project.directory / "requirements.txt").write_text("# pinned\ntext-unidecode==1.3\n")
    assert resolve_env_manager(bare_project, "virtualenv") == "virtualenv"
    spec = project_env_spec(bare_project)
    assert spec.requirements == ["text-unidecode==1.3"]
    assert spec.python == ".".join(map(str, sys.version_info[:2]))
    assert spec.build_dependencies == []


def test_the_python_env_reads_requirements_beside_the_yaml(tmp_path: Path) -> None:
    env_dir = tmp_path / "p" / "env"
    env_dir.mkdir(parents=True)
    (env_dir / "python_env.yaml").write_text(
        "python: '3.11'\nbuild_dependencies: [pip, wheel]\n"
        "dependencies:\n  - -r reqs.txt\n  - numpy\n"
    )
    project = write_project(
        tmp_path / "p",
        "name: p\npython_env: env/python_env.yaml\nentry_points:\n  main: python x.py\n",
    )
    with pytest.raises(CairnError, match=r"Project 'p' lists requirements in 'reqs.txt'"):
        project_env_spec(project)
    (env_dir / "reqs.txt").write_text("text-unidecode==1.3\ncairn\n")
    spec = project_env_spec(project)
    assert spec.requirements == ["text-unidecode==1.3", "numpy"]
    assert spec.cairn_requirement == "cairn"  # set apart: the running cairn is installed
    assert spec.python == "3.11" and spec.build_dependencies == ["pip", "wheel"]


# ----------------------------------------------------------------------------- local


@pytest.mark.skipif(importlib.util.find_spec(MODULE) is not None, reason=f"{MODULE} is here")
def test_local_runs_with_the_current_path_and_lacks_the_dependency() -> None:
    environment = prepare_environment(load_project(FIXTURE), "local", log=lambda m: None)
    assert environment.manager == "local" and "local" in environment.describe()
    # Even when the venv is not activated, `python` is the one running cairn.
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    argv, child_env = environment.wrap(COMMAND, workdir=FIXTURE, env=env)
    assert argv == ["bash", "-c", COMMAND]
    assert child_env == {**env, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    done = subprocess.run(argv, cwd=FIXTURE, env=child_env, capture_output=True, text=True)
    assert done.returncode != 0
    assert f"No module named '{MODULE}'" in done.stderr


# ----------------------------------------------------------------------------- virtualenv/uv


def shared_root(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A directory of this test run shared by all its xdist workers."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    return base / name


@dataclass
class Built:
    requested: str
    environment: VirtualEnvironment
    log: list[str]
    env_root: Path


@pytest.fixture(scope="module")
def env_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_root(tmp_path_factory, "project-envs")


@pytest.fixture(scope="module", params=["virtualenv", "uv"])
def built(request: pytest.FixtureRequest, env_root: Path) -> Iterator[Built]:
    manager = request.param
    with pytest.MonkeyPatch.context() as patch:
        if manager == "uv":
            uv = uv_directory()
            if uv is None:
                pytest.skip("uv is not installed (pip install uv)")
            patch.setenv("PATH", uv + os.pathsep + os.environ["PATH"])
        log: list[str] = []
        environment = prepare_environment(
            load_project(FIXTURE), manager, env_root=env_root, log=log.append
        )
        assert isinstance(environment, VirtualEnvironment)
        yield Built(manager, environment, log, env_root)


def run_wrapped(environment: ProjectEnvironment) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHOME": "/nonexistent"}  # would break the env's Python if kept
    argv, child_env = environment.wrap(COMMAND, workdir=FIXTURE, env=env)
    return subprocess.run(argv, cwd=FIXTURE, env=child_env, capture_output=True, text=True)


@pytest.mark.timeout(900)  # building may take minutes on a machine busy with other tests
def test_the_command_runs_in_the_built_environment(built: Built) -> None:
    environment = built.environment
    assert environment.path.parent == built.env_root
    # Built by the tool asked for: a uv request never reuses the virtualenv one, or back.
    assert environment.manager == built.requested
    marker = (environment.path / ".cairn-env.json").read_text()
    assert f'"manager": "{built.requested}"' in marker
    assert str(environment.path) in environment.describe()
    assert environment.manager in environment.describe()
    done = run_wrapped(environment)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "transliterated: Skoda cafe" in lines
    assert f"cairn: {__version__}" in lines
    assert f"prefix: {environment.path}" in lines


@pytest.mark.timeout(900)
def test_the_wrapped_environment_puts_the_env_first(built: Built) -> None:
    env = {"PATH": "/usr/bin", "PYTHONHOME": "/x", "KEEP": "1"}
    argv, child_env = built.environment.wrap("echo hi", workdir=FIXTURE, env=env)
    assert argv == ["bash", "-c", "echo hi"]
    assert child_env["PATH"] == f"{built.environment.bin_dir}{os.pathsep}/usr/bin"
    assert child_env["VIRTUAL_ENV"] == str(built.environment.path)
    assert "PYTHONHOME" not in child_env and child_env["KEEP"] == "1"
    assert env == {"PATH": "/usr/bin", "PYTHONHOME": "/x", "KEEP": "1"}  # not changed


@pytest.mark.timeout(900)
def test_a_second_prepare_reuses_the_environment(built: Built) -> None:
    log: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        uv = uv_directory()
        if uv:
            patch.setenv("PATH", uv + os.pathsep + os.environ["PATH"])
        again = prepare_environment(
            load_project(FIXTURE),
            built.environment.manager,
            env_root=built.env_root,
            log=log.append,
        )
    assert isinstance(again, VirtualEnvironment)
    assert again.reused and again.path == built.environment.path
    assert any(m.startswith("Reusing the cached environment") for m in log), log
    assert not any("Creating" in m or "Installing" in m for m in log), log
    assert run_wrapped(again).returncode == 0


# ----------------------------------------------------------------------------- conda


def test_conda_without_conda_is_a_clear_error(
    conda_project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if shutil.which("conda") or shutil.which("mamba") or shutil.which("micromamba"):
        pytest.skip("a conda is installed here")
    monkeypatch.delenv("CONDA_EXE", raising=False)
    with pytest.raises(CairnError, match="conda is not on PATH") as caught:
        prepare_environment(conda_project, "conda", env_root=tmp_path / "envs")
    assert "Install Miniconda or use --env-manager local/virtualenv" in caught.value.message
    assert not (tmp_path / "envs").exists()


def test_conda_commands(tmp_path: Path) -> None:
    prefix = conda_prefix(tmp_path, "dependencies: [python=3.11]\n")
    assert prefix.parent == tmp_path and prefix.name.startswith("conda-")
    assert prefix == conda_prefix(tmp_path, "dependencies: [python=3.11]\n")
    assert prefix != conda_prefix(tmp_path, "dependencies: [python=3.12]\n")
    yaml_file = tmp_path / "conda.yaml"
    assert conda_create_argv("conda", prefix, yaml_file) == [
        *("conda", "env", "create", "-p", str(prefix), "-f", str(yaml_file))
    ]
    assert conda_run_argv("/opt/conda/bin/conda", prefix, "python train.py --a 'b c'") == [
        *("/opt/conda/bin/conda", "run", "--no-capture-output", "-p", str(prefix)),
        *("bash", "-c", "python train.py --a 'b c'"),
    ]
    assert conda_create_argv("micromamba", prefix, yaml_file)[:3] == [
        "micromamba",
        "create",
        "--yes",
    ]
    assert conda_run_argv("micromamba", prefix, "x") == [
        *("micromamba", "run", "-p", str(prefix), "bash", "-c", "x")
    ]


# ----------------------------------------------------------------------------- docker


def test_the_docker_run_command(tmp_path: Path) -> None:
    store = tmp_path / "store"
    env = {
        "CAIRN_RUN_ID": "abc123",
        "CAIRN_TRACKING_URI": f"sqlite:///{store}/cairn.db",
        "CAIRN_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        "MLFLOW_RUN_ID": "abc123",
        "PYTHONUNBUFFERED": "1",
        "HOME": "/root",
        "SECRET_TOKEN": "s3cr3t",
    }
    docker_env = {
        "image": "python:3.11-slim",
        "volumes": ["/data:/data:ro"],
        "environment": ["HTTP_PROXY", ["MODE", "fast run"]],
        "run_params": {"--shm-size": "1g", "--gpus": "all"},
    }
    project_dir = tmp_path / "project"
    argv = docker_run_argv(docker_env, "python train.py", workdir=project_dir, env=env)
    assert argv[:3] == ["docker", "run", "--rm"]
    assert argv[-4:] == ["python:3.11-slim", "bash", "-c", "python train.py"]

    def pairs(flag: str) -> list[str]:
        return [argv[i + 1] for i, a in enumerate(argv) if a == flag]

    assert pairs("-v") == [
        f"{project_dir}:{DOCKER_WORKDIR}",
        f"{store}:{store}",
        f"{tmp_path / 'artifacts'}:{tmp_path / 'artifacts'}",
        "/data:/data:ro",
    ]
    assert pairs("-w") == [DOCKER_WORKDIR]
    assert pairs("-e") == [
        *("CAIRN_ARTIFACT_ROOT", "CAIRN_RUN_ID", "CAIRN_TRACKING_URI", "MLFLOW_RUN_ID"),
        *("PYTHONUNBUFFERED", "HTTP_PROXY", "MODE=fast run"),
    ]
    assert pairs("--name") == ["cairn-run-abc123"]
    assert pairs("--shm-size") == ["1g"] and pairs("--gpus") == ["all"]
    assert "s3cr3t" not in " ".join(argv)  # values of passed variables stay out of the argv
    assert "--network" not in argv


def test_docker_reaches_a_server_on_the_hosts_localhost(tmp_path: Path) -> None:
    env = {"CAIRN_TRACKING_URI": "http://127.0.0.1:5000"}
    argv = docker_run_argv(
        {"image": "img", "run_params": [["--cpus", "2"], "--init"]},
        "true",
        workdir=tmp_path,
        env=env,
    )
    assert argv[argv.index("--network") + 1] == "host"
    assert argv[-7:] == ["--cpus", "2", "--init", "img", "bash", "-c", "true"]
    assert argv.count("-v") == 1  # the project only: nothing local to mount for a server


def test_docker_without_an_engine_is_a_clear_error(docker_project: Project) -> None:
    docker = shutil.which("docker")
    if docker is not None:
        reachable = subprocess.run([docker, "info"], capture_output=True).returncode == 0
        if reachable:
            pytest.skip("a Docker engine is reachable here")
    with pytest.raises(CairnError) as caught:
        prepare_environment(docker_project, "docker", log=lambda m: None)
    message = caught.value.message
    expected = (
        "No Docker engine is reachable (docker info: "
        if docker
        else "The docker command was not found on PATH"
    )
    assert message.startswith(expected), message
    assert "docker_env image 'python:3.11-slim'" in message
    assert "--env-manager local" in message
    assert "\n" not in message


# ----------------------------------------------------------------------------- through cairn run


@pytest.mark.timeout(900)
def test_cairn_run_from_a_git_repository_in_the_built_environment(
    built: Built, tmp_path: Path
) -> None:
    """The whole path: a git repository, the project's environment (reused from the build
    above), the script logging into the run from inside that environment."""
    import cairn
    from cairn.tracking.client import TrackingClient
    from project_support import git

    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo / "env")
    git(repo, "init", "--quiet")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "env project")
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.MonkeyPatch.context() as patch:
        uv = uv_directory()
        if uv:
            patch.setenv("PATH", uv + os.pathsep + os.environ["PATH"])
        submitted = cairn.projects.run(
            f"file://{repo}#env",
            parameters={"text": "Ωmega"},
            env_manager=built.requested,
            env_root=str(built.env_root),
            tracking_uri=uri,
            stream_output=False,
        )
    run = TrackingClient(uri).get_run(submitted.run_id)
    assert run.info.status == "FINISHED", submitted.run_id
    assert run.data.tags["transliterated"] == "Omega"
    assert run.data.tags["python_prefix"] == str(built.environment.path)
    assert run.data.tags["mlflow.project.env"] == built.requested
    assert run.data.tags["mlflow.source.git.commit"] == git(repo, "rev-parse", "HEAD")
