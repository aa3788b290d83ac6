"""What every artifact store offers, so runs and the server never care where bytes live."""

from __future__ import annotations

import io
import posixpath
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

import msgspec

from cairn.errors import CairnError
from cairn.store.artifacts.paths import safe_relative_path

_READ_BUFFER = 1024 * 1024


class FileInfo(msgspec.Struct, frozen=True):
    """One entry of a listing; ``path`` is relative to the repository root, '/'-separated."""

    path: str
    is_dir: bool
    file_size: int | None = None


@runtime_checkable
class ArtifactRepository(Protocol):
    """A tree of artifact files under one root URI; all paths are relative to that root."""

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Copy one local file into directory ``artifact_path`` (the root if None)."""
        ...

    def log_artifacts(
        self, local_dir: str, artifact_path: str | None = None, *, progress: Any = None
    ) -> None:
        """Copy the contents of a local directory, recursively, into ``artifact_path``.

        Files move in parallel; ``progress`` shows a bar (True, False, None: when stderr is a
        terminal, or a rich Console to draw on). See :mod:`cairn.store.artifacts.transfer`.
        """
        ...

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        """Write one file atomically: readers see the old content or the new, never half."""
        ...

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The direct children of ``path`` sorted by path; [] if it is missing or a file."""
        ...

    def download_artifacts(
        self, artifact_path: str, dst_path: str | None = None, *, progress: Any = None
    ) -> str:
        """Copy a file or a whole directory to ``dst_path`` (a new temp dir if None).

        Files of a directory come down in parallel; ``progress`` as in :meth:`log_artifacts`.

        Returns the local path of the copy, ``dst_path/artifact_path`` as in MLflow.
        """
        ...

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file or a directory tree (everything if None); missing paths are fine."""
        ...

    def open_artifact(self, path: str) -> BinaryIO:
        """A binary stream over one artifact file, for serving it without a copy."""
        ...


# -- optional capabilities: a store offers them when it can; callers check with isinstance() --


@runtime_checkable
class StreamWritable(Protocol):
    """Stores that can write a file from a stream of chunks (the proxy's upload path)."""

    def write_stream(self, artifact_file: str, chunks: Iterable[bytes]) -> None:
        """Write ``artifact_file`` from ``chunks`` as they come, never holding it whole.

        As atomic as :meth:`ArtifactRepository.log_bytes`: if ``chunks`` raises, the old
        content (or nothing) stays.
        """
        ...


@runtime_checkable
class LocalPaths(Protocol):
    """Stores whose files are local files, so a server can hand them to ``sendfile``."""

    def local_path(self, path: str) -> Path:
        """The confined local path of an existing artifact file; RESOURCE_DOES_NOT_EXIST if
        there is no file there."""
        ...


class PartCredential(msgspec.Struct, frozen=True):
    """Where a client PUTs one part of a multipart upload, as MLflow's proto names it."""

    url: str
    part_number: int
    headers: dict[str, str] = {}


class MultipartUpload(msgspec.Struct, frozen=True):
    upload_id: str
    credentials: list[PartCredential]


class UploadedPart(msgspec.Struct, frozen=True):
    part_number: int
    etag: str


class PresignedDownload(msgspec.Struct, frozen=True):
    url: str
    headers: dict[str, str] = {}
    file_size: int | None = None


@runtime_checkable
class DirectTransfers(Protocol):
    """Stores clients can read and write directly through presigned URLs (object stores), so
    large files need not pass through the server."""

    def create_multipart_upload(self, artifact_file: str, num_parts: int) -> MultipartUpload: ...

    def complete_multipart_upload(
        self, artifact_file: str, upload_id: str, parts: list[UploadedPart]
    ) -> None: ...

    def abort_multipart_upload(self, artifact_file: str, upload_id: str) -> None: ...

    def presigned_download(self, path: str) -> PresignedDownload: ...


# -- helpers shared by the stores -----------------------------------------------------------


class _ChunkReader(io.RawIOBase):
    def __init__(self, chunks: Iterable[bytes], on_close: Callable[[], None] | None) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = memoryview(b"")
        self._on_close = on_close

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        if not self.closed and self._on_close is not None:
            self._on_close()
        super().close()


def chunk_reader(chunks: Iterable[bytes], on_close: Callable[[], None] | None = None) -> BinaryIO:
    """A read-only binary file over an iterator of chunks, for APIs that want a file.

    A network body becomes something ``boto3.upload_fileobj`` or ``shutil.copyfileobj`` can
    read without the whole of it in memory. ``read(n)`` returns ``n`` bytes until the end (no
    short reads: S3 multipart parts must be full). ``on_close`` releases the source.
    """
    return io.BufferedReader(_ChunkReader(chunks, on_close), buffer_size=_READ_BUFFER)  # type: ignore[return-value]


def child_path(base: str, name: object) -> str | None:
    """``base/name`` if a listing's ``name`` is one safe, normalized component; else None.

    Object stores and remote servers may hold names no artifact path can have (``..``,
    ``a//b``); listings leave them out, so nothing downstream joins them onto a local path.
    """
    if not isinstance(name, str) or not name or "/" in name:
        return None
    rel = posixpath.join(base, name) if base else name
    try:
        return rel if safe_relative_path(rel) == rel else None
    except CairnError:
        return None
