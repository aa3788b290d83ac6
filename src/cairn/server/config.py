"""What a server is started with: the flags of ``cairn server`` (named as ``mlflow server``'s)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_BACKEND_STORE_URI = "sqlite:///cairn.db"
DEFAULT_ARTIFACTS_DESTINATION = "./cairn-artifacts"
PROXIED_ARTIFACT_ROOT = "mlflow-artifacts:/"


@dataclass(frozen=True)
class ServerConfig:
    backend_store_uri: str = DEFAULT_BACKEND_STORE_URI
    # Where new experiments' artifacts go when clients write them directly (no proxy).
    default_artifact_root: str | None = None
    # Where the artifact proxy keeps files (local path or s3://bucket/prefix).
    artifacts_destination: str = DEFAULT_ARTIFACTS_DESTINATION
    serve_artifacts: bool = True
    # Host-header allow list against DNS rebinding; None means localhost and private ranges.
    allowed_hosts: tuple[str, ...] | None = None
    # Extra origins allowed to call the API from a browser (the server's own always are).
    cors_allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    # Whether X-Cairn-User names the acting user when there is no basic auth (see server.actor).
    trust_user_header: bool = True

    @property
    def experiment_artifact_root(self) -> str:
        """The root recorded in new experiments: the proxy's scheme unless told otherwise."""
        if self.default_artifact_root:
            return self.default_artifact_root
        return PROXIED_ARTIFACT_ROOT if self.serve_artifacts else self.artifacts_destination
