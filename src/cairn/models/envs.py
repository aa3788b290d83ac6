"""Build (or reuse) a virtualenv in which a saved model loads, from its ``python_env.yaml``.

The environment is keyed by a hash of what decides its contents (Python version, build
dependencies, requirements, the cairn that loads the model), so models with the same
specification share one environment under ``~/.cache/cairn/envs``. An environment counts as
built only once a marker file is written at the end; a half-built one is removed and rebuilt.

cairn itself is not on PyPI: a ``cairn`` line in the requirements is replaced by the running
cairn, installed from the source directory or wheel it was installed from. Interpreters are
never downloaded (uv is told not to): the model's Python version is matched from PATH or
``--python``, otherwise a warning says which version is used instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata as metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from cairn.errors import CairnError
from cairn.models.environment import PYTHON_ENV_FILE, requirement_key, requirement_lines
from cairn.models.mlmodel import Model, load_yaml

ENV_ROOT_VARIABLE = "CAIRN_ENV_ROOT"
READY_MARKER = ".cairn-env.json"
UV = "uv"
VIRTUALENV = "virtualenv"

Log = Callable[[str], None]


@dataclass
class EnvSpec:
    """What a model's environment is made of (``cairn`` lines removed from requirements)."""

    python: str | None
    build_dependencies: list[str]
    requirements: list[str]
    cairn_requirement: str | None = None


@dataclass
class PreparedEnv:
    path: Path
    python: Path
    reused: bool
    manager: str
    python_version: str
    notes: list[str] = field(default_factory=list)


