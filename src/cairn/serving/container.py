"""A Docker build context for a saved model: the model, its requirements, cairn and a Dockerfile.

The image runs ``cairn models serve`` on the copied model with ``--env-manager local``: the
model's captured requirements are installed into the image's Python at build time, so nothing
is built when the container starts. cairn is not on PyPI, so the context carries a wheel of the
running cairn (found the way :mod:`cairn.models.envs` finds it for model environments).

A registry URI (``models:/churn@champion``) is resolved when the context is written: the image
holds that version's files and says which version in its labels, so it never changes when the
alias moves. The Dockerfile installs requirements before copying cairn and the model, so a
rebuild after a new model version reuses the (slow) dependency layer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cairn.errors import CairnError
from cairn.serving.model_source import ResolvedModel, resolve

DEFAULT_PORT = 8080
MODEL_DIR_IN_IMAGE = "/opt/ml/model"
USER_NAME = "cairn"
USER_ID = 10001
WHEEL_DIR = "dist"
WORKERS_VARIABLE = "CAIRN_SERVING_WORKERS"  # read by `cairn models serve --workers`
DOCKERFILE = "Dockerfile"
REQUIREMENTS = "requirements.txt"
# Only what the Dockerfile copies goes to the engine, whatever else OUTPUT_DIR holds.
DOCKERIGNORE = "*\n!model\n!requirements.txt\n!dist\n**/__pycache__\n**/*.pyc\n"
# Written or replaced by a build context; nothing else in OUTPUT_DIR is touched.
CONTEXT_ENTRIES = ("Dockerfile", ".dockerignore", REQUIREMENTS, "model", WHEEL_DIR)

Log = Callable[[str], None]


@dataclass
class BuildContext:
    path: Path
    base_image: str
    port: int
    source: ResolvedModel
    requirements: list[str]
    wheel: Path
    labels: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def dockerfile(self) -> Path:
        return self.path / DOCKERFILE


# ----------------------------------------------------------------------------- pieces


def entrypoint_argv(port: int = DEFAULT_PORT) -> list[str]:
    """The image's ENTRYPOINT: the scoring server on the copied model, in the image's Python."""
    return [
        "cairn",
        "models",
        "serve",
        "-m",
        MODEL_DIR_IN_IMAGE,
        "--host",
        "0.0.0.0",
        "--port",
        str(port),
        "--env-manager",
        "local",
    ]


def default_base_image(python_version: str | None) -> str:
    """``python:3.X-slim`` for the model's Python minor version (the running one if unknown)."""
    version = python_version or ".".join(map(str, sys.version_info[:2]))
    match = re.fullmatch(r"\s*(\d+)\.(\d+)(\.\d+)?\S*\s*", version)
    if not match:
        raise CairnError.invalid(
            f"The model's python_env.yaml names Python {version!r}, which is not a version "
            "like 3.11.7; pass --base-image."
        )
    return f"python:{match.group(1)}.{match.group(2)}-slim"


def docker_build_argv(image_name: str, context_dir: Path, docker: str = "docker") -> list[str]:
    """The ``docker build`` command line for a context written by :func:`write_build_context`."""
    return [docker, "build", "-t", image_name, str(context_dir)]


# A Docker image reference: [registry[:port]/]path[:tag][@digest] (distribution's grammar).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?/)"
_REFERENCE = re.compile(
    rf"{_DOMAIN}?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?",
    re.ASCII,
)


def check_image_name(name: str) -> str:
    """Refuse what ``docker build -t`` would refuse, before any work is done."""
    if len(name) > 255 or not _REFERENCE.fullmatch(name):
        raise CairnError.invalid(
            f"{name!r} is not a Docker image name: use lowercase letters, digits and . _ - "
            "separators, an optional registry host and an optional :tag (e.g. "
            "registry.example.com/team/churn:3)."
        )
    return name


def _check_base_image(image: str) -> str:
    if not image or any(c.isspace() for c in image):
        raise CairnError.invalid(f"--base-image {image!r}: an image name has no spaces.")
    return image


def _quoted(value: str) -> str:
    """A double-quoted Dockerfile string (LABEL values)."""
    return json.dumps(value, ensure_ascii=False)


