"""The ``pytorch`` flavor: ``torch.nn.Module`` models in MLflow's layout.

cairn saves the whole module with ``torch.save`` and cloudpickle under ``data/model.pth`` (MLflow's
``serialization_format="pickle"`` layout), so class definitions from ``__main__`` survive and
mlflow loads the result with its own pickle module. Loading a pickled module runs code from the
file, so it warns and says where the model came from. Models mlflow saved as ``torch.export``
programs (``data/model.pt2``, its default) load too. A model file names its pickle module; cairn
maps the known names to pickle and never imports a module just because a file names it.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import CairnError
from cairn.models.mlmodel import Model

if TYPE_CHECKING:
    from cairn.models.logging import ModelInfo
    from cairn.models.signature import ModelSignature

FLAVOR_NAME = "pytorch"
MLFLOW_LOADER_MODULE = "mlflow.pytorch"
MODEL_DATA = "data"
MODEL_FILE = "model.pth"
EXPORTED_MODEL_FILE = "model.pt2"
PICKLE_MODULE_INFO = "pickle_module_info.txt"
# The pickle module MLflow records (cloudpickle under its own name); mlflow imports it to load.
MLFLOW_PICKLE_MODULE = "mlflow.pytorch.pickle_module"
# Pickle modules a model file may name; each one's files are read by the standard unpickler.
_KNOWN_PICKLE_MODULES = (MLFLOW_PICKLE_MODULE, "cloudpickle", "pickle")

_log = logging.getLogger("cairn.pytorch")


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise CairnError.invalid(
            "The pytorch flavor needs PyTorch: pip install 'cairn[pytorch]'."
        ) from exc
    return torch


def _check(model: Any) -> None:
    torch = _import_torch()
    if not isinstance(model, torch.nn.Module):
        raise CairnError.invalid(
            f"The pytorch flavor saves a torch.nn.Module, not {type(model).__name__}."
        )


def _tensor(value: Any) -> Any:
    """A model input as a tensor: DataFrames as their float32 values, arrays as they are."""
    import numpy as np

    torch = _import_torch()
    if isinstance(value, torch.Tensor):
        return value
    # A pandas DataFrame or Series goes in as its float32 values.
    array = value.to_numpy(dtype=np.float32) if hasattr(value, "to_numpy") else np.asarray(value)
    if array.dtype == object:
        raise CairnError.invalid(
            "The pytorch flavor predicts on numeric arrays, DataFrames or dicts of arrays; got "
            f"{type(value).__name__} holding non-numeric values."
        )
    array = np.ascontiguousarray(array)
    if not array.flags.writeable:  # torch tensors share memory and may be written to
        array = array.copy()
    return torch.from_numpy(array)


def _output(value: Any) -> Any:
    torch = _import_torch()
    if not isinstance(value, torch.Tensor):
        raise CairnError.invalid(
            "The pytorch flavor's predict needs the model to return one tensor; it returned "
            f"{type(value).__name__}."
        )
    return value.detach().cpu().numpy()


def _run(model: Any, data: Any) -> Any:
    """The model's output on ``data`` as numpy, without gradients; a dict is keyword inputs."""
    torch = _import_torch()
    with torch.no_grad():
        if isinstance(data, Mapping):
            result = model(**{str(k): _tensor(v) for k, v in data.items()})
        else:
            result = model(_tensor(data))
    return _output(result)


def _predict_unchanged(model: Any) -> Any:
    """Predict in eval mode for signature inference, leaving the caller's module as it was."""

    def predict(data: Any) -> Any:
        training = model.training
        model.eval()
        try:
            return _run(model, data)
        finally:
            model.train(training)

    return predict


