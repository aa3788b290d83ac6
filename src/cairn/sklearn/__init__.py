"""The ``sklearn`` flavor: scikit-learn estimators saved with skops (safe by default, as in
MLflow 3.17), pickle or cloudpickle, in MLflow's layout.

skops files hold no code: loading builds objects only from types on an allow-list (skops' own
defaults for scikit-learn and numpy, plus the types recorded at save time). Pickle and
cloudpickle files run code when loaded, so loading one warns and says where it came from.
"""

from __future__ import annotations

import importlib.abc
import logging
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import CairnError
from cairn.models.mlmodel import PYFUNC_FLAVOR, Model

if TYPE_CHECKING:
    from cairn.models.logging import ModelInfo
    from cairn.models.signature import ModelSignature

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SUPPORTED_SERIALIZATION_FORMATS = (
    SERIALIZATION_FORMAT_SKOPS,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
)
_FILE_NAMES = {
    SERIALIZATION_FORMAT_SKOPS: "model.skops",
    SERIALIZATION_FORMAT_PICKLE: "model.pkl",
    SERIALIZATION_FORMAT_CLOUDPICKLE: "model.pkl",
}
MLFLOW_LOADER_MODULE = "mlflow.sklearn"

_log = logging.getLogger("cairn.sklearn")


class UnsafeModelFormatWarning(UserWarning):
    """A model is being loaded from a format that runs code (pickle, cloudpickle)."""


def _check_format(serialization_format: str) -> None:
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise CairnError.invalid(
            f"Unknown serialization_format {serialization_format!r}; use one of "
            f"{', '.join(SUPPORTED_SERIALIZATION_FORMATS)}."
        )


class _WithoutTorch(importlib.abc.MetaPathFinder):
    """A finder that reports torch as not installed (see :func:`_skops_io`)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def _skops_io() -> Any:
    """``skops.io``, imported without loading torch.

    Importing skops.io builds its trusted-type list by importing every scikit-learn module,
    and scikit-learn's vendored array-API layer then imports torch (1.6 s here) merely because
    it is installed. When torch is not loaded already, it is reported missing for that one
    import (the array-API torch module is then skipped, as on a machine without torch);
    nothing about skops' trusted types depends on it, and torch imports normally afterwards.
    Raises ImportError when skops is not installed.
    """
    if "skops.io" in sys.modules or "torch" in sys.modules:
        import skops.io

        return skops.io
    finder = _WithoutTorch()
    sys.meta_path.insert(0, finder)
    try:
        import skops.io
    finally:
        sys.meta_path.remove(finder)
    return skops.io


def _dump(model: Any, file: Path, serialization_format: str) -> list[str] | None:
    """Write the model; for skops, returns the types beyond skops' defaults it contains."""
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        try:
            sio = _skops_io()
        except ImportError as exc:
            raise CairnError.invalid(
                "Saving in the skops format needs skops: pip install 'cairn[skops]' (or pass "
                "serialization_format='cloudpickle')."
            ) from exc
        try:
            sio.dump(model, file)
        except Exception as exc:
            raise CairnError.invalid(
                f"skops cannot serialize this model ({type(exc).__name__}: {exc}); custom "
                "functions or classes defined outside an importable module are a common cause. "
                "Pass serialization_format='cloudpickle' to pickle it instead."
            ) from exc
        untrusted = sorted(sio.get_untrusted_types(file=file))
        try:  # a model that saves but cannot load back is worse than an error now
            sio.load(file, trusted=untrusted or None)
        except Exception as exc:
            raise CairnError.invalid(
                f"skops wrote the model but cannot read it back ({type(exc).__name__}: {exc}); "
                "classes defined inside functions or in unimportable modules are a common "
                "cause. Pass serialization_format='cloudpickle' to pickle it instead."
            ) from exc
        return untrusted or None
    with open(file, "wb") as handle:
        if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
            import cloudpickle

            cloudpickle.dump(model, handle)
        else:
            import pickle

            pickle.dump(model, handle, protocol=pickle.DEFAULT_PROTOCOL)
    return None


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    *,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    skops_trusted_types: Sequence[str] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    pyfunc_predict_fn: str = "predict",
    mlflow_model: Model | None = None,
) -> Model:
    """Save an estimator as a model directory (MLmodel, model file, environment, example).

    With skops, types outside skops' default allow-list (a custom transformer, say) are
    recorded in ``skops_trusted_types`` so the model loads again; pass ``skops_trusted_types``
    to record more. If ``input_example`` is given and ``signature`` is not, the signature is
    inferred from the example and the model's prediction on it.
    """
    from cairn.models import saving

    _check_format(serialization_format)
    if not callable(getattr(sk_model, pyfunc_predict_fn, None)):
        raise CairnError.invalid(
            f"The model ({type(sk_model).__name__}) has no {pyfunc_predict_fn}() method."
        )
    with saving.new_model_directory(path) as target:
        import sklearn

        code = saving.copy_code_paths(target, code_paths)
        file_name = _FILE_NAMES[serialization_format]
        found = _dump(sk_model, target / file_name, serialization_format)
        trusted = sorted(set(found or []) | set(skops_trusted_types or [])) or None
        mlmodel = mlflow_model or Model()
        mlmodel.add_flavor(
            FLAVOR_NAME,
            pickled_model=file_name,
            sklearn_version=sklearn.__version__,
            serialization_format=serialization_format,
            code=code,
            skops_trusted_types=trusted
            if serialization_format == SERIALIZATION_FORMAT_SKOPS
            else None,
        )
        pyfunc_conf = {
            "loader_module": MLFLOW_LOADER_MODULE,
            "model_path": file_name,
            "predict_fn": pyfunc_predict_fn,
        }
        if code:
            pyfunc_conf["code"] = code
        packages = ["scikit-learn"]
        if serialization_format != SERIALIZATION_FORMAT_PICKLE:
            packages.append(serialization_format)
        resolved = saving.resolve_signature(
            signature, input_example, getattr(sk_model, pyfunc_predict_fn)
        )
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
    sk_model: Any,
    name: str = "model",
    *,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    skops_trusted_types: Sequence[str] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    pyfunc_predict_fn: str = "predict",
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    registered_model_name: str | None = None,
) -> ModelInfo:
    """Log an estimator to the active run as a logged model; returns its ModelInfo
    (``model_uri`` is ``models:/<model_id>``)."""
    from cairn.models.logging import log_model as _log_model

    _check_format(serialization_format)

    def save(path: Path, mlflow_model: Model, **kwargs: Any) -> Model:
        return save_model(sk_model, path, mlflow_model=mlflow_model, **kwargs)

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
        pyfunc_predict_fn=pyfunc_predict_fn,
    )


