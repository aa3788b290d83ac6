"""Which store the client talks to: ``set_tracking_uri()`` > ``CAIRN_TRACKING_URI`` > default.

The default is embedded: ``sqlite:///cairn.db`` and ``./cairn-artifacts`` in the working
directory, so ``import cairn; cairn.log_metric(...)`` works with no server and no setup.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cairn.store.tracking.protocol import TrackingStore

DEFAULT_TRACKING_URI = "sqlite:///cairn.db"
TRACKING_URI_ENV = "CAIRN_TRACKING_URI"
ARTIFACT_ROOT_ENV = "CAIRN_ARTIFACT_ROOT"

_tracking_uri: str | None = None
_stores: dict[tuple[str, str | None], TrackingStore] = {}
_lock = threading.Lock()


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """Choose the store for this process; a plain path means a SQLite file there."""
    global _tracking_uri
    if uri is not None:
        uri = os.fspath(uri)
        if "://" not in uri:
            uri = f"sqlite:///{os.path.abspath(uri)}"
    _tracking_uri = uri


def get_tracking_uri() -> str:
    return _tracking_uri or os.environ.get(TRACKING_URI_ENV) or DEFAULT_TRACKING_URI


def get_artifact_root() -> str | None:
    return os.environ.get(ARTIFACT_ROOT_ENV)


def get_store(uri: str | None = None) -> TrackingStore:
    """One store per (URI, artifact root) per process: stores hold the connection pools."""
    from cairn.store.tracking import get_tracking_store

    key = (uri or get_tracking_uri(), get_artifact_root())
    store = _stores.get(key)
    if store is None:
        with _lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = get_tracking_store(*key)
    return store
