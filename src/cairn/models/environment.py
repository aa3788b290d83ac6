"""A model's Python environment, captured without running the model in a subprocess.

What goes into ``requirements.txt``: the packages the flavor needs, plus the distributions of
every third-party module the process has imported (the user's code imported them to build the
model), pinned to the installed versions. cairn's own infrastructure (its database, server and
CLI libraries) and developer tools (pytest, ipython, ...) are left out. ``pip_requirements``
replaces the list; ``extra_pip_requirements`` adds to it.

Mapping modules to distributions reads every installed package's file list, which costs about
0.2 s; the map is cached per process and on disk, keyed by the modification times of the
``sys.path`` site-packages directories (installing or removing a package changes them).
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from cairn.errors import CairnError
from cairn.models.mlmodel import dump_yaml

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"

# Imported by tools around the user's code, never by a model.
_TOOLING = {
    "pytest",
    "pluggy",
    "iniconfig",
    "execnet",
    "pytest-xdist",
    "pytest-timeout",
    "ipython",
    "ipykernel",
    "jupyter-client",
    "jupyter-core",
    "traitlets",
    "debugpy",
    "pip",
    "setuptools",
    "wheel",
    "ruff",
    "mypy",
    "black",
    "coverage",
    "pytest-cov",
    "hypothesis",
    "cairn",
}
# Data libraries cairn itself depends on but models use too: never excluded as cairn's own.
_DATA_LIBRARIES = {"numpy", "pandas", "scipy", "pyarrow"}

_cache: dict[str, Any] | None = None


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _cache_key() -> str:
    parts = [sys.prefix, sys.version]
    for entry in sys.path:
        if "site-packages" not in entry and "dist-packages" not in entry:
            continue  # the working directory changes whenever a model is saved there
        try:
            parts.append(f"{entry}:{os.stat(entry or '.').st_mtime_ns}")
        except OSError:
            continue
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _cache_file(key: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cairn" / f"packages-{key}.json"


def _requirement_name(requirement: str) -> str | None:
    """The distribution a ``Requires-Dist`` line names, if it applies without extras."""
    if ";" in requirement and "extra" in requirement.split(";", 1)[1]:
        return None
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return _normalize(match.group(1)) if match else None


_requires_memo: dict[str, list[str]] = {}


def _requires(name: str) -> list[str]:
    found = _requires_memo.get(name)
    if found is None:
        try:
            lines = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            lines = []
        found = _requires_memo[name] = [n for r in lines if (n := _requirement_name(r))]
    return found


def _closure(root: str) -> set[str]:
    """``root`` and every distribution it needs, transitively (installed ones only)."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(n for n in _requires(name) if n not in seen)
    return seen


def _package_index() -> dict[str, Any]:
    """{"modules": top-level module -> distributions, "infra": cairn's own dependencies}."""
    global _cache
    key = _cache_key()
    if _cache is not None and _cache.get("key") == key:
        return _cache
    path = _cache_file(key)
    try:
        data = json.loads(path.read_text())
        if data.get("key") == key:
            _cache = data
            return data
    except (OSError, ValueError):
        pass
    data = {
        "key": key,
        "modules": {k: sorted(set(v)) for k, v in metadata.packages_distributions().items()},
        "infra": sorted(_closure("cairn") - _DATA_LIBRARIES),
    }
    _cache = data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home only costs the next process the scan
    return data


def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


_pins: dict[str, str] = {}
_pins_key: str | None = None


def pinned(distribution: str) -> str:
    """``name==version`` for an installed distribution; the bare name if it is not installed.

    A local version label is dropped (``torch==2.13.0+cpu`` pins ``torch==2.13.0``): package
    indexes do not serve local versions, so the pin could not be installed anywhere else.
    Remembered per process until the installed packages change (reading a distribution's
    metadata costs about a millisecond).
    """
    global _pins_key
    key = _package_index()["key"]
    if key != _pins_key:
        _pins.clear()
        _pins_key = key
    found = _pins.get(distribution)
    if found is None:
        version = installed_version(distribution)
        name = _display_name(distribution)
        public = version.split("+", 1)[0] if version else None
        found = _pins[distribution] = f"{name}=={public}" if public else name
    return found


def _display_name(distribution: str) -> str:
    try:
        return metadata.metadata(distribution)["Name"] or distribution
    except metadata.PackageNotFoundError:
        return distribution


