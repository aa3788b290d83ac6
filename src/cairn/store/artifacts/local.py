"""Artifacts as plain files under a local directory (or a ``file://`` URI)."""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from cairn.errors import CairnError
from cairn.store.artifacts.paths import resolve_inside, safe_relative_path
from cairn.store.artifacts.protocol import FileInfo
from cairn.store.artifacts.transfer import download_tree, upload_tree

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

    def log_artifacts(
        self, local_dir: str, artifact_path: str | None = None, *, progress: Any = None
    ) -> None:
        """Files behind symlinks are copied; symlinked directories are skipped (no loops).

        Empty directories are kept, as a copy of the tree would; files copy in parallel.
        """

        def make_dir(rel: str) -> None:
            resolve_inside(self.root, rel).mkdir(parents=True, exist_ok=True)

        def upload(src: str, dest: str) -> None:
            self._write(dest, lambda tmp: shutil.copyfile(src, tmp))

        upload_tree(local_dir, artifact_path, upload, make_dir=make_dir, progress=progress)

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

    def download_artifacts(
        self, artifact_path: str, dst_path: str | None = None, *, progress: Any = None
    ) -> str:
        """What :meth:`list_artifacts` shows, files in parallel; symlink loops are cut."""
        rel = safe_relative_path(artifact_path)
        source = resolve_inside(self.root, rel)
        if not source.exists():
            raise CairnError.not_found(f"No artifact at {artifact_path!r} under {self.root_uri}.")
        if source.is_dir() and rel and not self.list_artifacts(rel):
            dest = (Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp())) / rel
            dest.mkdir(parents=True, exist_ok=True)  # an empty directory stays a directory
            return str(dest)
        return download_tree(
            self,
            rel,
            dst_path,
            lambda path, dest: shutil.copyfile(resolve_inside(self.root, path), dest),
            progress=progress,
            dir_identity=lambda path: resolve_inside(self.root, path),
        )

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
