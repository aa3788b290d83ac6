"""Fixtures for project tests: real projects under fixtures/, copied into git repositories."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cairn.tracking.client import TrackingClient
from project_support import git

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    uri = f"sqlite:///{tmp_path / 'tracking.db'}"
    monkeypatch.setenv("CAIRN_TRACKING_URI", uri)
    monkeypatch.setenv("CAIRN_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    return uri


@pytest.fixture
def client(tracking_uri: str) -> TrackingClient:
    return TrackingClient(tracking_uri)


@pytest.fixture
def basic_project() -> Path:
    return FIXTURES / "basic_project"


@pytest.fixture
def git_repo(tmp_path: Path, basic_project: Path) -> Path:
    """A git repository holding the basic project in ``projects/basic``: commit 1 (tag v1)
    logs ``version_marker=1``, commit 2 on ``main`` logs 2; branch ``exp`` has commit 3 (3)."""
    repo = tmp_path / "repo"
    project = repo / "projects" / "basic"
    shutil.copytree(basic_project, project)
    (repo / "README.md").write_text("a repository with a project below its root\n")
    git(repo, "init", "--quiet", "--initial-branch=main")
    marker = project / "version.txt"
    for number, branch in ((1, None), (2, None), (3, "exp")):
        if branch:
            git(repo, "checkout", "--quiet", "-b", branch)
        marker.write_text(f"{number}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "--quiet", "-m", f"version {number}")
        if number == 1:
            git(repo, "tag", "v1")
    git(repo, "checkout", "--quiet", "main")
    return repo
