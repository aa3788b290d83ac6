"""The flavor registry: which module saves and loads each flavor, and MLflow's names for them.

A flavor is one module exposing ``FLAVOR_NAME``, ``save_model``, ``log_model``, ``load_model``
and ``_load_pyfunc(path)``. Adding a flavor is adding its module here (or calling
:func:`register_flavor`). ``python_function.loader_module`` in an MLmodel names MLflow's module
for built-in flavors (``mlflow.sklearn``) so mlflow can load cairn's models; cairn maps those
names back to its own modules. Loader modules are never imported just because a file names
them: only registered ones are, and ``mlflow.*`` ones fall back to mlflow if it is installed.
"""

from __future__ import annotations

import importlib
import logging
from contextvars import ContextVar
from types import ModuleType

from cairn.errors import CairnError

_log = logging.getLogger("cairn.models")

# The URI a model is being loaded from, so a flavor's ``_load_pyfunc(path)`` (which only sees
# the local copy) can say where a model came from, e.g. when warning about pickles.
loading_from: ContextVar[str | None] = ContextVar("cairn_model_source", default=None)

# flavor name -> cairn module
FLAVOR_MODULES: dict[str, str] = {
    "python_function": "cairn.pyfunc",
    "sklearn": "cairn.sklearn",
    "pytorch": "cairn.pytorch",
    "xgboost": "cairn.xgboost",
    "lightgbm": "cairn.lightgbm",
    "onnx": "cairn.onnx",
}
# python_function.loader_module as MLflow writes it -> the cairn module that loads it
LOADER_MODULES: dict[str, str] = {
    "mlflow.sklearn": "cairn.sklearn",
    "mlflow.pyfunc.model": "cairn.pyfunc.model",
    "mlflow.pytorch": "cairn.pytorch",
    "mlflow.xgboost": "cairn.xgboost",
    "mlflow.lightgbm": "cairn.lightgbm",
    "mlflow.onnx": "cairn.onnx",
}


def register_flavor(name: str, module: str, mlflow_loader_module: str | None = None) -> None:
    """Make ``module`` the flavor ``name``; ``mlflow_loader_module`` is MLflow's name for it."""
    FLAVOR_MODULES[name] = module
    if mlflow_loader_module:
        LOADER_MODULES[mlflow_loader_module] = module
    LOADER_MODULES[module] = module


def mlflow_loader_module(flavor_module: str) -> str:
    """The loader_module to write for a cairn flavor module (MLflow's name if it has one)."""
    for mlflow_name, cairn_name in LOADER_MODULES.items():
        if cairn_name == flavor_module and mlflow_name.startswith("mlflow."):
            return mlflow_name
    return flavor_module


def flavor_module(name: str) -> ModuleType:
    module = FLAVOR_MODULES.get(name)
    if module is None:
        raise CairnError.invalid(
            f"Unknown model flavor {name!r}; known flavors: {', '.join(sorted(FLAVOR_MODULES))}."
        )
    return importlib.import_module(module)


def pyfunc_loader(loader_module: str) -> ModuleType:
    """The module whose ``_load_pyfunc(path)`` loads a model with this loader_module."""
    known = set(LOADER_MODULES.values())
    target = LOADER_MODULES.get(loader_module)
    if target is None and loader_module in known:
        target = loader_module
    if target is not None:
        try:
            return importlib.import_module(target)
        except ModuleNotFoundError as exc:
            if not exc.name or not target.startswith(exc.name):
                raise  # a missing optional framework, reported as itself
    if loader_module.startswith("mlflow."):
        try:
            module = importlib.import_module(loader_module)
        except ImportError as exc:
            raise CairnError.invalid(
                f"The model's loader module {loader_module!r} has no cairn flavor and mlflow "
                f"cannot import it ({exc}); install mlflow with that flavor's dependencies."
            ) from exc
        _log.info("Loading the model with mlflow's %s (no cairn flavor for it).", loader_module)
        return module
    raise CairnError.invalid(
        f"The model's loader module {loader_module!r} is not a registered cairn or MLflow "
        "flavor; cairn does not import modules named by a model file."
    )
