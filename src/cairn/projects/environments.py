"""Where a project's command runs: here (``local``), in a virtualenv built with venv or uv, in a
conda environment, or in a Docker container.

The manager is chosen from what the ``MLproject`` declares unless the user names one; a choice
that cannot honour the declaration (pip cannot rebuild a conda spec) is refused with what to do
instead. virtualenv/uv environments are built by :mod:`cairn.models.envs` (the builder models
use), so they are cached by the hash of their specification and built once. conda and docker
need their tools; without them the error says so rather than failing half-way.

Every environment turns the project's shell command into an argv and an environment
(:meth:`ProjectEnvironment.wrap`); the caller runs it with the project directory as cwd.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from cairn.docker_engine import check_docker_engine
from cairn.errors import CairnError
from cairn.models.environment import requirement_lines
from cairn.models.envs import (
    READY_MARKER,
    UV,
    VIRTUALENV,
    EnvSpec,
    build_lock,
    cairn_install_args,
    default_env_root,
    prepare_env_from_spec,
    read_python_env,
    run_step,
    spec_from_requirements,
)
from cairn.projects.spec import Project

LOCAL = "local"
CONDA = "conda"
DOCKER = "docker"
ENV_MANAGERS = (LOCAL, VIRTUALENV, UV, CONDA, DOCKER)
REQUIREMENTS_FILE = "requirements.txt"
CONDA_TOOLS = ("conda", "mamba", "micromamba")
DOCKER_WORKDIR = "/mlflow/projects/code"
# Passed into a container so the command logs to the run cairn created for it.
_PASSED_PREFIXES = ("CAIRN_", "MLFLOW_")

Log = Callable[[str], None]


# ----------------------------------------------------------------------------- choosing


def resolve_env_manager(project: Project, requested: str | None) -> str:
    """The manager to use: the requested one if it can honour the project's declaration, else
    the one the ``MLproject`` implies (python_env -> uv or virtualenv, conda_env -> conda,
    docker_env -> docker, nothing -> local)."""
    kind = project.environment.kind
    if requested is None or requested == "":
        if kind == "python":
            return UV if shutil.which(UV) else VIRTUALENV
        return {"conda": CONDA, "docker": DOCKER}.get(kind or "", LOCAL)
    manager = requested.strip().lower()
    if manager not in ENV_MANAGERS:
        raise CairnError.invalid(
            f"Unknown env manager {requested!r}: use one of {', '.join(ENV_MANAGERS)}."
        )
    declared = _declaration(project)
    if manager in (VIRTUALENV, UV):
        if kind == "conda":
            raise CairnError.invalid(
                f"--env-manager {manager}: project {project.name!r} {declared}, which pip "
                "cannot rebuild. Use --env-manager conda, or --env-manager local to run it "
                "in the current environment."
            )
        if kind == "docker":
            raise CairnError.invalid(
                f"--env-manager {manager}: project {project.name!r} {declared}, not a Python "
                "environment. Use --env-manager docker, or --env-manager local."
            )
        if kind is None and not (project.directory / REQUIREMENTS_FILE).is_file():
            raise CairnError.invalid(
                f"--env-manager {manager}: project {project.name!r} declares no python_env "
                f"and has no {REQUIREMENTS_FILE}, so there is nothing to build. Add a "
                f"python_env to its MLproject (or a {REQUIREMENTS_FILE}), or use "
                "--env-manager local."
            )
    elif manager == CONDA and kind != "conda":
        raise CairnError.invalid(
            f"--env-manager conda: project {project.name!r} {declared}, not a conda_env. "
            + (
                "Use --env-manager virtualenv or uv."
                if kind == "python"
                else "Use --env-manager local" + (" or docker." if kind == "docker" else ".")
            )
        )
    elif manager == DOCKER and kind != "docker":
        raise CairnError.invalid(
            f"--env-manager docker: project {project.name!r} {declared}, and docker needs a "
            "docker_env (an image) in its MLproject. Use --env-manager local"
            + (" or virtualenv/uv." if kind == "python" else ".")
        )
    return manager


def _declaration(project: Project) -> str:
    env = project.environment
    if env.kind == "docker":
        return f"declares docker_env (image {(env.docker or {}).get('image')!r})"
    if env.kind in ("python", "conda") and env.file is not None:
        return f"declares {env.kind}_env {env.file.name!r}"
    return "declares no environment"


# ----------------------------------------------------------------------------- environments


@dataclass
class ProjectEnvironment:
    """An environment a project command runs in; ``wrap`` makes the argv to run."""

    manager: str

    def wrap(
        self, command: str, *, workdir: Path, env: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        """(argv, environment) that run the shell ``command`` here (cwd = ``workdir``).

        "Here" is the Python running cairn: its scripts directory comes first on PATH, so
        ``python`` and ``cairn`` in a command are this environment's even when it was not
        activated (cairn started as ``.venv/bin/cairn`` or through pipx)."""
        child = dict(env)
        scripts = os.path.dirname(sys.executable)
        path = child.get("PATH", os.defpath)
        if path.split(os.pathsep)[0] != scripts:
            child["PATH"] = os.pathsep.join([scripts, path])
        return ["bash", "-c", command], child

    def describe(self) -> str:
        return "local (the current environment)"


@dataclass
class VirtualEnvironment(ProjectEnvironment):
    """A virtualenv built (or reused) by :mod:`cairn.models.envs`."""

    path: Path = field(default_factory=Path)
    python_version: str = ""
    reused: bool = False

    @property
    def bin_dir(self) -> Path:
        return self.path / ("Scripts" if os.name == "nt" else "bin")

    def wrap(
        self, command: str, *, workdir: Path, env: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        full = dict(env)
        full.pop("PYTHONHOME", None)
        full["VIRTUAL_ENV"] = str(self.path)
        rest = full.get("PATH")
        full["PATH"] = str(self.bin_dir) + (os.pathsep + rest if rest else "")
        return ["bash", "-c", command], full

    def describe(self) -> str:
        return f"{self.manager} environment {self.path} (Python {self.python_version})"


@dataclass
class CondaEnvironment(ProjectEnvironment):
    """A conda environment at ``prefix``, commands run through ``conda run``."""

    tool: str = "conda"
    prefix: Path = field(default_factory=Path)

    def wrap(
        self, command: str, *, workdir: Path, env: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        full = dict(env)
        full.pop("PYTHONHOME", None)
        return conda_run_argv(self.tool, self.prefix, command), full

    def describe(self) -> str:
        return f"conda environment {self.prefix} ({Path(self.tool).name})"


@dataclass
class DockerEnvironment(ProjectEnvironment):
    """The docker_env image; each command is a ``docker run --rm`` of it."""

    image: str = ""
    docker_env: dict[str, Any] = field(default_factory=dict)
    tool: str = "docker"

    def wrap(
        self,
        command: str,
        *,
        workdir: Path,
        env: Mapping[str, str],
        mounts: Sequence[Path] = (),
    ) -> tuple[list[str], dict[str, str]]:
        """``mounts``: more host directories the container needs at the same path (a local
        artifact directory of the run, say)."""
        argv = docker_run_argv(
            self.docker_env, command, workdir=workdir, env=env, mounts=mounts, docker=self.tool
        )
        return argv, dict(env)

    def describe(self) -> str:
        return f"docker image {self.image}"


# ----------------------------------------------------------------------------- preparing


def prepare_environment(
    project: Project,
    manager: str,
    *,
    python: str | None = None,
    env_root: str | os.PathLike[str] | None = None,
    log: Log = print,
) -> ProjectEnvironment:
    """Build (or find) the environment ``manager`` needs for ``project``; for docker, check that
    an engine answers before anything runs."""
    manager = resolve_env_manager(project, manager)
    if manager == LOCAL:
        return ProjectEnvironment(LOCAL)
    if manager in (VIRTUALENV, UV):
        spec = project_env_spec(project)
        built = prepare_env_from_spec(
            spec,
            env_root=env_root,
            env_manager=manager,
            python=python,
            log=log,
            wanted_by=f"project {project.name!r} asks for",
        )
        return VirtualEnvironment(
            built.manager, path=built.path, python_version=built.python_version, reused=built.reused
        )
    if manager == CONDA:
        return _prepare_conda(project, env_root, log)
    return _prepare_docker(project)


def project_env_spec(project: Project) -> EnvSpec:
    """The project's python_env.yaml, or (with none declared) its requirements.txt for the
    running Python's minor version."""
    env = project.environment
    if env.kind == "python" and env.file is not None:
        return read_python_env(env.file, owner=f"Project {project.name!r}")
    requirements = project.directory / REQUIREMENTS_FILE
    if env.kind is None and requirements.is_file():
        minor = ".".join(map(str, sys.version_info[:2]))
        return spec_from_requirements(requirement_lines(requirements), python=minor)
    raise CairnError.invalid(
        f"Project {project.name!r} {_declaration(project)}: no Python environment to build."
    )


