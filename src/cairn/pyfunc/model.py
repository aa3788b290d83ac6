"""Custom Python models: subclass :class:`PythonModel`, save it with ``artifacts`` and
``code_paths``, load it anywhere through ``cairn.pyfunc.load_model`` (or mlflow's).

The instance is stored with cloudpickle as ``python_model.pkl`` and the MLmodel names
``mlflow.pyfunc.model`` as its loader, exactly as MLflow lays it out, so each tool loads the
other's custom models. Unpickling runs code: load only models you trust.
"""

from __future__ import annotations

import inspect
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from cairn.errors import CairnError
from cairn.models.mlmodel import PYFUNC_FLAVOR, Model

_log = logging.getLogger("cairn.pyfunc")

LOADER_MODULE = "mlflow.pyfunc.model"  # MLflow's name; cairn maps it to this module
PYTHON_MODEL_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"


class PythonModelContext:
    """What ``load_context`` and ``predict`` get: the model's artifacts as local paths."""

    def __init__(self, artifacts: dict[str, str], model_config: dict[str, Any] | None = None):
        self._artifacts = artifacts
        self._model_config = model_config or {}

    @property
    def artifacts(self) -> dict[str, str]:
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any]:
        return self._model_config

    def __repr__(self) -> str:
        return f"PythonModelContext(artifacts={self._artifacts!r})"


class _NoTypeHints(NamedTuple):
    input: Any = None
    output: Any = None


class PythonModel:
    """Base class of custom models.

    Override ``predict(self, context, model_input, params=None)`` (or, as MLflow 3 allows,
    ``predict(self, model_input, params=None)``) and optionally ``load_context(self, context)``
    to read artifacts once at load time.
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Called once after loading, before any predict: open artifacts here."""

    def predict(self, context: PythonModelContext, model_input: Any, params: Any = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement predict().")

    @property
    def predict_type_hints(self) -> _NoTypeHints:
        """What mlflow's pyfunc wrapper asks of a model before predicting: cairn models
        declare no input type hints, so mlflow passes the input through unchanged."""
        return _NoTypeHints()


def _takes_context(predict: Any) -> bool:
    try:
        parameters = inspect.signature(predict).parameters
    except (TypeError, ValueError):
        return True
    if "context" in parameters:
        return True
    positional = [
        p
        for p in parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "params"
    ]
    return len(positional) >= 2


class _PythonModelWrapper:
    """Adapts a loaded PythonModel to ``predict(data, params=None)``."""

    def __init__(self, python_model: Any, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context
        predict = python_model.predict
        self._with_context = _takes_context(predict)
        try:
            self._with_params = "params" in inspect.signature(predict).parameters
        except (TypeError, ValueError):
            self._with_params = True

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        kwargs = {"params": params} if self._with_params else {}
        if params and not self._with_params:
            _log.warning("The model's predict() takes no params; ignoring %s.", sorted(params))
        if self._with_context:
            return self.python_model.predict(self.context, data, **kwargs)
        return self.python_model.predict(data, **kwargs)

    def unwrap_python_model(self) -> Any:
        return self.python_model


def _copy_artifacts(path: Path, artifacts: Mapping[str, str] | None) -> dict[str, Any]:
    """Copy each artifact into ``<model>/artifacts/``; returns the flavor's ``artifacts``."""
    if not artifacts:
        return {}
    from cairn.models.uri import local_model_path
    from cairn.store.artifacts.paths import safe_relative_path

    target = path / ARTIFACTS_DIR
    target.mkdir(exist_ok=True)
    out: dict[str, Any] = {}
    for name, uri in artifacts.items():
        uri = os.fspath(uri)
        source = Path(local_model_path(uri))
        base = safe_relative_path(source.name)
        dest = target / base
        if dest.exists():
            raise CairnError.invalid(
                f"Two artifacts would be saved as {base!r}; give them different file names."
            )
        if source.is_dir():
            shutil.copytree(source, dest)
        else:
            shutil.copy2(source, dest)
        out[name] = {"path": f"{ARTIFACTS_DIR}/{base}", "uri": uri}
    return out


def save_python_model(
    path: Path,
    python_model: Any,
    *,
    artifacts: Mapping[str, str] | None,
    code: str | None,
) -> tuple[dict[str, Any], PythonModelContext]:
    """Pickle the instance and copy its artifacts; returns (python_function conf, context)."""
    import cloudpickle

    if not callable(getattr(python_model, "predict", None)):
        raise CairnError.invalid(
            f"python_model must be a PythonModel instance with a predict() method, not "
            f"{type(python_model).__name__}."
        )
    saved_artifacts = _copy_artifacts(path, artifacts)
    with open(path / PYTHON_MODEL_FILE, "wb") as handle:
        cloudpickle.dump(python_model, handle)
    conf: dict[str, Any] = {
        "loader_module": LOADER_MODULE,
        "python_model": PYTHON_MODEL_FILE,
        "cloudpickle_version": cloudpickle.__version__,
        "code": code,
        "streamable": callable(getattr(python_model, "predict_stream", None)),
    }
    if saved_artifacts:
        conf["artifacts"] = saved_artifacts
    context = PythonModelContext({k: str(path / v["path"]) for k, v in saved_artifacts.items()})
    return conf, context


def load_python_model(path: str, model_config: dict[str, Any] | None = None) -> _PythonModelWrapper:
    """Unpickle the model, point its context at the local artifacts, call load_context."""
    import cloudpickle

    from cairn.store.artifacts.paths import resolve_inside

    root = Path(path)
    conf = Model.load(root).flavor(PYFUNC_FLAVOR)
    if "python_model" not in conf:
        raise CairnError.invalid(
            f"The model at {path!r} has no python_model file (a models-from-code model?); "
            "cairn loads pickled PythonModel instances."
        )
    saved = conf.get("cloudpickle_version")
    if saved and saved != cloudpickle.__version__:
        _log.warning(
            "The model was pickled with cloudpickle %s; this is %s, which may not read it.",
            saved,
            cloudpickle.__version__,
        )
    from cairn.models.flavors import loading_from

    _log.warning(
        "Loading a pickled Python model from %s: unpickling runs code; load only models you trust.",
        loading_from.get() or repr(path),
    )
    with open(resolve_inside(root, conf["python_model"]), "rb") as handle:
        python_model = cloudpickle.load(handle)
    artifacts = {
        name: str(resolve_inside(root, info["path"]))
        for name, info in (conf.get("artifacts") or {}).items()
    }
    context = PythonModelContext(artifacts, model_config)
    load_context = getattr(python_model, "load_context", None)
    if callable(load_context):
        load_context(context)
    return _PythonModelWrapper(python_model, context)


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> _PythonModelWrapper:
    return load_python_model(path, model_config)
