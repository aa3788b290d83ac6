"""The ``MLproject`` file: what a project is called, how to run each entry point, in which
environment.

The format is MLflow's: ``name``, one of ``python_env`` / ``conda_env`` / ``docker_env``, and
``entry_points`` mapping a name to ``parameters`` (``name: type`` or ``name: {type, default}``)
and a ``command`` template with ``{param}`` placeholders. A directory without an ``MLproject``
runs its ``.py`` and ``.sh`` files by name, every parameter passed as ``--key value``.

Parameter values reach a shell command, so every value is quoted here (:func:`shlex.quote`):
``-P 'alpha=1; rm -rf ~'`` is one argument, never a second command.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cairn.errors import CairnError

MLPROJECT_FILE = "MLproject"
DEFAULT_ENTRY_POINT = "main"
PARAMETER_TYPES = ("float", "int", "string", "path", "uri")
_TYPE_ALIASES = {"double": "float", "integer": "int", "str": "string", "number": "float"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Parameter:
    """One declared parameter of an entry point."""

    name: str
    type: str = "string"
    default: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None

    def convert(self, value: str, *, entry_point: str, base_dir: Path) -> str:
        """The value as it reaches the command: checked against the type; relative local
        paths made absolute (the command runs in the project directory, not where the user
        typed them)."""
        if self.type == "float":
            try:
                number = float(value)
            except ValueError:
                raise self._wrong(value, "a number", entry_point) from None
            if not math.isfinite(number) and value.strip().lower() not in ("inf", "-inf", "nan"):
                raise self._wrong(value, "a number", entry_point)
            return value.strip()
        if self.type == "int":
            try:
                int(value.strip())
            except ValueError:
                raise self._wrong(value, "an integer", entry_point) from None
            return value.strip()
        if self.type in ("path", "uri"):
            if not value.strip():
                raise self._wrong(value, f"a {self.type}", entry_point)
            if _is_uri(value):
                return value
            return str((base_dir / os.path.expanduser(value)).resolve())
        return value

    def _wrong(self, value: str, expected: str, entry_point: str) -> CairnError:
        return CairnError.invalid(
            f"Parameter {self.name!r} of entry point {entry_point!r} must be {expected} "
            f"(type {self.type}), got {value!r}."
        )


def _is_uri(value: str) -> bool:
    parsed = urlparse(value)
    return len(parsed.scheme) > 1 and (bool(parsed.netloc) or ":/" in value)


@dataclass(frozen=True)
class EntryPoint:
    """A named command with its parameters."""

    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)

    def resolve_parameters(
        self,
        given: dict[str, Any],
        *,
        base_dir: Path | None = None,
        project_dir: Path | None = None,
    ) -> tuple[dict[str, str], dict[str, str]]:
        """(declared, extra): every declared parameter's value (given or default), checked and
        converted; and the undeclared ones, passed through as ``--key value``.

        A relative path the user gives is taken from ``base_dir`` (where they typed it); a
        relative default path from ``project_dir`` (where the MLproject's author meant it)."""
        base = base_dir or Path.cwd()
        values = {str(k): _as_text(v) for k, v in given.items()}
        missing = [p.name for p in self.parameters.values() if p.required and p.name not in values]
        if missing:
            raise CairnError.invalid(
                f"Entry point {self.name!r} needs parameter(s) {', '.join(map(repr, missing))}: "
                f"pass them with " + " ".join(f"-P {name}=..." for name in missing) + "."
            )
        declared: dict[str, str] = {}
        for name, parameter in self.parameters.items():
            if name in values:
                value, origin = values[name], base
            else:
                assert parameter.default is not None
                value, origin = parameter.default, project_dir or base
            declared[name] = parameter.convert(value, entry_point=self.name, base_dir=origin)
        extra = {k: v for k, v in values.items() if k not in self.parameters}
        for key in extra:
            if not _NAME.match(key):
                raise CairnError.invalid(
                    f"Parameter name {key!r} cannot be passed to a command: use letters, digits, "
                    "'_', '-' and '.', starting with a letter or '_'."
                )
        return declared, extra

    def command_line(self, declared: dict[str, str], extra: dict[str, str]) -> str:
        """The shell command: placeholders filled with quoted values, extras appended."""
        quoted = {k: shlex.quote(v) for k, v in declared.items()}
        command = self.command.format_map(quoted)
        for key, value in extra.items():
            command += f" --{key} {shlex.quote(value)}"
        return command


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


@dataclass(frozen=True)
class Environment:
    """What the project's ``MLproject`` asks for: ``kind`` is python, conda, docker or None
    (nothing declared: the command runs where cairn runs unless told otherwise)."""

    kind: str | None = None
    file: Path | None = None  # python_env.yaml / conda.yaml, absolute
    docker: dict[str, Any] | None = None  # docker_env: image, volumes, environment, run_params


@dataclass(frozen=True)
class Project:
    """A loaded project: its directory, name, entry points and environment."""

    directory: Path
    name: str
    entry_points: dict[str, EntryPoint]
    environment: Environment = field(default_factory=Environment)
    has_mlproject: bool = True

    def entry_point(self, name: str) -> EntryPoint:
        """The named entry point; a ``.py``/``.sh`` file of the project runs by convention."""
        if name in self.entry_points:
            return self.entry_points[name]
        script = self.directory / name
        if name.endswith((".py", ".sh")) and script.is_file() and _inside(script, self.directory):
            runner = "python" if name.endswith(".py") else "bash"
            return EntryPoint(name, f"{runner} {shlex.quote(name)}")
        choices = sorted(self.entry_points) + convention_entry_points(self.directory)
        where = "its MLproject" if self.has_mlproject else "it (no MLproject file)"
        raise CairnError.invalid(
            f"Project {self.name!r} has no entry point {name!r}. Entry points in {where}: "
            + (", ".join(choices) if choices else "none")
            + "."
        )


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def convention_entry_points(directory: Path) -> list[str]:
    """The ``.py`` and ``.sh`` files at the top of a project, runnable by name."""
    return sorted(p.name for p in directory.iterdir() if p.suffix in (".py", ".sh") and p.is_file())


def load_project(directory: str | os.PathLike[str]) -> Project:
    """Read ``directory/MLproject`` (or take the directory's scripts by convention)."""
    root = Path(directory).resolve()
    if not root.is_dir():
        raise CairnError.invalid(f"Project directory {str(root)!r} does not exist.")
    file = _find_mlproject(root)
    if file is None:
        return Project(root, root.name, {}, Environment(), has_mlproject=False)
    import yaml

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise CairnError.invalid(f"{file} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise CairnError.invalid(f"{file} must be a mapping (name, entry_points, ...).")
    name = str(data.get("name") or root.name)
    environment = _environment(data, root, file)
    raw_points = data.get("entry_points") or {}
    if not isinstance(raw_points, dict):
        raise CairnError.invalid(f"{file}: entry_points must map names to commands.")
    points = {
        str(point): _entry_point(str(point), body, file) for point, body in raw_points.items()
    }
    return Project(root, name, points, environment)


def _find_mlproject(root: Path) -> Path | None:
    for candidate in root.iterdir():
        if candidate.name.lower() == MLPROJECT_FILE.lower() and candidate.is_file():
            return candidate
    return None


def _environment(data: dict[str, Any], root: Path, file: Path) -> Environment:
    declared = [key for key in ("python_env", "conda_env", "docker_env") if data.get(key)]
    if len(declared) > 1:
        raise CairnError.invalid(
            f"{file} declares {' and '.join(declared)}: a project has one environment."
        )
    if not declared:
        return Environment()
    key = declared[0]
    if key == "docker_env":
        docker = data[key]
        if not isinstance(docker, dict) or not docker.get("image"):
            raise CairnError.invalid(
                f"{file}: docker_env needs an image (docker_env: {{image: ...}})."
            )
        return Environment("docker", docker=dict(docker))
    env_file = (root / str(data[key])).resolve()
    if not env_file.is_file() or not _inside(env_file, root):
        raise CairnError.invalid(
            f"{file}: {key} names {data[key]!r}, which is not a file inside the project."
        )
    return Environment("python" if key == "python_env" else "conda", file=env_file)


def _entry_point(name: str, body: Any, file: Path) -> EntryPoint:
    if isinstance(body, str):
        body = {"command": body}
    if not isinstance(body, dict) or not isinstance(body.get("command"), str):
        raise CairnError.invalid(f"{file}: entry point {name!r} needs a command.")
    raw_params = body.get("parameters") or {}
    if not isinstance(raw_params, dict):
        raise CairnError.invalid(f"{file}: parameters of {name!r} must be a mapping.")
    parameters = {str(k): _parameter(str(k), v, name, file) for k, v in raw_params.items()}
    command = body["command"]
    _check_placeholders(command, parameters, name, file)
    return EntryPoint(name, command, parameters)


def _parameter(name: str, spec: Any, entry_point: str, file: Path) -> Parameter:
    if spec is None or isinstance(spec, str):
        spec = {"type": spec or "string"}
    if not isinstance(spec, dict):
        raise CairnError.invalid(
            f"{file}: parameter {name!r} of {entry_point!r} must be a type or {{type, default}}."
        )
    kind = str(spec.get("type") or "string").lower()
    kind = _TYPE_ALIASES.get(kind, kind)
    if kind not in PARAMETER_TYPES:
        raise CairnError.invalid(
            f"{file}: parameter {name!r} of {entry_point!r} has type {kind!r}; "
            f"use one of {', '.join(PARAMETER_TYPES)}."
        )
    default = spec.get("default")
    return Parameter(name, kind, None if default is None else _as_text(default))


def _check_placeholders(
    command: str, parameters: dict[str, Parameter], entry_point: str, file: Path
) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(command) if f is not None]
    except ValueError as error:
        raise CairnError.invalid(
            f"{file}: the command of {entry_point!r} is not a valid template ({error}); "
            "write a literal brace as {{ or }}."
        ) from None
    unknown = sorted({f for f in fields if f not in parameters})
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        raise CairnError.invalid(
            f"{file}: the command of {entry_point!r} uses {names}, which is not a declared "
            "parameter."
        )