# conda --------------------------------------------------------------------------------


def find_conda() -> str | None:
    """conda, mamba or micromamba from PATH (``CONDA_EXE`` first, as conda sets it)."""
    configured = os.environ.get("CONDA_EXE")
    if configured and Path(configured).is_file():
        return configured
    for name in CONDA_TOOLS:
        found = shutil.which(name)
        if found:
            return found
    return None


def conda_prefix(env_root: Path, conda_yaml_text: str) -> Path:
    """Where the environment of this conda.yaml lives: keyed by its text and the cairn in it."""
    from cairn.version import __version__

    digest = hashlib.sha256(f"{conda_yaml_text}\0cairn {__version__}".encode()).hexdigest()
    return env_root / f"conda-{digest[:20]}"


def _is_micromamba(tool: str) -> bool:
    return Path(tool).name.startswith("micromamba")


def conda_create_argv(tool: str, prefix: Path, conda_yaml: Path) -> list[str]:
    """The command that creates the environment at ``prefix`` from ``conda_yaml``."""
    if _is_micromamba(tool):
        return [tool, "create", "--yes", "-p", str(prefix), "-f", str(conda_yaml)]
    return [tool, "env", "create", "-p", str(prefix), "-f", str(conda_yaml)]


def conda_run_argv(tool: str, prefix: Path, command: str) -> list[str]:
    """The argv that runs the shell ``command`` inside the environment at ``prefix``."""
    return [*_conda_run(tool, prefix), "bash", "-c", command]


