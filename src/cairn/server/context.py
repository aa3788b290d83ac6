"""What every route module is handed: the stores the server fronts and its configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from cairn.server.config import ServerConfig
from cairn.store.artifacts import ArtifactRepository, get_artifact_repository, safe_relative_path

if TYPE_CHECKING:
    from cairn.store.registry.protocol import RegistryStore
    from cairn.store.tracking.protocol import TrackingStore


@dataclass(frozen=True)
class ServerContext:
    config: ServerConfig
    tracking: TrackingStore
    registry: RegistryStore  # the same database as ``tracking``

    def artifact_repository(self, uri: str) -> ArtifactRepository:
        """The repository behind an artifact root the server recorded (a run's, a model's).

        ``mlflow-artifacts:/<path>`` roots are the server's own proxied files: ``<path>`` under
        the artifacts destination (a local path or s3://), confined like any user path. Other
        URIs are opened as they are.
        """
        from cairn.store.artifacts.paths import join_uri

        parsed = urlparse(uri)
        if parsed.scheme != "mlflow-artifacts":
            return get_artifact_repository(uri)
        rel = safe_relative_path(parsed.path.lstrip("/"))
        destination = self.config.artifacts_destination
        return get_artifact_repository(join_uri(destination, rel) if rel else destination)
