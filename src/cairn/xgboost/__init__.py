"""The ``xgboost`` flavor: Boosters and scikit-learn-API models (XGBClassifier, ...) saved with
XGBoost's own format (UBJSON by default, as MLflow 3.17 does), in MLflow's layout.

XGBoost's files hold trees and parameters, no code, so loading runs nothing from the file. The
class to rebuild is recorded as ``model_class``; only XGBoost's own classes are accepted, since
cairn does not import modules a model file names.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import CairnError
from cairn.models.mlmodel import Model

if TYPE_CHECKING:
    from cairn.models.logging import ModelInfo
    from cairn.models.signature import ModelSignature

FLAVOR_NAME = "xgboost"
MLFLOW_LOADER_MODULE = "mlflow.xgboost"
SUPPORTED_MODEL_FORMATS = ("ubj", "json", "deprecated")
_DEFAULT_CLASS = "xgboost.core.Booster"
# Distributions that install the ``xgboost`` module: the full (CUDA) build and the CPU-only one.
_DISTRIBUTIONS = ("xgboost", "xgboost-cpu")


def _import_xgboost() -> Any:
    try:
        import xgboost
    except ImportError as exc:
        raise CairnError.invalid(
            "The xgboost flavor needs XGBoost: pip install 'cairn[xgboost]'."
        ) from exc
    return xgboost


def _distribution() -> str:
    """The installed distribution providing ``xgboost`` (the CPU build if that is the one)."""
    from cairn.models.environment import installed_version

    for name in _DISTRIBUTIONS:
        if installed_version(name) is not None:
            return name
    return _DISTRIBUTIONS[0]


def _class_name(model: Any) -> str:
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"


def _model_class(name: str) -> type:
    """The XGBoost class an MLmodel names; anything outside the xgboost package is refused."""
    xgb = _import_xgboost()
    module_name, _, class_name = name.rpartition(".")
    if module_name.split(".")[0] == "xgboost":
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            cls = None
        if isinstance(cls, type) and issubclass(cls, (xgb.Booster, xgb.XGBModel)):
            return cls
    raise CairnError.invalid(
        f"The model's model_class {name!r} is not an XGBoost Booster or scikit-learn-API model "
        f"class available in xgboost {xgb.__version__}."
    )


def _check(model: Any, model_format: str) -> None:
    xgb = _import_xgboost()
    if not isinstance(model, (xgb.Booster, xgb.XGBModel)):
        raise CairnError.invalid(
            f"The xgboost flavor saves an xgboost.Booster or an XGBoost scikit-learn-API model, "
            f"not {type(model).__name__}."
        )
    if model_format not in SUPPORTED_MODEL_FORMATS:
        raise CairnError.invalid(
            f"Unknown model_format {model_format!r}; use one of "
            f"{', '.join(SUPPORTED_MODEL_FORMATS)}."
        )


def save_model(
    xgb_model: Any,
    path: str | os.PathLike[str],
    *,
    model_format: str = "ubj",
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Save a Booster or XGBoost scikit-learn-API model as a model directory.

    If ``input_example`` is given and ``signature`` is not, the signature is inferred from the
    example and the model's prediction on it.
    """
    from cairn.models import saving

    _check(xgb_model, model_format)
    xgb = _import_xgboost()
    with saving.new_model_directory(path) as target:
        code = saving.copy_code_paths(target, code_paths)
        file_name = f"model.{model_format}"
        try:
            xgb_model.save_model(str(target / file_name))
        except xgb.core.XGBoostError as exc:
            raise CairnError.invalid(f"XGBoost cannot save this model: {exc}") from exc
        mlmodel = mlflow_model or Model()
        mlmodel.add_flavor(
            FLAVOR_NAME,
            xgb_version=xgb.__version__,
            data=file_name,
            model_class=_class_name(xgb_model),
            model_format=model_format,
            code=code,
        )
        pyfunc_conf: dict[str, Any] = {"loader_module": MLFLOW_LOADER_MODULE, "data": file_name}
        if code:
            pyfunc_conf["code"] = code
        resolved = saving.resolve_signature(
            signature, input_example, _XGBoostPyfunc(xgb_model).predict
        )
        return saving.finish_model(
            target,
            mlmodel,
            pyfunc_conf=pyfunc_conf,
            flavor_packages=[_distribution()],
            signature=resolved,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
        )


def log_model(
    xgb_model: Any,
    name: str = "model",
    *,
    model_format: str = "ubj",
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    registered_model_name: str | None = None,
) -> ModelInfo:
    """Log a Booster or XGBoost scikit-learn-API model to the active run as a logged model;
    returns its ModelInfo (``model_uri`` is ``models:/<model_id>``)."""
    from cairn.models.logging import log_model as _log_model

    _check(xgb_model, model_format)

    def save(path: Path, mlflow_model: Model, **kwargs: Any) -> Model:
        return save_model(xgb_model, path, mlflow_model=mlflow_model, **kwargs)

    return _log_model(
        save,
        name,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        registered_model_name=registered_model_name,
        model_format=model_format,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        code_paths=code_paths,
    )


def _load_from_dir(path: str) -> Any:
    from cairn.models.saving import add_code_to_path
    from cairn.store.artifacts.paths import resolve_inside

    xgb = _import_xgboost()
    conf = Model.load(path).flavor(FLAVOR_NAME)
    add_code_to_path(path, conf.get("code"))
    file = resolve_inside(Path(path), conf["data"])
    model = _model_class(conf.get("model_class", _DEFAULT_CLASS))()
    try:
        model.load_model(str(file))
    except xgb.core.XGBoostError as exc:
        raise CairnError.invalid(
            f"XGBoost cannot read the model file {file.name!r}: {exc}"
        ) from exc
    return model


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """The Booster or scikit-learn-API model saved at a path, ``runs:/`` or ``models:/`` URI."""
    from cairn.models.uri import local_model_path

    return _load_from_dir(local_model_path(model_uri, dst_path))


class _XGBoostPyfunc:
    """``predict(data, params=None)`` over a Booster (fed a DMatrix) or an XGBModel."""

    def __init__(self, model: Any) -> None:
        self.raw_model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        xgb = _import_xgboost()
        if isinstance(self.raw_model, xgb.Booster):
            names = self.raw_model.feature_names
            if names and getattr(data, "ndim", None) == 2 and not hasattr(data, "columns"):
                # An array has no column names: its columns are the features, in order.
                return self.raw_model.predict(xgb.DMatrix(data, feature_names=names))
            return self.raw_model.predict(xgb.DMatrix(data))
        return self.raw_model.predict(data)


def _load_pyfunc(path: str) -> _XGBoostPyfunc:
    """Used by cairn.pyfunc.load_model; ``path`` is the model directory (or its model file)."""
    directory = os.path.dirname(path) if os.path.isfile(path) else path
    return _XGBoostPyfunc(_load_from_dir(directory))