def _load_file(file: Path, conf: Mapping[str, Any], source: str) -> Any:
    serialization_format = conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE)
    _check_format(serialization_format)
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        try:
            sio = _skops_io()
        except ImportError as exc:
            raise CairnError.invalid(
                "This model was saved with skops; install it: pip install 'cairn[skops]'."
            ) from exc
        recorded = set(conf.get("skops_trusted_types") or [])
        untrusted = set(sio.get_untrusted_types(file=file))
        unknown = sorted(untrusted - recorded)
        if unknown:
            raise CairnError.invalid(
                f"The skops model at {source} contains types that are not trusted: "
                f"{', '.join(unknown)}. If you trust them, re-save the model with "
                "skops_trusted_types naming them."
            )
        return sio.load(file, trusted=sorted(untrusted) or None)
    message = (
        f"Loading a {serialization_format}-format scikit-learn model from {source}: "
        "unpickling runs code from the file. Load only models you trust; the skops format "
        "(the default for saving) does not run code."
    )
    warnings.warn(message, UnsafeModelFormatWarning, stacklevel=3)
    _log.warning(message)
    with open(file, "rb") as handle:
        if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
            import cloudpickle

            return cloudpickle.load(handle)
        import pickle

        return pickle.load(handle)


def _load_from_dir(path: str, source: str) -> Any:
    from cairn.models.saving import add_code_to_path
    from cairn.store.artifacts.paths import resolve_inside

    conf = Model.load(path).flavor(FLAVOR_NAME)
    add_code_to_path(path, conf.get("code"))
    return _load_file(resolve_inside(Path(path), conf["pickled_model"]), conf, source)


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """The scikit-learn estimator saved at a path, ``runs:/`` or ``models:/`` URI."""
    from cairn.models.uri import local_model_path

    path = local_model_path(model_uri, dst_path)
    return _load_from_dir(path, repr(os.fspath(model_uri)))


# Estimators that only read a DataFrame as its values in feature_names_in_ order (no column
# selection by name, unlike pipelines and column transformers).
_ARRAY_ESTIMATOR_MODULES = tuple(
    f"sklearn.{package}."
    for package in ("linear_model", "ensemble", "tree", "svm", "neighbors", "naive_bayes")
)
_NAMES_WARNING = "X does not have valid feature names"


class _SklearnPyfunc:
    """The generic interface over an estimator: ``predict(data, params=None)``.

    A numeric DataFrame whose columns are exactly the estimator's ``feature_names_in_`` is
    passed to a plain estimator as its numpy values: scikit-learn's validation of a small
    DataFrame costs several times the prediction itself (a served model's main cost), and
    the columns were already checked here, so its feature-name warning is silenced.
    """

    def __init__(self, model: Any, predict_fn: str = "predict") -> None:
        self.raw_model = model
        self._predict = getattr(model, predict_fn)
        names = getattr(model, "feature_names_in_", None)
        plain = type(model).__module__.startswith(_ARRAY_ESTIMATOR_MODULES)
        self._names = list(names) if plain and names is not None else None

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        values = self._as_array(data)
        if values is None:
            return self._predict(data)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_NAMES_WARNING, category=UserWarning)
            return self._predict(values)

    def _as_array(self, data: Any) -> Any:
        if self._names is None or type(data).__name__ != "DataFrame":
            return None
        if list(data.columns) != self._names:
            return None
        from cairn.models.enforcement import column_dtypes

        if not all(dtype.kind in "fiub" for dtype in column_dtypes(data)):
            return None
        return data.to_numpy()


def _load_pyfunc(path: str) -> _SklearnPyfunc:
    """Used by cairn.pyfunc.load_model; ``path`` is the model directory (or its model file)."""
    from cairn.models.flavors import loading_from

    directory = os.path.dirname(path) if os.path.isfile(path) else path
    model = _load_from_dir(directory, loading_from.get() or repr(directory))
    predict_fn = Model.load(directory).flavors.get(PYFUNC_FLAVOR, {}).get("predict_fn", "predict")
    return _SklearnPyfunc(model, predict_fn)
