"""Which store the client talks to: ``set_tracking_uri()`` > ``CAIRN_TRACKING_URI`` > default
(or, inside ``mlflow run`` against a server, that server).

The default is embedded: ``sqlite:///cairn.db`` and ``./cairn-artifacts`` in the working
directory, so ``import cairn; cairn.log_metric(...)`` works with no server and no setup.

The model registry lives where the tracking data lives unless ``set_registry_uri()`` or
``CAIRN_REGISTRY_URI`` says otherwise (MLflow's rule).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cairn.store.registry.protocol import RegistryStore
    from cairn.store.tracking.protocol import TrackingStore

DEFAULT_TRACKING_URI = "sqlite:///cairn.db"
TRACKING_URI_ENV = "CAIRN_TRACKING_URI"
REGISTRY_URI_ENV = "CAIRN_REGISTRY_URI"
ARTIFACT_ROOT_ENV = "CAIRN_ARTIFACT_ROOT"

_tracking_uri: str | None = None
_registry_uri: str | None = None
_stores: dict[tuple[str, str | None], TrackingStore] = {}
_registry_stores: dict[str, RegistryStore] = {}
_lock = threading.Lock()


def _as_uri(uri: str | os.PathLike[str] | None) -> str | None:
    """A plain path means a SQLite file there."""
    if uri is None:
        return None
    uri = os.fspath(uri)
    return uri if "://" in uri else f"sqlite:///{os.path.abspath(uri)}"


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """Choose the store for this process; a plain path means a SQLite file there."""
    global _tracking_uri
    _tracking_uri = _as_uri(uri)


def get_tracking_uri() -> str:
    return (
        _tracking_uri
        or os.environ.get(TRACKING_URI_ENV)
        or _launched_by_mlflow_run()
        or DEFAULT_TRACKING_URI
    )


def _launched_by_mlflow_run() -> str | None:
    """Inside a command started by ``mlflow run`` against a server (``MLFLOW_RUN_ID`` and an
    http(s) ``MLFLOW_TRACKING_URI`` set), the server that holds the run to resume. Anywhere
    else MLflow's variables are ignored: cairn's embedded store stays the default."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    if os.environ.get("MLFLOW_RUN_ID") and uri.startswith(("http://", "https://")):
        return uri
    return None


def set_registry_uri(uri: str | os.PathLike[str] | None) -> None:
    """Keep the model registry somewhere else than the tracking data (None: beside it again)."""
    global _registry_uri
    _registry_uri = _as_uri(uri)


def explicit_registry_uri() -> str | None:
    """The registry URI set for this process or in the environment, if any."""
    return _registry_uri or os.environ.get(REGISTRY_URI_ENV) or None


def get_registry_uri() -> str:
    return explicit_registry_uri() or get_tracking_uri()


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


def get_registry_store(uri: str | None = None) -> RegistryStore:
    """One registry store per URI per process, like :func:`get_store`."""
    from cairn.store.registry import get_registry_store as open_registry_store

    key = resolve_uri(uri or get_registry_uri())
    store = _registry_stores.get(key)
    if store is None:
        with _lock:
            store = _registry_stores.get(key)
            if store is None:
                store = _registry_stores[key] = open_registry_store(key)
    return store