def render_dockerfile(
    base_image: str,
    port: int,
    build_dependencies: list[str],
    wheel_name: str,
    labels: dict[str, str],
) -> str:
    """The Dockerfile text for a context holding model/, requirements.txt and dist/<wheel>."""
    import shlex

    health = (
        f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/ping', timeout=4)"
    )
    label_lines = " \\\n      ".join(f"{_quoted(k)}={_quoted(v)}" for k, v in labels.items())
    build_tools = " ".join(shlex.quote(d) for d in build_dependencies)
    upgrade = f"python -m pip install {build_tools} && " if build_tools else ""
    wheel = f"/tmp/cairn-dist/{wheel_name}"
    return f"""\
# Generated by cairn models generate-dockerfile: the model's scoring server.
FROM {base_image}

LABEL {label_lines}

# CAIRN_SERVING_WORKERS: server processes (docker run -e CAIRN_SERVING_WORKERS=4 ...).
ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    {WORKERS_VARIABLE}=1

RUN useradd --uid {USER_ID} --create-home --shell /usr/sbin/nologin {USER_NAME}

# The model's captured requirements first: this layer is reused while they stay the same.
COPY requirements.txt /tmp/requirements.txt
RUN {upgrade}python -m pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt

# cairn is not on PyPI: the wheel of the cairn that wrote this file.
COPY {WHEEL_DIR}/{wheel_name} {wheel}
RUN python -m pip install {wheel} && rm -rf /tmp/cairn-dist

# Owned by root: the server's user can read the model, not change it.
COPY model {MODEL_DIR_IN_IMAGE}

USER {USER_ID}
WORKDIR /home/{USER_NAME}
EXPOSE {port}
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \\
    CMD {json.dumps(["python", "-c", health])}
# Arguments after the image name are added: docker run IMAGE --timeout 30 --max-batch-size 64
ENTRYPOINT {json.dumps(entrypoint_argv(port))}
"""


# ----------------------------------------------------------------------------- the model


def _copy_model(source: ResolvedModel, dest: Path, tracking_uri: str | None, scratch: Path) -> None:
    from cairn.models.mlmodel import Model
    from cairn.models.uri import local_model_path

    local = Path(local_model_path(source.load_uri, scratch / "download", tracking_uri))
    if not local.is_dir():
        raise CairnError.invalid(f"{source.uri!r} is a file, not a saved model directory.")
    Model.load(local)  # a clear error for a directory that is not a model
    shutil.copytree(local, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _environment(model_dir: Path, log: Log) -> tuple[str | None, list[str], list[str]]:
    """(Python version, build dependencies, requirements without cairn) of a copied model."""
    from cairn.models.environment import PYTHON_ENV_FILE, read_requirements, requirement_key
    from cairn.models.envs import read_env_spec

    if (model_dir / PYTHON_ENV_FILE).is_file():
        spec = read_env_spec(model_dir)
        return spec.python, spec.build_dependencies, spec.requirements
    requirements = [r for r in read_requirements(model_dir) if requirement_key(r) != "cairn"]
    log(
        f"The model has no {PYTHON_ENV_FILE}: its Python version is unknown, so the image uses "
        f"this Python's ({'.'.join(map(str, sys.version_info[:2]))}); pass --base-image to "
        "choose."
    )
    if not requirements:
        log("The model lists no requirements: only cairn and its dependencies are installed.")
    return None, [], requirements


def _cairn_wheel(
    dest_dir: Path, scratch: Path, log: Log, given: str | os.PathLike[str] | None
) -> Path:
    """A wheel of the running cairn (or the one ``given``) copied into ``dest_dir``."""
    from cairn.models.envs import build_cairn_wheel, cairn_install_args

    if given is not None:
        wheel = Path(given)
        if not (wheel.is_file() and wheel.name.startswith("cairn-") and wheel.suffix == ".whl"):
            raise CairnError.invalid(f"{str(given)!r} is not a cairn wheel (cairn-*.whl).")
    else:
        args = cairn_install_args(scratch, log=lambda message: None)  # its notes say "installing"
        if args[0] == "-e":  # an editable checkout: pip cannot install that inside an image
            wheel = build_cairn_wheel(Path(args[1]), scratch, log)
        else:
            log(f"Using the cairn wheel {args[0]} (cairn is not on PyPI).")
            wheel = Path(args[0])
    dest_dir.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(wheel, dest_dir / wheel.name))


# ----------------------------------------------------------------------------- the context


def _check_output(output_dir: Path, force: bool, model_uri: str) -> None:
    """Refuse a file, a directory overlapping the model, or (without force) a non-empty one."""
    if output_dir.exists() and not output_dir.is_dir():
        raise CairnError.invalid(f"{str(output_dir)!r} exists and is not a directory.")
    from cairn.models.uri import is_local

    if is_local(model_uri):
        from cairn.store.artifacts.local import local_path_from_uri

        model = local_path_from_uri(model_uri).resolve()
        out = output_dir.resolve()
        if model.is_relative_to(out) or out.is_relative_to(model):
            raise CairnError.invalid(
                f"The output directory {str(output_dir)!r} and the model {model_uri!r} overlap: "
                "write the build context somewhere else."
            )
    if not force and output_dir.is_dir() and any(output_dir.iterdir()):
        raise CairnError.invalid(
            f"The output directory {str(output_dir)!r} is not empty; pass --force to replace "
            f"its build context ({', '.join(CONTEXT_ENTRIES)})."
        )


def _clear_output(output_dir: Path) -> None:
    """Remove an earlier build context's entries (only those: other files stay, ignored)."""
    for name in CONTEXT_ENTRIES:
        entry = output_dir / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        elif entry.exists() or entry.is_symlink():
            entry.unlink()


