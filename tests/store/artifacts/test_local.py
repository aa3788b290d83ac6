"""LocalArtifactRepository: writes, listings, downloads and deletes, all confined to the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cairn.errors import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, CairnError
from cairn.store.artifacts import (
    ArtifactRepository,
    FileInfo,
    LocalArtifactRepository,
    get_artifact_repository,
)
from cairn.store.artifacts import local as local_module


@pytest.fixture
def repo(tmp_path: Path) -> LocalArtifactRepository:
    return LocalArtifactRepository(str(tmp_path / "root"))


def make_tree(base: Path) -> Path:
    """base/src: a.txt, sub/b.txt, sub/deeper/c.bin, empty/."""
    src = base / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("bb")
    (src / "sub" / "deeper" / "c.bin").write_bytes(b"\x00" * 300)
    return src


def files_under(path: Path) -> dict[str, bytes]:
    return {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


# -- choosing a repository --------------------------------------------------------------------


def test_plain_paths_and_file_uris_are_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for uri, root in [
        (str(tmp_path / "x"), tmp_path / "x"),
        ("rel/dir", tmp_path / "rel" / "dir"),
        (f"file://{tmp_path}/y", tmp_path / "y"),
        (f"file://localhost{tmp_path}/z", tmp_path / "z"),
        (f"file://{tmp_path}/with%20space", tmp_path / "with space"),
    ]:
        repo = get_artifact_repository(uri)
        assert isinstance(repo, LocalArtifactRepository)
        assert isinstance(repo, ArtifactRepository)
        assert repo.root == root.resolve()


@pytest.mark.parametrize("uri", ["gs://b/p", "dbfs:/x", "ftp://host/a"])
def test_other_schemes_are_not_supported_yet(uri: str) -> None:
    with pytest.raises(CairnError, match="not supported yet") as info:
        get_artifact_repository(uri)
    assert info.value.error_code == INVALID_PARAMETER_VALUE


def test_file_uri_with_remote_host_is_refused() -> None:
    with pytest.raises(CairnError, match="remote host"):
        get_artifact_repository("file://otherhost/data")


# -- writing ----------------------------------------------------------------------------------


def test_log_bytes_creates_directories(repo: LocalArtifactRepository) -> None:
    repo.log_bytes(b"hello", "a/b/c.txt")
    assert (repo.root / "a" / "b" / "c.txt").read_bytes() == b"hello"


def test_log_bytes_overwrites_atomically(repo: LocalArtifactRepository) -> None:
    repo.log_bytes(b"old", "f.txt")
    with open(repo.root / "f.txt", "rb") as reader:  # a reader mid-way keeps the old file
        repo.log_bytes(b"new content", "f.txt")
        assert reader.read() == b"old"
    assert (repo.root / "f.txt").read_bytes() == b"new content"
    assert os.listdir(repo.root) == ["f.txt"]  # no temp file left behind


def test_failed_write_keeps_old_content_and_leaves_no_temp(
    repo: LocalArtifactRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.log_bytes(b"old", "d/f.txt")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(local_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        repo.log_bytes(b"new", "d/f.txt")
    assert (repo.root / "d" / "f.txt").read_bytes() == b"old"
    assert os.listdir(repo.root / "d") == ["f.txt"]


def test_log_bytes_needs_a_file_name(repo: LocalArtifactRepository) -> None:
    for name in ["", ".", "./"]:
        with pytest.raises(CairnError, match="needs a name"):
            repo.log_bytes(b"x", name)
    repo.log_bytes(b"x", "d/f.txt")
    with pytest.raises(CairnError, match="is a directory"):
        repo.log_bytes(b"x", "d")


def test_log_artifact(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    src = tmp_path / "model.pkl"
    src.write_bytes(b"\x01" * 100_000)
    repo.log_artifact(str(src))
    repo.log_artifact(str(src), "models/v1")
    assert (repo.root / "model.pkl").read_bytes() == src.read_bytes()
    assert (repo.root / "models" / "v1" / "model.pkl").read_bytes() == src.read_bytes()


def test_log_artifact_missing_or_directory(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    for path in [tmp_path / "missing.txt", tmp_path]:
        with pytest.raises(CairnError) as info:
            repo.log_artifact(str(path))
        assert info.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_log_artifacts_copies_nested_tree(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    src = make_tree(tmp_path)
    repo.log_artifacts(str(src))
    repo.log_artifacts(str(src), "copy/two")
    assert files_under(repo.root / "copy" / "two") == files_under(src)
    assert (repo.root / "empty").is_dir()
    assert (repo.root / "sub" / "deeper" / "c.bin").read_bytes() == b"\x00" * 300


def test_log_artifacts_missing_dir(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    with pytest.raises(CairnError) as info:
        repo.log_artifacts(str(tmp_path / "nope"))
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_log_artifacts_follows_file_links_but_not_dir_links(
    repo: LocalArtifactRepository, tmp_path: Path
) -> None:
    src = make_tree(tmp_path)
    (src / "link.txt").symlink_to(src / "a.txt")
    (src / "loop").symlink_to(src, target_is_directory=True)
    repo.log_artifacts(str(src))
    assert (repo.root / "link.txt").read_text() == "a"
    assert not (repo.root / "loop").exists()


# -- listing ----------------------------------------------------------------------------------


def test_list_artifacts_direct_children_sorted(
    repo: LocalArtifactRepository, tmp_path: Path
) -> None:
    repo.log_artifacts(str(make_tree(tmp_path)))
    assert repo.list_artifacts() == [
        FileInfo("a.txt", False, 1),
        FileInfo("empty", True, None),
        FileInfo("sub", True, None),
    ]
    assert repo.list_artifacts("sub") == [
        FileInfo("sub/b.txt", False, 2),
        FileInfo("sub/deeper", True, None),
    ]
    assert repo.list_artifacts("sub/deeper/") == [FileInfo("sub/deeper/c.bin", False, 300)]
    assert repo.list_artifacts("./sub//deeper") == repo.list_artifacts("sub/deeper")
    assert repo.list_artifacts("empty") == []


def test_list_missing_or_file_is_empty(repo: LocalArtifactRepository) -> None:
    assert repo.list_artifacts() == []  # the root does not exist yet
    repo.log_bytes(b"x", "f.txt")
    assert repo.list_artifacts("nope") == []
    assert repo.list_artifacts("f.txt") == []


def test_list_hides_temp_files_of_writes_in_progress(repo: LocalArtifactRepository) -> None:
    repo.log_bytes(b"x", "f.txt")
    (repo.root / f"{local_module._TMP_PREFIX}123-f.txt").write_bytes(b"partial")
    assert [info.path for info in repo.list_artifacts()] == ["f.txt"]


# -- downloading and reading ------------------------------------------------------------------


def test_download_file(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    repo.log_bytes(b"data", "a/b.txt")
    local = repo.download_artifacts("a/b.txt", str(tmp_path / "dst"))
    assert local == str(tmp_path / "dst" / "a" / "b.txt")
    assert Path(local).read_bytes() == b"data"
    assert Path(repo.download_artifacts("a/b.txt")).read_bytes() == b"data"  # into a temp dir


def test_download_dir(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    src = make_tree(tmp_path)
    repo.log_artifacts(str(src), "tree")
    local = repo.download_artifacts("tree", str(tmp_path / "dst"))
    assert local == str(tmp_path / "dst" / "tree")
    assert files_under(Path(local)) == files_under(src)
    assert (Path(local) / "empty").is_dir()
    whole = repo.download_artifacts("", str(tmp_path / "all"))
    assert whole == str(tmp_path / "all")
    assert files_under(Path(whole)) == {f"tree/{k}": v for k, v in files_under(src).items()}


def test_download_missing_is_not_found(repo: LocalArtifactRepository) -> None:
    with pytest.raises(CairnError, match="nope") as info:
        repo.download_artifacts("nope")
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_download_dir_survives_symlink_loops_inside(
    repo: LocalArtifactRepository, tmp_path: Path
) -> None:
    repo.log_bytes(b"x", "d/f.txt")
    (repo.root / "d" / "again").symlink_to(repo.root / "d", target_is_directory=True)
    local = repo.download_artifacts("d", str(tmp_path / "dst"))
    assert (Path(local) / "f.txt").read_bytes() == b"x"


def test_open_artifact(repo: LocalArtifactRepository) -> None:
    repo.log_bytes(b"stream me", "s/f.bin")
    with repo.open_artifact("s/f.bin") as f:
        assert f.read() == b"stream me"
    for missing in ["s/nope.bin", "s"]:
        with pytest.raises(CairnError) as info:
            repo.open_artifact(missing)
        assert info.value.error_code == RESOURCE_DOES_NOT_EXIST


# -- deleting ---------------------------------------------------------------------------------


def test_delete_file_dir_and_all(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    repo.log_artifacts(str(make_tree(tmp_path)))
    repo.delete_artifacts("a.txt")
    repo.delete_artifacts("sub/deeper")
    assert [i.path for i in repo.list_artifacts()] == ["empty", "sub"]
    assert [i.path for i in repo.list_artifacts("sub")] == ["sub/b.txt"]
    repo.delete_artifacts("does/not/exist")  # missing is fine
    repo.delete_artifacts()
    assert repo.list_artifacts() == []
    repo.log_bytes(b"x", "again.txt")  # the root comes back on the next write
    assert [i.path for i in repo.list_artifacts()] == ["again.txt"]


def test_delete_symlink_removes_only_the_link(repo: LocalArtifactRepository) -> None:
    repo.log_bytes(b"keep", "real/f.txt")
    (repo.root / "alias").symlink_to(repo.root / "real", target_is_directory=True)
    repo.delete_artifacts("alias")
    assert not (repo.root / "alias").exists()
    assert (repo.root / "real" / "f.txt").read_bytes() == b"keep"


# -- confinement ------------------------------------------------------------------------------

BAD_PATHS = [
    "../escape.txt",
    "a/../../escape.txt",
    "/tmp/escape.txt",
    "C:\\escape.txt",
    "\\\\server\\share\\escape.txt",
    "a\\..\\escape.txt",
    "a\x00.txt",
    "%2e%2e/escape.txt",
    "..%2Fescape.txt",
    "%2Ftmp%2Fescape.txt",
]


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_every_method_refuses_traversal(
    repo: LocalArtifactRepository, tmp_path: Path, bad: str
) -> None:
    src = tmp_path / "f.txt"
    src.write_text("x")
    repo.log_bytes(b"x", "ok.txt")
    before = sorted(p.name for p in tmp_path.iterdir())
    calls = [
        lambda: repo.log_bytes(b"x", bad),
        lambda: repo.log_artifact(str(src), bad),
        lambda: repo.log_artifacts(str(make_tree(tmp_path / "t")), bad),
        lambda: repo.list_artifacts(bad),
        lambda: repo.download_artifacts(bad, str(tmp_path / "dst")),
        lambda: repo.open_artifact(bad),
        lambda: repo.delete_artifacts(bad),
    ]
    for call in calls:
        with pytest.raises(CairnError) as info:
            call()
        assert info.value.error_code == INVALID_PARAMETER_VALUE
    after = sorted(p.name for p in tmp_path.iterdir() if p.name != "t")
    assert after == before  # nothing was written next to the root
    assert [i.path for i in repo.list_artifacts()] == ["ok.txt"]


@pytest.fixture
def linked(repo: LocalArtifactRepository, tmp_path: Path) -> Path:
    """Put links out of the root into it: a directory link and a file link."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    repo.log_bytes(b"fine", "ok.txt")
    (repo.root / "out").symlink_to(outside, target_is_directory=True)
    (repo.root / "secret_link").symlink_to(outside / "secret.txt")
    return outside


