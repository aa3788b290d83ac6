"""Artifact stores: where run files live, chosen by the scheme of the artifact URI."""

from __future__ import annotations

from urllib.parse import urlparse

from cairn.errors import CairnError
from cairn.store.artifacts.local import LocalArtifactRepository
from cairn.store.artifacts.paths import resolve_inside, safe_relative_path
from cairn.store.artifacts.protocol import ArtifactRepository, FileInfo

__all__ = [
    "ArtifactRepository",
    "FileInfo",
    "LocalArtifactRepository",
    "get_artifact_repository",
    "resolve_inside",
    "safe_relative_path",
]


def get_artifact_repository(uri: str) -> ArtifactRepository:
    """The repository for an artifact URI: plain paths and ``file://`` are local files."""
    scheme = urlparse(uri).scheme
    # A one-letter scheme is a Windows drive ("C:\\artifacts"), not a URI.
    if scheme in ("", "file") or len(scheme) == 1:
        return LocalArtifactRepository(uri)
    raise CairnError.invalid(
        f"Artifact URI {uri!r} uses the {scheme!r} scheme, which is not supported yet; "
        "use a local path or a file:// URI."
    )
