"""The ``lightgbm`` flavor: Boosters in LightGBM's own text format (``model.lgb``) and
scikit-learn-API models (LGBMClassifier, ...) the way the sklearn flavor stores estimators
(skops by default, as MLflow 3.17 does; pickle or cloudpickle on request), in MLflow's layout.

A Booster file holds no code. The scikit-learn-API formats load with the sklearn flavor's rules:
skops only builds allow-listed types, pickles warn and say where they came from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import CairnError
from cairn.models.mlmodel import Model

if TYPE_CHECKING:
    from cairn.models.logging import ModelInfo
    from cairn.models.signature import ModelSignature

FLAVOR_NAME = "lightgbm"
MLFLOW_LOADER_MODULE = "mlflow.lightgbm"
BOOSTER_CLASS = "lightgbm.basic.Booster"
BOOSTER_FILE = "model.lgb"


def _import_lightgbm() -> Any:
    try:
        import lightgbm
    except ImportError as exc:
        raise CairnError.invalid(
            "The lightgbm flavor needs LightGBM: pip install 'cairn[lightgbm]'."
        ) from exc
    return lightgbm


def _class_name(model: Any) -> str:
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"


def _check(model: Any, serialization_format: str) -> None:
    from cairn.sklearn import _check_format

    lgb = _import_lightgbm()
    if not isinstance(model, (lgb.Booster, lgb.LGBMModel)):
        raise CairnError.invalid(
            "The lightgbm flavor saves a lightgbm.Booster or a LightGBM scikit-learn-API model, "
            f"not {type(model).__name__}."
        )
    _check_format(serialization_format)


def save_model(
    lgb_model: Any,
    path: str | os.PathLike[str],
    *,
    serialization_format: str = "skops",
    skops_trusted_types: Sequence[str] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Save a Booster or LightGBM scikit-learn-API model as a model directory.

    ``serialization_format`` and ``skops_trusted_types`` apply to scikit-learn-API models only
    (a Booster is always LightGBM's text format). If ``input_example`` is given and
    ``signature`` is not, the signature is inferred from the example and the model's prediction.
    """
    from cairn.models import saving
    from cairn.sklearn import _FILE_NAMES, SERIALIZATION_FORMAT_SKOPS, _dump

    _check(lgb_model, serialization_format)
    lgb = _import_lightgbm()
    is_booster = isinstance(lgb_model, lgb.Booster)
    with saving.new_model_directory(path) as target:
        code = saving.copy_code_paths(target, code_paths)
        packages = ["lightgbm"]
        if is_booster:
            file_name = BOOSTER_FILE
            lgb_model.save_model(str(target / file_name))
            fmt, trusted = None, None
        else:
            file_name = _FILE_NAMES[serialization_format]
            found = _dump(lgb_model, target / file_name, serialization_format)
            fmt = serialization_format
            trusted = sorted(set(found or []) | set(skops_trusted_types or [])) or None
            if fmt != SERIALIZATION_FORMAT_SKOPS:
                trusted = None
            packages.append("scikit-learn")
            if fmt != "pickle":
                packages.append(fmt)
        mlmodel = mlflow_model or Model()
        mlmodel.add_flavor(
            FLAVOR_NAME,
            lgb_version=lgb.__version__,
            data=file_name,
            model_class=_class_name(lgb_model),
            serialization_format=fmt,
            skops_trusted_types=trusted,
            code=code,
        )
        pyfunc_conf: dict[str, Any] = {"loader_module": MLFLOW_LOADER_MODULE, "data": file_name}
        if code:
            pyfunc_conf["code"] = code
        resolved = saving.resolve_signature(signature, input_example, lgb_model.predict)
        return saving.finish_model(
            target,
            mlmodel,
            pyfunc_conf=pyfunc_conf,
            flavor_packages=packages,
            signature=resolved,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
        )


def log_model(
    lgb_model: Any,
    name: str = "model",
    *,
    serialization_format: str = "skops",
    skops_trusted_types: Sequence[str] | None = None,
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
    """Log a Booster or LightGBM scikit-learn-API model to the active run as a logged model;
    returns its ModelInfo (``model_uri`` is ``models:/<model_id>``)."""
    from cairn.models.logging import log_model as _log_model

    _check(lgb_model, serialization_format)

    def save(path: Path, mlflow_model: Model, **kwargs: Any) -> Model:
        return save_model(lgb_model, path, mlflow_model=mlflow_model, **kwargs)

    return _log_model(
        save,
        name,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        registered_model_name=registered_model_name,
        serialization_format=serialization_format,
        skops_trusted_types=skops_trusted_types,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        code_paths=code_paths,
    )


def _load_from_dir(path: str, source: str) -> Any:
    from cairn.models.saving import add_code_to_path
    from cairn.sklearn import _load_file
    from cairn.store.artifacts.paths import resolve_inside

    lgb = _import_lightgbm()
    conf = Model.load(path).flavor(FLAVOR_NAME)
    add_code_to_path(path, conf.get("code"))
    file = resolve_inside(Path(path), conf["data"])
    if conf.get("model_class", BOOSTER_CLASS) == BOOSTER_CLASS:
        try:
            return lgb.Booster(model_file=str(file))
        except lgb.basic.LightGBMError as exc:
            raise CairnError.invalid(
                f"LightGBM cannot read the model file {file.name!r} at {source}: {exc}"
            ) from exc
    # Models saved before MLflow recorded a format were cloudpickled.
    fmt = conf.get("serialization_format") or "cloudpickle"
    return _load_file(file, {**conf, "serialization_format": fmt}, source)


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """The Booster or scikit-learn-API model saved at a path, ``runs:/`` or ``models:/`` URI."""
    from cairn.models.uri import local_model_path

    path = local_model_path(model_uri, dst_path)
    return _load_from_dir(path, repr(os.fspath(model_uri)))


class _LightGBMPyfunc:
    """``predict(data, params=None)`` over a Booster or an LGBMModel."""

    def __init__(self, model: Any) -> None:
        self.raw_model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.raw_model.predict(data)


def _load_pyfunc(path: str) -> _LightGBMPyfunc:
    """Used by cairn.pyfunc.load_model; ``path`` is the model directory (or its model file)."""
    from cairn.models.flavors import loading_from

    directory = os.path.dirname(path) if os.path.isfile(path) else path
    return _LightGBMPyfunc(_load_from_dir(directory, loading_from.get() or repr(directory)))
