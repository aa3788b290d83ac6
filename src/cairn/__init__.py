"""cairn: experiment tracking, models and registry; MLflow-compatible and fast.

``import cairn`` is cheap: the fluent API below is imported on first use, and the database,
pandas and plotting libraries only when a call needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cairn.version import __version__

_FLUENT = (
    "ActiveRun",
    "active_run",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "download_artifacts",
    "end_run",
    "flush",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_metric_history",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "list_artifacts",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
)
_ELSEWHERE = {
    "TrackingClient": "cairn.tracking.client",
    "CairnError": "cairn.errors",
    "RunStatus": "cairn.entities",
    "ViewType": "cairn.entities",
    "Dataset": "cairn.entities",
    "get_logged_model": "cairn.models.logged_models",
    "search_logged_models": "cairn.models.logged_models",
    "RegistryClient": "cairn.registry.client",
    "register_model": "cairn.registry.fluent",
    "set_registry_uri": "cairn.tracking.config",
    "get_registry_uri": "cairn.tracking.config",
}
# Flavor and model packages, imported on first attribute access: ``cairn.sklearn.log_model``.
_SUBMODULES = (
    "data",
    "models",
    "projects",
    "pyfunc",
    "sklearn",
    "pytorch",
    "xgboost",
    "lightgbm",
    "onnx",
)

__all__ = ["__version__", *_FLUENT, *_ELSEWHERE, *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _FLUENT:
        module = importlib.import_module("cairn.tracking.fluent")
    elif name in _ELSEWHERE:
        module = importlib.import_module(_ELSEWHERE[name])
    elif name in _SUBMODULES:
        return importlib.import_module(f"cairn.{name}")
    else:
        raise AttributeError(f"module 'cairn' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from cairn.entities import Dataset as Dataset
    from cairn.entities import RunStatus as RunStatus
    from cairn.entities import ViewType as ViewType
    from cairn.errors import CairnError as CairnError
    from cairn.registry.client import RegistryClient as RegistryClient
    from cairn.registry.fluent import register_model as register_model
    from cairn.tracking.client import TrackingClient as TrackingClient
    from cairn.tracking.config import get_registry_uri as get_registry_uri
    from cairn.tracking.config import set_registry_uri as set_registry_uri
    from cairn.tracking.fluent import *  # noqa: F403
