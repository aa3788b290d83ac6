"""``python_function``: one ``predict(data, params=None)`` for every model, whatever its flavor.

``load_model(uri)`` reads the model's MLmodel, loads it through its flavor's ``_load_pyfunc``
(found through :mod:`cairn.models.flavors`, which maps MLflow's loader modules to cairn's) and
returns a :class:`PyFuncModel` that enforces the model's signature on every call. Custom models
subclass :class:`PythonModel` and are saved with :func:`save_model` / :func:`log_model`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import CairnError
from cairn.models.mlmodel import PYFUNC_FLAVOR, Model
from cairn.pyfunc.model import PythonModel, PythonModelContext

if TYPE_CHECKING:
    from cairn.models.logging import ModelInfo
    from cairn.models.signature import ModelSignature

FLAVOR_NAME = PYFUNC_FLAVOR

__all__ = [
    "FLAVOR_NAME",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "get_model_info",
    "load_model",
    "log_model",
    "save_model",
    "spark_udf",
]


def _download(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> str:
    from cairn.models.uri import local_model_path

    return local_model_path(model_uri, dst_path)


class PyFuncModel:
    """A loaded model behind the generic interface; ``metadata`` is its :class:`Model`."""

    def __init__(self, model_meta: Model, model_impl: Any, path: str) -> None:
        self._meta = model_meta
        self._impl = model_impl
        self._path = path

    @property
    def metadata(self) -> Model:
        return self._meta

    @property
    def loader_module(self) -> str | None:
        return self._meta.flavors.get(PYFUNC_FLAVOR, {}).get("loader_module")

    @property
    def model_path(self) -> str:
        return self._path

    def __repr__(self) -> str:
        return (
            f"<PyFuncModel: flavors={sorted(self._meta.flavors)}, "
            f"model_id={self._meta.model_id!r}, path={self._path!r}>"
        )

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """The model's prediction after the input and params pass the signature.

        Missing columns and types that cannot be converted safely raise a CairnError naming
        the column and expected type; safe conversions (int to float, column order) happen.
        """
        signature = self._meta.signature
        if signature is not None:
            from cairn.models.enforcement import enforce, enforce_params

            if signature.inputs is not None:
                data = enforce(signature.inputs, data)
            if signature.params is not None or params:
                params = enforce_params(signature.params, params) or None
        return self._impl.predict(data, params=params)

    def unwrap_python_model(self) -> Any:
        """The user's PythonModel instance (custom models only)."""
        unwrap = getattr(self._impl, "unwrap_python_model", None)
        if unwrap is None:
            raise CairnError.invalid("This model is not a custom PythonModel.")
        return unwrap()

    def get_raw_model(self) -> Any:
        """The flavor's native object (the sklearn estimator, the PythonModel ...)."""
        raw = getattr(self._impl, "raw_model", None)
        return raw if raw is not None else self.unwrap_python_model()


def load_model(
    model_uri: str | os.PathLike[str],
    dst_path: str | None = None,
    model_config: dict[str, Any] | None = None,
) -> PyFuncModel:
    """Load any model with a ``python_function`` flavor: a path, ``runs:/`` or ``models:/`` URI."""
    from cairn.models.flavors import loading_from, pyfunc_loader
    from cairn.models.saving import add_code_to_path
    from cairn.store.artifacts.paths import resolve_inside

    path = _download(model_uri, dst_path)
    meta = Model.load(path)
    conf = meta.flavors.get(PYFUNC_FLAVOR)
    if conf is None:
        have = ", ".join(sorted(meta.flavors)) or "none"
        raise CairnError.invalid(
            f"The model at {os.fspath(model_uri)!r} has no python_function flavor (it has: "
            f"{have}); load it with its own flavor's load_model."
        )
    loader = conf.get("loader_module")
    if not loader:
        raise CairnError.invalid("The model's python_function flavor names no loader_module.")
    add_code_to_path(path, conf.get("code"))
    module = pyfunc_loader(loader)
    data_path = str(resolve_inside(Path(path), conf["data"])) if conf.get("data") else path
    token = loading_from.set(repr(os.fspath(model_uri)))
    try:
        if module.__name__ == "cairn.pyfunc.model":
            impl = module._load_pyfunc(path, model_config)
        else:
            impl = module._load_pyfunc(data_path)
    finally:
        loading_from.reset(token)
    return PyFuncModel(meta, impl, path)


def save_model(
    path: str | os.PathLike[str],
    python_model: PythonModel | Any,
    *,
    artifacts: Mapping[str, str] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Save a custom model: the pickled instance, its artifacts and code, in MLflow's layout.

    If ``input_example`` is given and ``signature`` is not, the signature is inferred from the
    example and the model's prediction on it (the model's ``load_context`` runs first).
    """
    from cairn.models import saving
    from cairn.pyfunc.model import _PythonModelWrapper, save_python_model

    mlmodel = mlflow_model or Model()
    with saving.new_model_directory(path) as target:
        code = saving.copy_code_paths(target, code_paths)
        conf, context = save_python_model(target, python_model, artifacts=artifacts, code=code)

        def predict(data: Any) -> Any:
            """The model's output on its example, with its saved code importable as at load."""
            with saving.code_on_path(target, code):
                load_context = getattr(python_model, "load_context", None)
                if callable(load_context):
                    load_context(context)
                return _PythonModelWrapper(python_model, context).predict(data)

        resolved = saving.resolve_signature(signature, input_example, predict)
        return saving.finish_model(
            target,
            mlmodel,
            pyfunc_conf=conf,
            flavor_packages=["cairn", "cloudpickle"],  # the pickle names cairn.pyfunc
            signature=resolved,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
        )


def log_model(
    name: str = "model",
    python_model: PythonModel | Any = None,
    *,
    artifacts: Mapping[str, str] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    registered_model_name: str | None = None,
) -> ModelInfo:
    """Log a custom model to the active run (MLflow 3 style: a logged model with an id)."""
    from cairn.models.logging import log_model as _log_model

    if python_model is None:
        raise CairnError.invalid("log_model needs python_model=<a PythonModel instance>.")

    def save(path: Path, mlflow_model: Model, **kwargs: Any) -> Model:
        return save_model(path, python_model, mlflow_model=mlflow_model, **kwargs)

    return _log_model(
        save,
        name,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        registered_model_name=registered_model_name,
        artifacts=artifacts,
        code_paths=code_paths,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def get_model_info(model_uri: str) -> ModelInfo:
    from cairn.models.logging import get_model_info as _get

    return _get(model_uri)


def spark_udf(spark: Any, model_uri: str | os.PathLike[str], *args: Any, **kwargs: Any) -> Any:
    """A Spark pandas UDF scoring the model; see :func:`cairn.serving.spark.spark_udf`."""
    from cairn.serving.spark import spark_udf as _spark_udf

    return _spark_udf(spark, model_uri, *args, **kwargs)