def save_model(
    pytorch_model: Any,
    path: str | os.PathLike[str],
    *,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Save a ``torch.nn.Module`` as a model directory (MLmodel, ``data/model.pth``, environment,
    example).

    If ``input_example`` is given and ``signature`` is not, the signature is inferred from the
    example and the model's output on it (tensor specs for a numpy example).
    """
    from cairn.models import saving

    _check(pytorch_model)
    torch = _import_torch()
    with saving.new_model_directory(path) as target:
        import cloudpickle

        code = saving.copy_code_paths(target, code_paths)
        data_dir = target / MODEL_DATA
        data_dir.mkdir()
        (data_dir / PICKLE_MODULE_INFO).write_text(MLFLOW_PICKLE_MODULE)
        try:
            if isinstance(pytorch_model, torch.jit.ScriptModule):
                torch.jit.save(pytorch_model, str(data_dir / MODEL_FILE))
            else:
                torch.save(pytorch_model, data_dir / MODEL_FILE, pickle_module=cloudpickle)
        except Exception as exc:
            raise CairnError.invalid(
                f"PyTorch cannot save this model ({type(exc).__name__}: {exc})."
            ) from exc
        mlmodel = mlflow_model or Model()
        mlmodel.add_flavor(
            FLAVOR_NAME,
            model_data=MODEL_DATA,
            pytorch_version=str(torch.__version__),
            code=code,
        )
        pyfunc_conf: dict[str, Any] = {
            "loader_module": MLFLOW_LOADER_MODULE,
            "data": MODEL_DATA,
            "pickle_module_name": MLFLOW_PICKLE_MODULE,
            "config": {"device": None},
        }
        if code:
            pyfunc_conf["code"] = code
        with saving.code_on_path(target, code):
            resolved = saving.resolve_signature(
                signature, input_example, _predict_unchanged(pytorch_model)
            )
        return saving.finish_model(
            target,
            mlmodel,
            pyfunc_conf=pyfunc_conf,
            flavor_packages=["torch", "cloudpickle"],
            signature=resolved,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
        )


def log_model(
    pytorch_model: Any,
    name: str = "model",
    *,
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
    """Log a ``torch.nn.Module`` to the active run as a logged model; returns its ModelInfo
    (``model_uri`` is ``models:/<model_id>``)."""
    from cairn.models.logging import log_model as _log_model

    _check(pytorch_model)

    def save(path: Path, mlflow_model: Model, **kwargs: Any) -> Model:
        return save_model(pytorch_model, path, mlflow_model=mlflow_model, **kwargs)

    return _log_model(
        save,
        name,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        registered_model_name=registered_model_name,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        code_paths=code_paths,
    )


def _load_data(data_dir: Path, source: str) -> Any:
    """The module in a model's ``data`` directory, in eval mode unless it is an exported
    program (those have no training mode)."""
    torch = _import_torch()
    pickled = data_dir / MODEL_FILE
    if not pickled.exists():
        exported = data_dir / EXPORTED_MODEL_FILE
        if not exported.exists():
            raise CairnError.invalid(
                f"The PyTorch model at {source} has neither {MODEL_DATA}/{MODEL_FILE} nor "
                f"{MODEL_DATA}/{EXPORTED_MODEL_FILE}."
            )
        return torch.export.load(str(exported)).module()
    info = data_dir / PICKLE_MODULE_INFO
    name = info.read_text().strip() if info.exists() else "pickle"
    if name not in _KNOWN_PICKLE_MODULES:
        raise CairnError.invalid(
            f"The PyTorch model at {source} was saved with the pickle module {name!r}; cairn "
            f"reads models saved with {', '.join(_KNOWN_PICKLE_MODULES)} and does not import "
            "modules a model file names."
        )
    from cairn.sklearn import UnsafeModelFormatWarning

    message = (
        f"Loading a pickled PyTorch model from {source}: unpickling runs code from the file. "
        "Load only models you trust."
    )
    warnings.warn(message, UnsafeModelFormatWarning, stacklevel=4)
    _log.warning(message)
    import pickle

    # torch.load reads TorchScript archives with torch.jit.load itself.
    model = torch.load(pickled, pickle_module=pickle, weights_only=False)
    model.eval()
    return model


def _load_from_dir(path: str, source: str) -> Any:
    from cairn.models.saving import add_code_to_path
    from cairn.store.artifacts.paths import resolve_inside

    conf = Model.load(path).flavor(FLAVOR_NAME)
    add_code_to_path(path, conf.get("code"))
    return _load_data(resolve_inside(Path(path), conf.get("model_data", MODEL_DATA)), source)


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """The ``torch.nn.Module`` saved at a path, ``runs:/`` or ``models:/`` URI (in eval mode)."""
    from cairn.models.uri import local_model_path

    path = local_model_path(model_uri, dst_path)
    return _load_from_dir(path, repr(os.fspath(model_uri)))


class _PyTorchPyfunc:
    """``predict(data, params=None)`` over a module: arrays and DataFrames become tensors, a
    dict of arrays becomes keyword inputs; the output comes back as numpy."""

    def __init__(self, model: Any) -> None:
        self.raw_model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return _run(self.raw_model, data)


def _load_pyfunc(path: str) -> _PyTorchPyfunc:
    """Used by cairn.pyfunc.load_model; ``path`` is the model's ``data`` directory (or the model
    directory)."""
    from cairn.models.flavors import loading_from

    source = loading_from.get() or repr(path)
    if os.path.isfile(os.path.join(path, "MLmodel")):
        return _PyTorchPyfunc(_load_from_dir(path, source))
    return _PyTorchPyfunc(_load_data(Path(path), source))