def _conda_run(tool: str, prefix: Path) -> list[str]:
    if _is_micromamba(tool):  # micromamba never captures output; it has no such flag
        return [tool, "run", "-p", str(prefix)]
    return [tool, "run", "--no-capture-output", "-p", str(prefix)]


def _prepare_conda(
    project: Project, env_root: str | os.PathLike[str] | None, log: Log
) -> CondaEnvironment:
    tool = find_conda()
    if tool is None:
        raise CairnError.invalid(
            f"conda is not on PATH (nor mamba or micromamba); project {project.name!r} "
            f"{_declaration(project)}. Install Miniconda or use --env-manager local/virtualenv."
        )
    file = project.environment.file
    assert file is not None  # resolve_env_manager allows conda only with a conda_env
    root = Path(env_root) if env_root else default_env_root()
    prefix = conda_prefix(root, file.read_text(encoding="utf-8"))
    marker = prefix / READY_MARKER
    with build_lock(root / f".{prefix.name}.lock"):
        if marker.is_file():
            log(f"Reusing the cached conda environment {prefix} (same conda.yaml).")
            return CondaEnvironment(CONDA, tool=tool, prefix=prefix)
        if prefix.exists():
            shutil.rmtree(prefix)  # an earlier build stopped half-way
        log(f"Creating the conda environment {prefix} from {file.name} ...")
        try:
            run_step(conda_create_argv(tool, prefix, file), "Creating the conda environment")
            # The project's scripts import cairn, which is not on PyPI: install the running one.
            with tempfile.TemporaryDirectory(prefix="cairn-env-") as work:
                pip = [*_conda_run(tool, prefix), "python", "-m", "pip", "install", "--quiet"]
                install = cairn_install_args(Path(work), log)
                run_step([*pip, *install], "Installing cairn into the conda environment")
        except BaseException:
            shutil.rmtree(prefix, ignore_errors=True)
            raise
        marker.write_text(json.dumps({"manager": CONDA, "conda_yaml": str(file)}), "utf-8")
    return CondaEnvironment(CONDA, tool=tool, prefix=prefix)


# docker -------------------------------------------------------------------------------


def _prepare_docker(project: Project) -> DockerEnvironment:
    docker_env = dict(project.environment.docker or {})
    image = str(docker_env["image"])
    check_docker_engine(
        f"This project declares docker_env image {image!r}; run it with --env-manager local "
        "to run it here."
    )
    return DockerEnvironment(DOCKER, image=image, docker_env=docker_env)


