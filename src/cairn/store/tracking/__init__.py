"""Tracking stores: where experiments, runs and what they logged are kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cairn.store.tracking.protocol import TrackingStore


def get_tracking_store(uri: str, artifact_root: str | None = None) -> TrackingStore:
    """The store behind a tracking URI: a SQL database, or a cairn/MLflow server over HTTP."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in ("sqlite", "postgresql", "postgres", "mysql"):
        from cairn.store.tracking.sql import SqlTrackingStore

        return SqlTrackingStore(uri, artifact_root)
    if scheme in ("http", "https"):
        from cairn.store.tracking.rest import RestTrackingStore

        return RestTrackingStore(uri, artifact_root)
    from cairn.errors import CairnError

    raise CairnError.invalid(
        f"Unsupported tracking URI {uri!r}: use sqlite:///path.db, postgresql://... or the "
        "http(s):// address of a cairn or MLflow tracking server."
    )
