"""Artifact path confinement: every way out of the root is refused, ordinary paths pass."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cairn.errors import INVALID_PARAMETER_VALUE, CairnError
from cairn.store.artifacts.paths import resolve_inside, safe_relative_path

TRAVERSALS = [
    # parent components, before and after normalization
    "..",
    "../x",
    "a/../../x",
    "a/b/../../../x",
    "a/..",
    "a/./../b",
    # absolute paths, POSIX and Windows
    "/etc/passwd",
    "//server/share/x",
    "C:\\x",
    "C:/x",
    "c:x",
    "\\\\server\\share",
    # backslashes anywhere
    "a\\b",
    "..\\x",
    # NUL bytes
    "a\x00b",
    "x.txt\x00.png",
    # percent-encoded traversal and separators (decoded once and re-checked)
    "%2e%2e",
    "%2e%2e/x",
    "%2E%2E%2Fetc",
    "a/%2e%2e/%2e%2e/x",
    ".%2e/x",
    "%2Fetc%2Fpasswd",
    "a%2Fb",
    "a%2fb",
    "a%5Cb",
    "a%00b",
    "C%3A%5Cx",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_is_refused(path: str) -> None:
    with pytest.raises(CairnError) as info:
        safe_relative_path(path)
    assert info.value.error_code == INVALID_PARAMETER_VALUE
    assert repr(path) in info.value.message


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (None, ""),
        ("", ""),
        (".", ""),
        ("./", ""),
        ("a", "a"),
        ("a/b/c.txt", "a/b/c.txt"),
        ("a//b/", "a/b"),
        ("./a/./b", "a/b"),
        ("...", "..."),
        ("a..b/..c", "a..b/..c"),
        (".hidden", ".hidden"),
        ("with space/ünïcode.txt", "with space/ünïcode.txt"),
        ("a%20b.txt", "a%20b.txt"),  # decodes to a harmless name: kept as given
        ("%252e%252e", "%252e%252e"),  # decoded once only: '%2e%2e' is a literal name
        ("50%", "50%"),
    ],
)
def test_ordinary_paths_normalize(path: str | None, expected: str) -> None:
    assert safe_relative_path(path) == expected


@pytest.mark.parametrize("path", [5, b"a", ["a"]])
def test_non_string_is_refused(path: object) -> None:
    with pytest.raises(CairnError, match="must be a string"):
        safe_relative_path(path)  # type: ignore[arg-type]


def test_resolve_inside_joins_under_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    assert resolve_inside(root, None) == root.resolve()
    assert resolve_inside(root, "") == root.resolve()
    assert resolve_inside(root, "a//b/c.txt") == root.resolve() / "a" / "b" / "c.txt"


@pytest.mark.parametrize("path", TRAVERSALS)
def test_resolve_inside_uses_the_same_checks(tmp_path: Path, path: str) -> None:
    with pytest.raises(CairnError):
        resolve_inside(tmp_path, path)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/ with links out (dir and file), a link within, and a secret outside."""
    root = tmp_path / "root"
    (root / "inner").mkdir(parents=True)
    (root / "inner" / "f.txt").write_text("inside")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (root / "out_dir").symlink_to(outside, target_is_directory=True)
    (root / "out_file").symlink_to(outside / "secret.txt")
    (root / "in_dir").symlink_to(root / "inner", target_is_directory=True)
    (root / "inner" / "up").symlink_to("../../outside", target_is_directory=True)
    return root


@pytest.mark.parametrize(
    "path",
    ["out_dir", "out_dir/secret.txt", "out_dir/new.txt", "out_file", "inner/up/secret.txt"],
)
def test_symlink_out_of_root_is_refused(tree: Path, path: str) -> None:
    with pytest.raises(CairnError, match="outside the root") as info:
        resolve_inside(tree, path)
    assert repr(path) in info.value.message


def test_symlink_within_root_is_followed(tree: Path) -> None:
    assert resolve_inside(tree, "in_dir/f.txt") == (tree / "inner" / "f.txt").resolve()


def test_root_itself_may_be_a_symlink(tree: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(tree, target_is_directory=True)
    assert resolve_inside(alias, "inner/f.txt") == (tree / "inner" / "f.txt").resolve()
    with pytest.raises(CairnError):
        resolve_inside(alias, "out_dir/secret.txt")


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(CairnError):
        resolve_inside(tmp_path, "loop/x")


def test_nothing_touches_the_file_system(tmp_path: Path) -> None:
    resolve_inside(tmp_path / "missing", "a/b")
    assert os.listdir(tmp_path) == []