def container_name(run_id: str) -> str:
    """The name of a run's container, so a cancelled run's container can be removed."""
    return f"cairn-run-{run_id}"


def docker_run_argv(
    docker_env: Mapping[str, Any],
    command: str,
    *,
    workdir: Path,
    env: Mapping[str, str],
    mounts: Sequence[Path] = (),
    docker: str = "docker",
) -> list[str]:
    """``docker run`` for MLflow's docker_env (``image``, ``volumes``, ``environment``,
    ``run_params``): the project mounted as the workdir, cairn's variables passed through by
    name (values stay out of the argv), a local tracking store mounted at its own path."""
    argv = [docker, "run", "--rm"]
    run_id = env.get("CAIRN_RUN_ID")
    if run_id:  # a name to stop it by: killing the docker client leaves the container running
        argv += ["--name", container_name(run_id)]
    argv += ["-v", f"{Path(workdir).resolve()}:{DOCKER_WORKDIR}", "-w", DOCKER_WORKDIR]
    host_paths = [*_local_store_dirs(env), *(Path(m) for m in mounts)]
    seen: set[str] = set()
    for path in host_paths:
        text = str(path)
        if text not in seen:
            seen.add(text)
            argv += ["-v", f"{text}:{text}"]
    for volume in docker_env.get("volumes") or []:
        argv += ["-v", str(volume)]
    for name in sorted(env):
        if name.startswith(_PASSED_PREFIXES) or name == "PYTHONUNBUFFERED":
            argv += ["-e", name]
    for item in docker_env.get("environment") or []:
        if isinstance(item, (list, tuple)):
            if len(item) != 2:
                raise CairnError.invalid(
                    f"docker_env environment entry {list(item)!r}: use NAME or [NAME, value]."
                )
            argv += ["-e", f"{item[0]}={item[1]}"]
        else:
            argv += ["-e", str(item)]
    if _is_loopback(env.get("CAIRN_TRACKING_URI") or env.get("MLFLOW_TRACKING_URI") or ""):
        argv += ["--network", "host"]  # the server on the host's localhost
    argv += _run_params(docker_env.get("run_params"))
    argv += [str(docker_env["image"]), "bash", "-c", command]
    return argv


def _run_params(params: Any) -> list[str]:
    """docker_env run_params: a mapping ({"--shm-size": "1g"}, true for a bare flag), a string,
    or a list of arguments or of [flag, value] pairs."""
    if not params:
        return []
    if isinstance(params, Mapping):
        out: list[str] = []
        for key, value in params.items():
            flag = str(key) if str(key).startswith("-") else f"--{key}"
            out += [flag] if value is True else [flag, str(value)]
        return out
    if isinstance(params, str):
        return shlex.split(params)
    if not isinstance(params, (list, tuple)):
        raise CairnError.invalid(
            f"docker_env run_params {params!r}: use a mapping or a list of docker run arguments."
        )
    flat: list[str] = []
    for item in params:
        flat += [str(p) for p in item] if isinstance(item, (list, tuple)) else [str(item)]
    return flat


def _local_store_dirs(env: Mapping[str, str]) -> list[Path]:
    """Host directories of an embedded store (sqlite file, file:// paths) and a local
    artifact root, mounted at the same path so the URIs stay valid in the container."""
    out: list[Path] = []
    for name in ("CAIRN_TRACKING_URI", "CAIRN_REGISTRY_URI", "CAIRN_ARTIFACT_ROOT"):
        value = env.get(name)
        if not value:
            continue
        if value.startswith("sqlite:///"):
            path = unquote(value[len("sqlite:///") :].split("?", 1)[0])
            if path and ":memory:" not in path:
                out.append(Path(os.path.abspath(path)).parent)
        elif value.startswith("file:"):
            out.append(Path(unquote(urlparse(value).path)))
        elif "://" not in value:
            path = Path(os.path.abspath(value))
            out.append(path if name == "CAIRN_ARTIFACT_ROOT" else path.parent)
    return out


def _is_loopback(uri: str) -> bool:
    host = urlparse(uri).hostname if "://" in uri else None
    return host in ("localhost", "127.0.0.1", "::1")
