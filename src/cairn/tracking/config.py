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


def resolve_uri(uri: str) -> str:
    """The same URI with a relative SQLite path made absolute against the current directory.

    ``sqlite:///cairn.db`` names a different file in every working directory; stores, pools and
    loggers are keyed by the absolute form so a ``chdir`` never writes into the wrong file.
    """
    prefix = "sqlite:///"
    if uri.startswith(prefix):
        path = uri[len(prefix) :]
        if path and not path.startswith(("/", ":memory:")) and "mode=memory" not in path:
            return prefix + os.path.abspath(path)
    return uri


def get_artifact_root() -> str | None:
    return os.environ.get(ARTIFACT_ROOT_ENV)


def get_store(uri: str | None = None) -> TrackingStore:
    """One store per (URI, artifact root) per process: stores hold the connection pools."""
    from cairn.store.tracking import get_tracking_store

    key = (resolve_uri(uri or get_tracking_uri()), get_artifact_root())
    store = _stores.get(key)
    if store is None:
        with _lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = get_tracking_store(*key)
    return store