def _readable(root: Path) -> None:
    """Make the staged files readable by everyone: COPY keeps modes, and the server in the
    image runs as a user other than the files' owner."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        path.chmod(mode | (0o555 if path.is_dir() else 0o444))


def write_build_context(
    model_uri: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    base_image: str | None = None,
    port: int = DEFAULT_PORT,
    force: bool = False,
    tracking_uri: str | None = None,
    cairn_wheel: str | os.PathLike[str] | None = None,
    log: Log = lambda message: None,
) -> BuildContext:
    """Write Dockerfile, .dockerignore, requirements.txt, model/ and dist/<cairn wheel>.

    ``cairn_wheel`` is a cairn wheel to use instead of the running cairn's (built anew from
    its source tree when it was installed editable).

    Everything that can fail (resolving and downloading the model, reading its environment,
    building the wheel) happens in a scratch directory first, so a failure leaves
    ``output_dir`` as it was.
    """
    from cairn.version import __version__

    model_uri = os.fspath(model_uri)
    if not 1 <= port <= 65535:
        raise CairnError.invalid(f"--port {port}: a port is between 1 and 65535.")
    if base_image is not None:
        _check_base_image(base_image)
    out = Path(output_dir)
    _check_output(out, force, model_uri)
    notes: list[str] = []

    def record(message: str) -> None:
        notes.append(message)
        log(message)

    with tempfile.TemporaryDirectory(prefix="cairn-docker-") as tmp:
        scratch = Path(tmp)
        source = resolve(model_uri, tracking_uri)
        staged = scratch / "context"
        _copy_model(source, staged / "model", tracking_uri, scratch)
        python, build_dependencies, requirements = _environment(staged / "model", record)
        image = base_image or default_base_image(python)
        wheel = _cairn_wheel(staged / WHEEL_DIR, scratch, record, cairn_wheel)
        labels = _labels(source, staged / "model", python, __version__)
        (staged / REQUIREMENTS).write_text("".join(f"{r}\n" for r in requirements), "utf-8")
        (staged / ".dockerignore").write_text(DOCKERIGNORE, encoding="utf-8")
        dockerfile = render_dockerfile(image, port, build_dependencies, wheel.name, labels)
        (staged / DOCKERFILE).write_text(dockerfile, encoding="utf-8")
        _readable(staged)
        _check_output(out, force, model_uri)  # again: something may have appeared meanwhile
        _clear_output(out)
        out.mkdir(parents=True, exist_ok=True)
        for name in CONTEXT_ENTRIES:
            shutil.move(str(staged / name), str(out / name))
    return BuildContext(
        out, image, port, source, requirements, out / WHEEL_DIR / wheel.name, labels, notes
    )


def _labels(
    source: ResolvedModel, model_dir: Path, python: str | None, cairn: str
) -> dict[str, str]:
    from cairn.models.mlmodel import Model

    meta = Model.load(model_dir)
    labels = {"cairn.model.uri": source.uri, "cairn.model.source": source.load_uri}
    if source.name is not None and source.version is not None:
        labels["cairn.model.name"] = source.name
        labels["cairn.model.version"] = source.version
    if meta.model_id:
        labels["cairn.model.id"] = meta.model_id
    if meta.run_id:
        labels["cairn.model.run_id"] = meta.run_id
    if python:
        labels["cairn.model.python"] = python
    labels["cairn.version"] = cairn
    return labels


# ----------------------------------------------------------------------------- docker


def check_docker_engine(docker: str = "docker") -> None:
    """Fail with a clear message unless a Docker CLI and a reachable engine are present."""
    from cairn import docker_engine

    docker_engine.check_docker_engine(
        "Write the build context with `cairn models generate-dockerfile -m MODEL_URI -d DIR` "
        "and run `docker build -t IMAGE DIR` on a machine with Docker.",
        docker,
    )


def build_image(
    model_uri: str,
    image_name: str,
    *,
    base_image: str | None = None,
    port: int = DEFAULT_PORT,
    tracking_uri: str | None = None,
    cairn_wheel: str | os.PathLike[str] | None = None,
    docker: str = "docker",
    log: Log = lambda message: None,
) -> BuildContext:
    """Write the build context to a temporary directory and ``docker build`` it.

    The engine is checked first, before the model is downloaded or the wheel built. docker's
    own output goes to this process's stdout and stderr.
    """
    check_image_name(image_name)
    check_docker_engine(docker)
    with tempfile.TemporaryDirectory(prefix="cairn-image-") as tmp:
        context = write_build_context(
            model_uri,
            Path(tmp) / "context",
            base_image=base_image,
            port=port,
            tracking_uri=tracking_uri,
            cairn_wheel=cairn_wheel,
            log=log,
        )
        argv = docker_build_argv(image_name, context.path, docker)
        log(f"Running: {' '.join(argv)}")
        code = subprocess.run(argv).returncode
        if code != 0:
            raise CairnError(f"docker build failed (exit code {code}).", "INTERNAL_ERROR")
    return context
