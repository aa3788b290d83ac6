"""System tags captured when a run starts: who ran what, from which file and git commit."""

from __future__ import annotations

import functools
import getpass
import os
import subprocess
import sys

USER = "mlflow.user"
SOURCE_NAME = "mlflow.source.name"
SOURCE_TYPE = "mlflow.source.type"
SOURCE_TYPE_PROJECT = "PROJECT"  # runs started by `cairn run` / `mlflow run`
GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
GIT_REPO_URL = "mlflow.source.git.repoURL"
PARENT_RUN_ID = "mlflow.parentRunId"
NOTE = "mlflow.note.content"


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _entry_point() -> tuple[str, str]:
    main = sys.modules.get("__main__")
    if main is not None and hasattr(main, "__file__") and main.__file__:
        return os.path.abspath(main.__file__), "LOCAL"
    if "ipykernel" in sys.modules:
        return "notebook", "NOTEBOOK"
    return (sys.argv[0] or "<interactive>"), "LOCAL"


@functools.cache
def _git_info(directory: str) -> dict[str, str]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", directory, *args],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() or None if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {}
    tags = {GIT_COMMIT: commit}
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    if branch and branch != "HEAD":
        tags[GIT_BRANCH] = branch
    url = git("config", "--get", "remote.origin.url")
    if url:
        tags[GIT_REPO_URL] = url
    return tags


def system_tags() -> dict[str, str]:
    """Tags every new run gets unless the caller set them: user, entry point, git state."""
    source, source_type = _entry_point()
    tags = {USER: current_user(), SOURCE_NAME: source, SOURCE_TYPE: source_type}
    directory = (
        os.path.dirname(source) if source_type == "LOCAL" and os.path.isfile(source) else "."
    )
    tags.update(_git_info(os.path.abspath(directory)))
    return tags
