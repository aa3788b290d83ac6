"""``cairn init``: write a starter project from one of the bundled templates.

A template is a directory under ``templates/`` that is itself a runnable project (its scripts
are linted and run by the tests as they are). Copying is byte for byte, except for the few
files that name the project or its Python: ``{{ name }}`` and ``{{ python_version }}`` in
those are filled in. Existing files are never overwritten unless asked, and then only the
files the template writes.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from cairn.errors import CairnError

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_TEMPLATE = "classification"
# Files whose text names the project or its Python; every other file is copied as it is.
RENDERED_FILES = ("MLproject", "README.md", "python_env.yaml")
_SKIPPED_PARTS = ("__pycache__", ".ipynb_checkpoints")
# A name that reads well in YAML, Markdown and a shell: no quotes, colons or newlines.
_NAME = re.compile(r"^\w[\w .+\-]*$")


@dataclass(frozen=True)
class InitResult:
    """What ``init_project`` wrote: where, under which name, from which template."""

    directory: Path
    name: str
    template: str
    files: tuple[str, ...]  # relative POSIX paths, sorted
    overwritten: tuple[str, ...] = ()


def template_names() -> list[str]:
    """The bundled templates, by name."""
    return sorted(
        p.name for p in TEMPLATES_DIR.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
    )


def template_files(template: str) -> list[str]:
    """The relative paths (POSIX) a template writes, sorted."""
    root = _template_dir(template)
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file()
        and not any(part in _SKIPPED_PARTS for part in path.relative_to(root).parts)
        and path.suffix != ".pyc"
    )


def init_project(
    directory: str | os.PathLike[str] = ".",
    *,
    template: str = DEFAULT_TEMPLATE,
    name: str | None = None,
    force: bool = False,
) -> InitResult:
    """Write the template's files into ``directory`` (created if missing).

    Refuses, before writing anything, when any of those files exists already, unless ``force``;
    files of the directory that the template does not write are never touched.
    """
    source = _template_dir(template)
    target = Path(directory).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise CairnError.invalid(f"{target} is a file; give a directory to create the project in.")
    project_name = _project_name(name, target)
    files = template_files(template)
    _check_blocked(target, files)
    clashes = [rel for rel in files if (target / rel).exists()]
    if clashes and not force:
        raise CairnError.invalid(
            f"{target} already has {len(clashes)} file(s) the {template} template would write: "
            f"{', '.join(clashes)}. Pass --force to overwrite them, or choose another directory."
        )
    values = {
        "name": project_name,
        "python_version": f"{sys.version_info[0]}.{sys.version_info[1]}",
    }
    for rel in files:
        destination = target / rel
        destination.parent.mkdir(parents=True, exist_ok=True)
        content = (source / rel).read_bytes()
        if rel in RENDERED_FILES:
            content = _render(content.decode("utf-8"), values).encode("utf-8")
        destination.write_bytes(content)
    return InitResult(target, project_name, template, tuple(files), tuple(clashes))


def _template_dir(template: str) -> Path:
    choices = template_names()
    if template not in choices:
        raise CairnError.invalid(
            f"Unknown template {template!r}: choose one of {', '.join(choices)} (--template)."
        )
    return TEMPLATES_DIR / template


def _project_name(name: str | None, target: Path) -> str:
    chosen = (name if name is not None else target.name).strip()
    if _NAME.fullmatch(chosen):
        return chosen
    rule = "letters, digits, spaces and '_', '-', '.', '+', starting with a letter or digit"
    if name is None:
        raise CairnError.invalid(
            f"The directory name {target.name!r} cannot be the project name (use {rule}): "
            "pass --name NAME."
        )
    raise CairnError.invalid(f"{name!r} cannot be a project name: use {rule}.")


def _check_blocked(target: Path, files: list[str]) -> None:
    """A file where the template needs a directory, or the reverse, cannot be overwritten."""
    for rel in files:
        path = target / rel
        if path.is_dir():
            raise CairnError.invalid(
                f"{path} is a directory, but the template writes a file there; move it away."
            )
        for parent in path.relative_to(target).parents:
            if (
                parent != Path(".")
                and (target / parent).exists()
                and not (target / parent).is_dir()
            ):
                raise CairnError.invalid(
                    f"{target / parent} is a file, but the template writes the directory "
                    f"{parent.as_posix()}/ there; move it away."
                )


def _render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{ " + key + " }}", value)
    return text