def test_write_through_outward_symlink_is_refused(
    repo: LocalArtifactRepository, linked: Path, tmp_path: Path
) -> None:
    src = tmp_path / "f.txt"
    src.write_text("payload")
    with pytest.raises(CairnError, match="outside the root"):
        repo.log_bytes(b"payload", "out/planted.txt")
    with pytest.raises(CairnError, match="outside the root"):
        repo.log_bytes(b"payload", "secret_link")
    with pytest.raises(CairnError, match="outside the root"):
        repo.log_artifact(str(src), "out")
    with pytest.raises(CairnError, match="outside the root"):
        repo.log_artifacts(str(make_tree(tmp_path)), "out")
    assert sorted(p.name for p in linked.iterdir()) == ["secret.txt"]
    assert (linked / "secret.txt").read_text() == "secret"


def test_read_through_outward_symlink_is_refused(
    repo: LocalArtifactRepository, linked: Path, tmp_path: Path
) -> None:
    for path in ["out/secret.txt", "secret_link", "out"]:
        with pytest.raises(CairnError, match="outside the root"):
            repo.download_artifacts(path, str(tmp_path / "dst"))
        with pytest.raises(CairnError, match="outside the root"):
            repo.open_artifact(path)
    with pytest.raises(CairnError, match="outside the root"):
        repo.list_artifacts("out")
    assert not (tmp_path / "dst").exists()


def test_outward_symlinks_are_left_out_of_listings_and_dir_downloads(
    repo: LocalArtifactRepository, linked: Path, tmp_path: Path
) -> None:
    assert repo.list_artifacts() == [FileInfo("ok.txt", False, 4)]
    local = repo.download_artifacts("", str(tmp_path / "dst"))
    assert files_under(Path(local)) == {"ok.txt": b"fine"}
