"""Artifacts as plain files under a local directory (or a ``file://`` URI)."""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from cairn.errors import CairnError
from cairn.store.artifacts.paths import resolve_inside, safe_relative_path
from cairn.store.artifacts.protocol import FileInfo

# Writes go to a hidden temp file next to the target first; listings skip these.
_TMP_PREFIX = ".cairn-tmp-"


def local_path_from_uri(uri: str) -> Path:
    """A ``file://`` URI or a plain path (absolute or relative) as an absolute local path."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise CairnError.invalid(
                f"Unsupported file URI {uri!r}: only local files (no remote host) are supported."
            )
        return Path(url2pathname(unquote(parsed.path))).resolve()
    return Path(uri).resolve()


def _join(base: str, name: str) -> str:
    return posixpath.join(base, name) if base else name


def require_local_file(local_file: str) -> Path:
    """``local_file`` as a Path, or RESOURCE_DOES_NOT_EXIST: what every store uploads from."""
    source = Path(local_file)
    if not source.is_file():
        raise CairnError.not_found(f"Local file {local_file!r} does not exist or is not a file.")
    return source


def walk_files(local_dir: str) -> Iterator[tuple[str, str]]:
    """(local path, '/'-separated path under ``local_dir``) of every file in the tree.

    What remote stores upload for ``log_artifacts``. Symlinked directories are not followed
    (no loops), as in the local store; files behind symlinks are.
    """
    source = Path(local_dir)
    if not source.is_dir():
        raise CairnError.not_found(f"Local directory {local_dir!r} does not exist.")
    for dirpath, _dirnames, filenames in os.walk(source):
        rel_dir = Path(dirpath).relative_to(source).as_posix()
        for name in filenames:
            yield os.path.join(dirpath, name), _join("" if rel_dir == "." else rel_dir, name)


class LocalArtifactRepository:
    """An :class:`~cairn.store.artifacts.protocol.ArtifactRepository` on the local file system.

    Every user path goes through :func:`resolve_inside`, so nothing is read or written outside
    the root, symlinks included. Writes are atomic (temp file + ``os.replace``) and copies
    stream through ``shutil.copyfile``, so large files never sit in memory.
    """

    def __init__(self, root_uri: str) -> None:
        self.root_uri = root_uri
        self.root = local_path_from_uri(root_uri)

    def __repr__(self) -> str:
        return f"LocalArtifactRepository({self.root_uri!r})"

    # -- writing --------------------------------------------------------------------------

    def _write(self, artifact_file: str, fill: Callable[[str], None]) -> None:
        """Create ``artifact_file`` atomically; ``fill`` writes the content to a temp path."""
        target = resolve_inside(self.root, artifact_file)
        if target == self.root:
            raise CairnError.invalid("An artifact file needs a name; got the root path.")
        if target.is_dir():
            raise CairnError.invalid(f"Cannot write {artifact_file!r}: it is a directory.")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise CairnError.invalid(
                f"Cannot write {artifact_file!r}: a parent of it is a file."
            ) from None
        tmp = target.parent / f"{_TMP_PREFIX}{uuid.uuid4().hex}-{target.name}"
        try:
            fill(str(tmp))
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        def fill(tmp: str) -> None:
            with open(tmp, "xb") as f:
                f.write(data)

        self._write(artifact_file, fill)

    def write_stream(self, artifact_file: str, chunks: Iterable[bytes]) -> None:
        """Chunks go to a temp file next to the target, renamed into place at the end."""

        def fill(tmp: str) -> None:
            with open(tmp, "xb") as f:
                for chunk in chunks:
                    f.write(chunk)

        self._write(artifact_file, fill)

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        source = require_local_file(local_file)
        dest = _join(safe_relative_path(artifact_path), source.name)
        self._write(dest, lambda tmp: shutil.copyfile(source, tmp))

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Files behind symlinks are copied; symlinked directories are skipped (no loops)."""
        source = Path(local_dir)
        if not source.is_dir():
            raise CairnError.not_found(f"Local directory {local_dir!r} does not exist.")
        base = safe_relative_path(artifact_path)
        resolve_inside(self.root, base).mkdir(parents=True, exist_ok=True)
        for dirpath, dirnames, filenames in os.walk(source):
            rel_dir = Path(dirpath).relative_to(source).as_posix()
            rel_dir = _join(base, "" if rel_dir == "." else rel_dir)
            for name in dirnames:  # keep empty directories, as a copy of the tree would
                if not os.path.islink(os.path.join(dirpath, name)):
                    resolve_inside(self.root, _join(rel_dir, name)).mkdir(exist_ok=True)
            for name in filenames:
                src = os.path.join(dirpath, name)
                self._write(_join(rel_dir, name), lambda tmp, src=src: shutil.copyfile(src, tmp))

    # -- reading --------------------------------------------------------------------------

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Entries that resolve outside the root (outward symlinks) are left out."""
        base = safe_relative_path(path)
        directory = resolve_inside(self.root, base)
        if not directory.is_dir():
            return []
        infos = []
        for name in os.listdir(directory):
            if name.startswith(_TMP_PREFIX):
                continue
            rel = _join(base, name)
            try:
                entry = resolve_inside(self.root, rel)
            except CairnError:
                continue
            if entry.is_dir():
                infos.append(FileInfo(rel, True, None))
            elif entry.is_file():
                infos.append(FileInfo(rel, False, entry.stat().st_size))
        infos.sort(key=lambda info: info.path)
        return infos

    def download_artifacts(self, artifact_path: str, dst_path: str | None = None) -> str:
        rel = safe_relative_path(artifact_path)
        source = resolve_inside(self.root, rel)
        if not source.exists():
            raise CairnError.not_found(f"No artifact at {artifact_path!r} under {self.root_uri}.")
        dst_root = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp())
        dest = dst_root / rel if rel else dst_root
        if source.is_dir():
            self._download_dir(rel, dest, seen=set())
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
        return str(dest)

    def _download_dir(self, rel: str, dest: Path, seen: set[Path]) -> None:
        """Copy what :meth:`list_artifacts` shows, recursively; ``seen`` breaks symlink loops."""
        real = resolve_inside(self.root, rel)
        if real in seen:
            return
        seen.add(real)
        dest.mkdir(parents=True, exist_ok=True)
        for info in self.list_artifacts(rel):
            child = dest / posixpath.basename(info.path)
            if info.is_dir:
                self._download_dir(info.path, child, seen)
            else:
                shutil.copyfile(resolve_inside(self.root, info.path), child)

    def local_path(self, path: str) -> Path:
        target = resolve_inside(self.root, path)
        if not target.is_file():
            raise CairnError.not_found(f"No artifact file at {path!r} under {self.root_uri}.")
        return target

    def open_artifact(self, path: str) -> BinaryIO:
        return open(self.local_path(path), "rb")

    # -- deleting -------------------------------------------------------------------------

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """A symlink is removed itself; its target (always inside the root) is left alone."""
        rel = safe_relative_path(artifact_path)
        resolve_inside(self.root, rel)  # refuse anything that leads outside before touching it
        lexical = self.root / rel if rel else self.root
        if lexical.is_symlink() or lexical.is_file():
            lexical.unlink()
        elif lexical.is_dir():
            shutil.rmtree(lexical)
