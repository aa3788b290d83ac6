"""Artifact stores: where run files live, chosen by the scheme of the artifact URI."""

from __future__ import annotations

from urllib.parse import urlparse

from cairn.errors import CairnError
from cairn.store.artifacts.local import LocalArtifactRepository
from cairn.store.artifacts.paths import resolve_inside, safe_relative_path
from cairn.store.artifacts.protocol import (
    ArtifactRepository,
    DirectTransfers,
    FileInfo,
    LocalPaths,
    StreamWritable,
)

__all__ = [
    "ArtifactRepository",
    "DirectTransfers",
    "FileInfo",
    "LocalArtifactRepository",
    "LocalPaths",
    "StreamWritable",
    "get_artifact_repository",
    "resolve_inside",
    "safe_relative_path",
]


def get_artifact_repository(uri: str, tracking_uri: str | None = None) -> ArtifactRepository:
    """The repository for an artifact URI, by scheme.

    Plain paths and ``file://`` are local files; ``s3://bucket/prefix`` is S3 (or any
    S3-compatible store); ``mlflow-artifacts:/...`` and ``http(s)://.../mlflow-artifacts/
    artifacts/...`` go through a tracking server's artifact proxy: ``mlflow-artifacts:/`` is
    resolved against ``tracking_uri`` (default: the configured tracking URI). Remote stores are
    imported only when used, so their client libraries stay optional.
    """
    scheme = urlparse(uri).scheme
    # A one-letter scheme is a Windows drive ("C:\\artifacts"), not a URI.
    if scheme in ("", "file") or len(scheme) == 1:
        return LocalArtifactRepository(uri)
    if scheme == "s3":
        from cairn.store.artifacts.s3 import S3ArtifactRepository

        return S3ArtifactRepository(uri)
    if scheme in ("mlflow-artifacts", "http", "https"):
        from cairn.store.artifacts.http import HttpArtifactRepository

        return HttpArtifactRepository(uri, tracking_uri=tracking_uri)
    raise CairnError.invalid(
        f"Artifact URI {uri!r} uses the {scheme!r} scheme, which is not supported yet; use a "
        "local path, a file:// URI, s3://bucket/prefix or mlflow-artifacts:/ (via a server)."
    )