def _prune(found: set[str], also_installed_by: Sequence[str]) -> set[str]:
    """Leave out what another listed distribution installs anyway (sklearn's joblib, ...);
    data libraries stay pinned since saved models depend on their exact versions."""
    keep = set()
    normalized = {_normalize(d): d for d in found}
    pulled: set[str] = set()
    for dist in [*normalized, *(_normalize(d) for d in also_installed_by)]:
        pulled |= _closure(dist) - {dist}
    for key, dist in normalized.items():
        if key not in pulled or key in _DATA_LIBRARIES:
            keep.add(dist)
    return keep


def imported_distributions() -> set[str]:
    """Distributions of the third-party modules this process has imported."""
    index = _package_index()
    modules: dict[str, list[str]] = index["modules"]
    infra = set(index["infra"]) | _TOOLING
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    found: set[str] = set()
    for name in list(sys.modules):
        if "." in name or name.startswith("_") or name in stdlib:
            continue
        for dist in modules.get(name, ()):
            if _normalize(dist) not in infra:
                found.add(dist)
    return found


def requirement_key(line: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    return _normalize(match.group(1)) if match else line


def requirement_lines(value: str | os.PathLike[str] | Iterable[str]) -> list[str]:
    """A list of requirement lines, or the lines of a requirements file given by path."""
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        if not path.is_file():
            raise CairnError.invalid(
                f"pip requirements must be a list of strings or a requirements file; "
                f"{str(value)!r} is not a file."
            )
        lines = path.read_text().splitlines()
    else:
        lines = list(value)
    out = []
    for line in lines:
        if not isinstance(line, str):
            raise CairnError.invalid(f"A pip requirement must be a string, not {line!r}.")
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def infer_requirements(
    flavor_packages: Sequence[str] = (),
    pip_requirements: str | os.PathLike[str] | Iterable[str] | None = None,
    extra_pip_requirements: str | os.PathLike[str] | Iterable[str] | None = None,
) -> list[str]:
    """The model's pinned requirements.

    ``flavor_packages`` are distributions the flavor needs to load the model (pinned if
    installed). ``pip_requirements`` replaces the inferred list entirely;
    ``extra_pip_requirements`` is added to it (both: lists of lines or a file path).
    """
    if pip_requirements is not None and extra_pip_requirements is not None:
        raise CairnError.invalid(
            "Pass pip_requirements (the whole list) or extra_pip_requirements (additions), "
            "not both."
        )
    if pip_requirements is not None:
        return requirement_lines(pip_requirements)
    by_key: dict[str, str] = {}
    imported = _prune(imported_distributions(), flavor_packages)
    for dist in [*flavor_packages, *sorted(imported, key=_normalize)]:
        by_key.setdefault(_normalize(dist), pinned(dist))
    if extra_pip_requirements is not None:
        for line in requirement_lines(extra_pip_requirements):
            by_key[requirement_key(line)] = line  # the user's pin wins
    flavor_keys = [_normalize(d) for d in flavor_packages]
    first = [by_key[k] for k in flavor_keys if k in by_key]
    rest = sorted(v for k, v in by_key.items() if k not in flavor_keys)
    return list(dict.fromkeys(first + rest))


def python_version() -> str:
    return ".".join(str(p) for p in sys.version_info[:3])


def write_environment(path: str | os.PathLike[str], requirements: Sequence[str]) -> dict[str, str]:
    """Write requirements.txt, python_env.yaml and conda.yaml into a model directory.

    Returns the ``env`` entry of the python_function flavor.
    """
    root = Path(path)
    (root / REQUIREMENTS_FILE).write_text("\n".join(requirements), encoding="utf-8")
    pip = installed_version("pip")
    build = [f"pip=={pip}" if pip else "pip"]
    setuptools = installed_version("setuptools")
    build.append(f"setuptools=={setuptools}" if setuptools else "setuptools")
    build.append("wheel")
    python_env = {
        "python": python_version(),
        "build_dependencies": build,
        "dependencies": [f"-r {REQUIREMENTS_FILE}"],
    }
    # Written in this key order (as MLflow does): python first reads best.
    text = "".join(
        dump_yaml({key: python_env[key]})
        for key in ("python", "build_dependencies", "dependencies")
    )
    (root / PYTHON_ENV_FILE).write_text(text, encoding="utf-8")
    conda = {
        "name": "mlflow-env",
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={python_version()}",
            f"pip<={pip}" if pip else "pip",
            {"pip": list(requirements)},
        ],
    }
    (root / CONDA_ENV_FILE).write_text(dump_yaml(conda), encoding="utf-8")
    return {"conda": CONDA_ENV_FILE, "virtualenv": PYTHON_ENV_FILE}


def read_requirements(path: str | os.PathLike[str]) -> list[str]:
    """The requirement lines of a saved model (empty if it has no requirements.txt)."""
    file = Path(path) / REQUIREMENTS_FILE
    return requirement_lines(file) if file.is_file() else []
