"""Fetching projects: directories in place, git repositories at a version, archives."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from cairn.errors import CairnError
from cairn.projects.sources import fetch, split_subdirectory
from project_support import git


def test_a_directory_runs_in_place_without_git(basic_project: Path, tmp_path: Path) -> None:
    copy = tmp_path / "plain"
    shutil.copytree(basic_project, copy)
    with fetch(str(copy)) as fetched:
        assert fetched.directory == copy.resolve()
        assert fetched.kind == "local"
        assert fetched.temp_dir is None
        assert fetched.git_commit is None


def test_a_directory_inside_git_records_the_commit_and_dirtiness(git_repo: Path) -> None:
    project = git_repo / "projects" / "basic"
    head = git(git_repo, "rev-parse", "HEAD")
    with fetch(str(project)) as fetched:
        assert fetched.directory == project.resolve()
        assert fetched.git_commit == head
        assert fetched.git_branch == "main"
        assert not fetched.git_dirty
    (project / "train.py").write_text("# edited\n")
    with fetch(str(project)) as fetched:
        assert fetched.git_dirty


@pytest.mark.parametrize(
    ("version", "marker"), [(None, "2"), ("v1", "1"), ("exp", "3"), ("main", "2")]
)
def test_git_uri_with_subdirectory_and_version(
    git_repo: Path, version: str | None, marker: str
) -> None:
    uri = f"file://{git_repo}#projects/basic"
    with fetch(uri, version) as fetched:
        assert (fetched.directory / "version.txt").read_text().strip() == marker
        assert fetched.kind == "git"
        assert fetched.uri == uri
        assert fetched.git_repo_url == f"file://{git_repo}"
        assert fetched.git_branch == (version if version in ("exp", "main") else None)
        expected = git(git_repo, "rev-parse", f"{version or 'HEAD'}^{{commit}}")
        assert fetched.git_commit == expected
        temp = fetched.temp_dir
        assert temp is not None and temp.is_dir()
    assert not temp.exists()  # the clone is removed when done


def test_a_commit_hash_checks_out_that_commit(git_repo: Path) -> None:
    first = git(git_repo, "rev-list", "--max-parents=0", "HEAD")
    with fetch(str(git_repo / "projects" / "basic"), first[:10]) as fetched:
        assert fetched.git_commit == first
        assert (fetched.directory / "version.txt").read_text().strip() == "1"
        assert fetched.uri == str(git_repo / "projects" / "basic")


def test_unknown_version_and_missing_subdirectory(git_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(CairnError, match="'v9' is not a branch, tag or commit"):
        fetch(f"file://{git_repo}", "v9")
    with pytest.raises(CairnError, match="no directory 'nope'"):
        fetch(f"file://{git_repo}#nope")
    with pytest.raises(CairnError, match="must be a relative path inside"):
        fetch(f"file://{git_repo}#../x")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(CairnError, match="needs a git repository"):
        fetch(str(plain), "v1")
    with pytest.raises(CairnError, match="Could not clone"):
        fetch(f"file://{tmp_path / 'no-repo'}")
    with pytest.raises(CairnError, match="not found"):
        fetch(str(tmp_path / "missing"))


def test_archives_tar_and_zip(basic_project: Path, tmp_path: Path) -> None:
    tar_path = tmp_path / "project.tar.gz"
    with tarfile.open(tar_path, "w:gz") as archive:
        archive.add(basic_project, arcname="basic")  # one top directory: entered
    with fetch(str(tar_path)) as fetched:
        assert (fetched.directory / "MLproject").is_file()
        assert fetched.kind == "archive"
    zip_path = tmp_path / "project.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        for file in basic_project.iterdir():
            archive.write(file, f"sub/{file.name}")
        archive.writestr("other/readme.txt", "two top-level entries")
    with fetch(f"{zip_path}#sub") as fetched:
        assert (fetched.directory / "train.py").is_file()
    with pytest.raises(CairnError, match="applies to git projects"):
        fetch(str(tar_path), "v1")


def test_archives_cannot_write_outside(tmp_path: Path) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../escaped.txt", "x")
    with pytest.raises(CairnError, match="outside the archive"):
        fetch(str(evil))
    assert not (tmp_path.parent / "escaped.txt").exists()
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a tar file")
    with pytest.raises(CairnError, match="not a readable archive"):
        fetch(str(broken))


def test_split_subdirectory() -> None:
    assert split_subdirectory("https://h/r.git#a/b/") == ("https://h/r.git", "a/b")
    assert split_subdirectory("/p") == ("/p", "")


def test_an_archive_over_http(basic_project: Path, tmp_path: Path) -> None:
    import http.server
    import threading
    from functools import partial

    served = tmp_path / "served"
    served.mkdir()
    with tarfile.open(served / "project.tgz", "w:gz") as archive:
        archive.add(basic_project, arcname="basic")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with fetch(f"{base}/project.tgz") as fetched:
            assert (fetched.directory / "MLproject").is_file()
            assert fetched.kind == "archive" and fetched.uri == f"{base}/project.tgz"
        with pytest.raises(CairnError, match=r"Could not download .*HTTP 404"):
            fetch(f"{base}/missing.tgz")
    finally:
        server.shutdown()
        server.server_close()
