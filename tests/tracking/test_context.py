"""System tags: the user, the entry point and the git state of the code that started a run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from cairn.tracking.client import TrackingClient


def _git(cwd, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_script_in_a_git_repository_records_source_and_commit(tmp_path) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    script = repo / "train.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import cairn
            cairn.set_tracking_uri({str(tmp_path / "cairn.db")!r})
            with cairn.start_run() as run:
                print(run.info.run_id)
            """
        )
    )
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "train.py")
    _git(repo, "-c", "user.email=a@b.c", "-c", "user.name=A", "commit", "-qm", "first")
    _git(repo, "remote", "add", "origin", "https://example.com/team/project.git")
    commit = _git(repo, "rev-parse", "HEAD")

    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    run = TrackingClient(f"sqlite:///{tmp_path / 'cairn.db'}").get_run(out.stdout.strip())
    tags = run.data.tags
    assert tags["mlflow.source.name"] == str(script)
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags["mlflow.source.git.repoURL"] == "https://example.com/team/project.git"
    assert tags["mlflow.user"] == run.info.user_id != ""


def test_script_outside_git_has_no_git_tags(tmp_path) -> None:
    script = tmp_path / "plain.py"
    script.write_text(
        "import cairn\n"
        f"cairn.set_tracking_uri({str(tmp_path / 'c.db')!r})\n"
        "with cairn.start_run(tags={'mlflow.user': 'explicit'}) as run:\n"
        "    print(run.info.run_id)\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    run = TrackingClient(f"sqlite:///{tmp_path / 'c.db'}").get_run(out.stdout.strip())
    assert not any(k.startswith("mlflow.source.git") for k in run.data.tags)
    assert run.data.tags["mlflow.user"] == "explicit" == run.info.user_id