@dataclass
class Verification:
    loaded: bool
    predicted: bool | None  # None: the model has no input example
    output: str

    @property
    def ok(self) -> bool:
        return self.loaded and self.predicted is not False

    @property
    def error(self) -> str:
        """The last line of the failure (the exception), for a one-line report."""
        lines = [line for line in self.output.splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


# ----------------------------------------------------------------------------- the spec


def read_env_spec(model_dir: str | os.PathLike[str]) -> EnvSpec:
    """The model's python_env.yaml with its requirement files read; clear errors if absent."""
    root = Path(model_dir)
    file = root / PYTHON_ENV_FILE
    if not file.is_file():
        raise CairnError.invalid(
            f"The model at {str(root)!r} has no {PYTHON_ENV_FILE}: it was saved without its "
            "Python environment, so there is nothing to build. Re-save it with cairn or mlflow."
        )
    spec = read_python_env(file, owner=f"The model at {str(root)!r}")
    data = load_yaml(file.read_text(encoding="utf-8"), str(file))
    if not (isinstance(data, dict) and data.get("dependencies")):
        raise CairnError.invalid(
            f"{file} lists no dependencies (no requirements file): the model's packages are "
            "unknown, so no environment can be built for it."
        )
    return spec


def read_python_env(file: str | os.PathLike[str], *, owner: str | None = None) -> EnvSpec:
    """Any python_env.yaml (MLflow's format: ``python``, ``build_dependencies``,
    ``dependencies`` with ``-r file`` lines relative to the yaml's directory) as an EnvSpec.
    ``owner`` names what the file belongs to in error messages."""
    path = Path(file)
    root = path.parent
    owner = owner or str(path)
    if not path.is_file():
        raise CairnError.invalid(f"{owner}: {str(path)!r} does not exist.")
    data = load_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
    if not isinstance(data, dict):
        raise CairnError.invalid(f"{path} must be a mapping (python, build_dependencies, ...).")
    requirements: list[str] = []
    for item in data.get("dependencies") or []:
        line = str(item).strip()
        if line.startswith("-r"):
            name = line[2:].strip()
            req_file = root / name
            if not req_file.is_file():
                raise CairnError.invalid(
                    f"{owner} lists requirements in {name!r}, which is missing from {str(root)!r}."
                )
            requirements.extend(requirement_lines(req_file))
        elif line:
            requirements.append(line)
    return spec_from_requirements(
        requirements,
        python=data.get("python"),
        build_dependencies=data.get("build_dependencies") or [],
    )


def spec_from_requirements(
    requirements: list[str], *, python: object = None, build_dependencies: list[object] = ()
) -> EnvSpec:
    """An EnvSpec from requirement lines, ``cairn`` set apart (it is not on PyPI)."""
    cairn_lines = [r for r in requirements if requirement_key(r) == "cairn"]
    return EnvSpec(
        python=str(python) if python is not None else None,
        build_dependencies=[str(d) for d in build_dependencies],
        requirements=[r for r in requirements if requirement_key(r) != "cairn"],
        cairn_requirement=cairn_lines[0] if cairn_lines else None,
    )


def env_key(
    spec: EnvSpec, python_version: str, cairn_version: str, manager: str | None = None
) -> str:
    """The cache key: same requirements (in any order), build tools, Python, cairn and tool
    -> same environment. The tool counts: a uv environment has no pip, a venv one has."""
    payload = {
        "manager": manager,
        "python": spec.python,
        "interpreter": python_version,
        "build": sorted(d.strip() for d in spec.build_dependencies),
        "requirements": sorted(r.strip() for r in spec.requirements),
        "cairn": cairn_version,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def default_env_root() -> Path:
    configured = os.environ.get(ENV_ROOT_VARIABLE)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cairn" / "envs"


# ----------------------------------------------------------------------------- tools


def run_step(args: list[str], what: str, env: dict[str, str] | None = None) -> str:
    """Run a build step; a failure becomes a CairnError with the tail of its output."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, env=env)
    except OSError as exc:
        raise CairnError(f"{what} failed: cannot run {args[0]!r}: {exc}", "INTERNAL_ERROR") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise CairnError(f"{what} failed (exit code {done.returncode}):\n{tail}", "INTERNAL_ERROR")
    return done.stdout


def interpreter_version(python: str) -> str:
    out = run_step(
        [python, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
        f"Checking the interpreter {python}",
    )
    return out.strip()


def _minor(version: str | None) -> str:
    return ".".join((version or "").split(".")[:2])


def choose_interpreter(
    spec: EnvSpec, python: str | None, log: Log, *, wanted_by: str = "the model was saved with"
) -> tuple[str, str]:
    """(interpreter path, its version): ``--python``, else one on PATH matching the wanted
    Python, else the running one (with a warning when the versions differ)."""
    if python:
        resolved = shutil.which(python) or python
        if not Path(resolved).exists():
            raise CairnError.invalid(f"--python {python!r}: no such interpreter.")
        version = interpreter_version(resolved)
    else:
        resolved, version = sys.executable, ".".join(map(str, sys.version_info[:3]))
        wanted = _minor(spec.python)
        if wanted and wanted != _minor(version):
            found = shutil.which(f"python{wanted}")
            if found:
                with contextlib.suppress(CairnError):  # a shim (pyenv) with nothing behind it
                    found_version = interpreter_version(found)
                    if _minor(found_version) == wanted:
                        resolved, version = found, found_version
    if spec.python and _minor(spec.python) != _minor(version):
        log(
            f"Warning: {wanted_by} Python {spec.python}; the environment uses "
            f"Python {version} ({resolved}). Pass --python with a Python {_minor(spec.python)} "
            "interpreter to match (cairn does not download interpreters)."
        )
    return resolved, version


def cairn_install_args(work_dir: Path, log: Log) -> list[str]:
    """pip arguments that install the running cairn: its editable source, its local source
    directory or wheel, or a wheel built from the source tree it is imported from."""
    try:
        dist = metadata.distribution("cairn")
        direct = json.loads(dist.read_text("direct_url.json") or "null")
    except (metadata.PackageNotFoundError, ValueError):
        direct = None
    if isinstance(direct, dict) and str(direct.get("url", "")).startswith("file:"):
        local = Path(unquote(urlparse(direct["url"]).path))
        if local.exists():
            if local.is_dir() and (direct.get("dir_info") or {}).get("editable"):
                log(f"Installing cairn (not on PyPI) from its editable source {local}.")
                return ["-e", str(local)]
            if local.is_file():
                log(
                    f"Installing cairn (not on PyPI) from the wheel it was installed from: {local}."
                )
                return [str(local)]
            source: Path | None = local
        else:
            source = None
    else:
        source = None
    if source is None:
        candidate = Path(__file__).resolve().parents[3]  # <source>/src/cairn/models/envs.py
        if (candidate / "pyproject.toml").is_file() and (candidate / "src" / "cairn").is_dir():
            source = candidate
    if source is None:
        raise CairnError.invalid(
            "The environment needs cairn, which is not on PyPI, and the running cairn was not "
            "installed from a source directory or wheel cairn can find. Install cairn from a "
            "checkout (pip install -e /path/to/cairn) or a wheel and run prepare-env again."
        )
    return [str(build_cairn_wheel(source, work_dir, log))]


def build_cairn_wheel(source: Path, work_dir: Path, log: Log) -> Path:
    """A wheel of the cairn source tree ``source``, built under ``work_dir`` (pip, no deps)."""
    log(f"Building a cairn wheel (cairn is not on PyPI) from {source}.")
    wheels = work_dir / "cairn-wheel"
    run_step(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        f"Building a cairn wheel from {source}",
    )
    built = sorted(wheels.glob("cairn-*.whl"))
    if not built:
        raise CairnError(f"pip wheel produced no cairn wheel from {source}.", "INTERNAL_ERROR")
    return built[-1]


def _env_python(env_dir: Path) -> Path:
    if os.name == "nt":
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


@contextlib.contextmanager
def build_lock(path: Path) -> Iterator[None]:
    """One build per environment at a time (two shells preparing the same model)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, builds are rare there
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ----------------------------------------------------------------------------- building


def _build(
    env_dir: Path, spec: EnvSpec, interpreter: str, manager: str, log: Log, work: Path
) -> None:
    cairn_args = cairn_install_args(work, log)
    requirements_file = env_dir / "cairn-requirements.txt"
    no_downloads = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    python = str(_env_python(env_dir))
    if manager == UV:
        run_step(
            [UV, "venv", "--quiet", "--python", interpreter, "--no-python-downloads", str(env_dir)],
            "Creating the environment with uv",
            no_downloads,
        )
        install = [UV, "pip", "install", "--quiet", "--python", python]
    else:
        run_step([interpreter, "-m", "venv", str(env_dir)], "Creating the environment with venv")
        install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    requirements_file.write_text("\n".join(spec.requirements) + "\n", encoding="utf-8")
    if spec.build_dependencies:
        log(f"Installing build dependencies: {' '.join(spec.build_dependencies)}")
        run_step(
            [*install, *spec.build_dependencies], "Installing build dependencies", no_downloads
        )
    log(f"Installing {len(spec.requirements)} requirements and cairn with {manager} ...")
    run_step(
        [*install, "-r", str(requirements_file), *cairn_args],
        "Installing the requirements",
        no_downloads,
    )


def _built_with(marker: Path) -> str | None:
    try:
        manager = json.loads(marker.read_text(encoding="utf-8")).get("manager")
    except (OSError, ValueError, AttributeError):
        return None
    return manager if isinstance(manager, str) else None


def prepare_env(
    model_dir: str | os.PathLike[str],
    *,
    env_root: str | os.PathLike[str] | None = None,
    env_manager: str | None = None,
    python: str | None = None,
    log: Log = lambda message: None,
) -> PreparedEnv:
    """Create (or reuse) the virtualenv for the model at ``model_dir``."""
    Model.load(model_dir)  # a clear error for a directory that is not a model
    spec = read_env_spec(model_dir)
    return prepare_env_from_spec(
        spec, env_root=env_root, env_manager=env_manager, python=python, log=log
    )


def prepare_env_from_spec(
    spec: EnvSpec,
    *,
    env_root: str | os.PathLike[str] | None = None,
    env_manager: str | None = None,
    python: str | None = None,
    log: Log = lambda message: None,
    wanted_by: str = "the model was saved with",
) -> PreparedEnv:
    """Create (or reuse) the virtualenv described by ``spec`` (a model's or a project's),
    cached under ``env_root`` by the hash of what decides its contents."""
    if env_manager is None:
        env_manager = UV if shutil.which(UV) else VIRTUALENV
    if env_manager == UV and not shutil.which(UV):
        raise CairnError.invalid("--env-manager uv: uv is not on PATH (pip install uv).")
    if env_manager not in (UV, VIRTUALENV):
        raise CairnError.invalid(f"Unknown env manager {env_manager!r}: use uv or virtualenv.")
    notes: list[str] = []

    def record(message: str) -> None:
        notes.append(message)
        log(message)

    interpreter, version = choose_interpreter(spec, python, record, wanted_by=wanted_by)
    from cairn.version import __version__

    root = Path(env_root) if env_root else default_env_root()
    env_dir = root / env_key(spec, version, __version__, env_manager)
    marker = env_dir / READY_MARKER
    with build_lock(root / f".{env_dir.name}.lock"):
        if marker.is_file():
            record(f"Reusing the cached environment {env_dir} (same specification).")
            built_with = _built_with(marker) or env_manager
            return PreparedEnv(env_dir, _env_python(env_dir), True, built_with, version, notes)
        if env_dir.exists():
            shutil.rmtree(env_dir)  # an earlier build stopped half-way
        record(f"Creating the environment {env_dir} with {env_manager} (Python {version}).")
        try:
            with tempfile.TemporaryDirectory(prefix="cairn-env-") as work:
                _build(env_dir, spec, interpreter, env_manager, record, Path(work))
        except BaseException:
            shutil.rmtree(env_dir, ignore_errors=True)
            raise
        marker.write_text(
            json.dumps(
                {
                    "python": version,
                    "manager": env_manager,
                    "requirements": spec.requirements,
                    "build_dependencies": spec.build_dependencies,
                    "cairn": __version__,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    return PreparedEnv(env_dir, _env_python(env_dir), False, env_manager, version, notes)


# ----------------------------------------------------------------------------- verifying

# Runs inside the new environment: load through cairn.pyfunc, predict on the input example.
_VERIFY = r"""
import sys, traceback
path = sys.argv[1]
try:
    from cairn.pyfunc import load_model
    model = load_model(path)
except Exception:
    traceback.print_exc()
    sys.exit(3)
print("loaded:", model)
try:
    example = model.metadata.load_input_example(path)
except Exception:
    example = None
if example is None:
    print("no input example")
    sys.exit(0)
try:
    result = model.predict(example)
except Exception:
    traceback.print_exc()
    sys.exit(4)
print("prediction:", repr(result)[:2000])
"""


def verify_env(env: PreparedEnv, model_dir: str | os.PathLike[str]) -> Verification:
    """Load the model with the environment's Python and predict on its input example."""
    done = subprocess.run(
        [str(env.python), "-c", _VERIFY, str(Path(model_dir).resolve())],
        capture_output=True,
        text=True,
    )
    text = (done.stdout + done.stderr).strip()
    if done.returncode == 0:
        predicted = None if "no input example" in done.stdout.splitlines() else True
        return Verification(True, predicted, text)
    if done.returncode == 4:
        return Verification(True, False, text)
    return Verification(False, None, text)


def describe_prediction(text: str) -> str:
    """The prediction line of a successful verification (for a one-line report)."""
    match = re.search(r"^prediction: (.*)$", text, re.MULTILINE | re.DOTALL)
    return match.group(1).strip() if match else ""
