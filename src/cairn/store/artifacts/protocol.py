"""What every artifact store offers, so runs and the server never care where bytes live."""

from __future__ import annotations

from typing import BinaryIO, Protocol, runtime_checkable

import msgspec


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

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy the contents of a local directory, recursively, into ``artifact_path``."""
        ...

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        """Write one file atomically: readers see the old content or the new, never half."""
        ...

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The direct children of ``path`` sorted by path; [] if it is missing or a file."""
        ...

    def download_artifacts(self, artifact_path: str, dst_path: str | None = None) -> str:
        """Copy a file or a whole directory to ``dst_path`` (a new temp dir if None).

        Returns the local path of the copy, ``dst_path/artifact_path`` as in MLflow.
        """
        ...

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file or a directory tree (everything if None); missing paths are fine."""
        ...

    def open_artifact(self, path: str) -> BinaryIO:
        """A binary stream over one artifact file, for serving it without a copy."""
        ...
