"""The ``onnx`` flavor: ONNX graphs saved as ``model.onnx`` (large tensors in external data
files, as MLflow 3.17 does) and run with onnxruntime, in MLflow's layout.

An ONNX file is a graph and tensors, no code. ``load_model`` returns the ``onnx.ModelProto``;
the generic interface runs it in an onnxruntime session on the recorded execution providers
that this machine has (the CPU if none of them).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import CairnError
from cairn.models.mlmodel import Model

if TYPE_CHECKING:
    from cairn.models.logging import ModelInfo
    from cairn.models.signature import ModelSignature

FLAVOR_NAME = "onnx"
MLFLOW_LOADER_MODULE = "mlflow.onnx"
MODEL_FILE = "model.onnx"
DEFAULT_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
_SESSION_OPTIONS = (
    "inter_op_num_threads",
    "intra_op_num_threads",
    "execution_mode",
    "graph_optimization_level",
    "extra_session_config",
)

_log = logging.getLogger("cairn.onnx")


def _import(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise CairnError.invalid(
            f"The onnx flavor needs {name}: pip install 'cairn[onnx]'."
        ) from exc


def _check_session_options(options: Mapping[str, Any] | None) -> None:
    if options is None:
        return
    if not isinstance(options, Mapping):
        raise CairnError.invalid(
            f"onnx_session_options must be a dict, not {type(options).__name__}."
        )
    for key, value in options.items():
        if key not in _SESSION_OPTIONS:
            raise CairnError.invalid(
                f"Unknown onnx_session_options key {key!r}; use {', '.join(_SESSION_OPTIONS)}."
            )
        if key == "extra_session_config" and not isinstance(value, Mapping):
            raise CairnError.invalid("onnx_session_options['extra_session_config'] must be a dict.")
        if key == "execution_mode" and str(value).upper() not in ("SEQUENTIAL", "PARALLEL"):
            raise CairnError.invalid(
                f"onnx_session_options['execution_mode'] must be 'sequential' or 'parallel', "
                f"not {value!r}."
            )


def save_model(
    onnx_model: Any,
    path: str | os.PathLike[str],
    *,
    onnx_execution_providers: Sequence[Any] | None = None,
    onnx_session_options: Mapping[str, Any] | None = None,
    save_as_external_data: bool = True,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Save an ``onnx.ModelProto`` as a model directory.

    The graph is checked with ``onnx.checker`` first, so a broken graph fails here rather than
    at load time. If ``input_example`` is given and ``signature`` is not, the signature is
    inferred from the example and the model's outputs on it (run with onnxruntime).
    """
    from cairn.models import saving

    onnx = _import("onnx")
    if not isinstance(onnx_model, onnx.ModelProto):
        raise CairnError.invalid(
            f"The onnx flavor saves an onnx.ModelProto, not {type(onnx_model).__name__}."
        )
    _check_session_options(onnx_session_options)
    try:
        onnx.checker.check_model(onnx_model)
    except onnx.checker.ValidationError as exc:
        raise CairnError.invalid(f"The ONNX model is not valid: {exc}") from exc
    providers = list(onnx_execution_providers or DEFAULT_PROVIDERS)
    with saving.new_model_directory(path) as target:
        code = saving.copy_code_paths(target, code_paths)
        onnx.save_model(
            onnx_model, str(target / MODEL_FILE), save_as_external_data=save_as_external_data
        )
        mlmodel = mlflow_model or Model()
        mlmodel.add_flavor(
            FLAVOR_NAME,
            onnx_version=onnx.__version__,
            data=MODEL_FILE,
            providers=providers,
            onnx_session_options=dict(onnx_session_options) if onnx_session_options else None,
            code=code,
        )
        pyfunc_conf: dict[str, Any] = {"loader_module": MLFLOW_LOADER_MODULE, "data": MODEL_FILE}
        if code:
            pyfunc_conf["code"] = code
        predict = None
        if input_example is not None and signature in (None, True):
            predict = _OnnxPyfunc(target / MODEL_FILE, providers, onnx_session_options).predict
        resolved = saving.resolve_signature(signature, input_example, predict)
        return saving.finish_model(
            target,
            mlmodel,
            pyfunc_conf=pyfunc_conf,
            flavor_packages=["onnx", "onnxruntime"],
            signature=resolved,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
        )


def log_model(
    onnx_model: Any,
    name: str = "model",
    *,
    onnx_execution_providers: Sequence[Any] | None = None,
    onnx_session_options: Mapping[str, Any] | None = None,
    save_as_external_data: bool = True,
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
    """Log an ONNX model to the active run as a logged model; returns its ModelInfo
    (``model_uri`` is ``models:/<model_id>``)."""
    from cairn.models.logging import log_model as _log_model

    _check_session_options(onnx_session_options)

    def save(path: Path, mlflow_model: Model, **kwargs: Any) -> Model:
        return save_model(onnx_model, path, mlflow_model=mlflow_model, **kwargs)

    return _log_model(
        save,
        name,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        registered_model_name=registered_model_name,
        onnx_execution_providers=onnx_execution_providers,
        onnx_session_options=onnx_session_options,
        save_as_external_data=save_as_external_data,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        code_paths=code_paths,
    )


def _model_file(path: str) -> tuple[Path, dict[str, Any]]:
    from cairn.models.saving import add_code_to_path
    from cairn.store.artifacts.paths import resolve_inside

    conf = Model.load(path).flavor(FLAVOR_NAME)
    add_code_to_path(path, conf.get("code"))
    return resolve_inside(Path(path), conf.get("data") or MODEL_FILE), conf


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """The ``onnx.ModelProto`` saved at a path, ``runs:/`` or ``models:/`` URI."""
    from cairn.models.uri import local_model_path

    onnx = _import("onnx")
    file, _ = _model_file(local_model_path(model_uri, dst_path))
    try:
        return onnx.load(str(file))
    except Exception as exc:
        raise CairnError.invalid(f"Cannot read the ONNX model at {model_uri!s}: {exc}") from exc


def _provider_name(entry: Any) -> str:
    """A provider is a name or a (name, options) pair."""
    return entry[0] if isinstance(entry, (list, tuple)) else str(entry)


class _OnnxPyfunc:
    """``predict(data, params=None)`` over an onnxruntime session.

    A dict is the feed itself; an array feeds a single-input model; a DataFrame feeds a
    single input with all its columns or several inputs with one column each. float64 data
    is cast for float32 inputs. DataFrame input gives a DataFrame (a column per output), other
    input a dict of output name -> array, as MLflow's onnx flavor does.
    """

    def __init__(
        self,
        file: Path,
        providers: Sequence[Any] | None,
        session_options: Mapping[str, Any] | None = None,
    ) -> None:
        ort = _import("onnxruntime")
        given = [providers] if isinstance(providers, str) else list(providers or DEFAULT_PROVIDERS)
        wanted = [tuple(p) if isinstance(p, list) else p for p in given]
        available = set(ort.get_available_providers())
        usable = [p for p in wanted if _provider_name(p) in available] or ["CPUExecutionProvider"]
        if len(usable) < len(wanted):
            _log.info("ONNX providers %s are not available here; using %s.", wanted, usable)
        try:
            self.raw_model = ort.InferenceSession(
                str(file), sess_options=_session_options(ort, session_options), providers=usable
            )
        except Exception as exc:
            raise CairnError.invalid(f"onnxruntime cannot load {file.name!r}: {exc}") from exc
        self.inputs = [(i.name, i.type) for i in self.raw_model.get_inputs()]
        self.output_names = [o.name for o in self.raw_model.get_outputs()]

    def _feed(self, data: Any) -> dict[str, Any]:
        import numpy as np
        import pandas as pd

        names = [name for name, _ in self.inputs]
        if isinstance(data, dict):
            feed = {k: np.asarray(v) for k, v in data.items()}
        elif isinstance(data, np.ndarray):
            if len(names) != 1:
                raise CairnError.invalid(
                    f"An array can only feed a model with one input; this one has {names}: "
                    "pass a dict or a DataFrame with those names."
                )
            feed = {names[0]: data}
        elif isinstance(data, pd.DataFrame):
            if len(names) == 1:
                feed = {names[0]: data.to_numpy()}
            else:
                missing = [n for n in names if n not in data.columns]
                if missing:
                    raise CairnError.invalid(f"The DataFrame lacks the model's inputs {missing}.")
                feed = {n: data[n].to_numpy() for n in names}
        else:
            raise CairnError.invalid(
                f"ONNX models take a dict, a numpy array or a DataFrame, not {type(data).__name__}."
            )
        for name, kind in self.inputs:
            value = feed.get(name)
            if kind == "tensor(float)" and value is not None and value.dtype == np.float64:
                feed[name] = value.astype(np.float32)
        return feed

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np
        import pandas as pd

        feed = self._feed(data)
        try:
            outputs = self.raw_model.run(self.output_names, feed)
        except Exception as exc:
            raise CairnError.invalid(f"onnxruntime could not run the model: {exc}") from exc
        if isinstance(data, pd.DataFrame):
            return pd.DataFrame(
                {
                    n: np.asarray(v).reshape(-1)
                    for n, v in zip(self.output_names, outputs, strict=True)
                }
            )
        return dict(zip(self.output_names, outputs, strict=True))


def _session_options(ort: Any, options: Mapping[str, Any] | None) -> Any:
    session = ort.SessionOptions()
    options = options or {}
    for key in ("inter_op_num_threads", "intra_op_num_threads"):
        if options.get(key):
            setattr(session, key, int(options[key]))
    if mode := options.get("execution_mode"):
        parallel = str(mode).upper() == "PARALLEL"
        session.execution_mode = (
            ort.ExecutionMode.ORT_PARALLEL if parallel else ort.ExecutionMode.ORT_SEQUENTIAL
        )
    if level := options.get("graph_optimization_level"):
        session.graph_optimization_level = ort.GraphOptimizationLevel(level)
    for key, value in (options.get("extra_session_config") or {}).items():
        session.add_session_config_entry(key, value)
    return session


def _load_pyfunc(path: str) -> _OnnxPyfunc:
    """Used by cairn.pyfunc.load_model; ``path`` is the model directory (or its model file)."""
    directory = os.path.dirname(path) if os.path.isfile(path) else path
    file, conf = _model_file(directory)
    return _OnnxPyfunc(file, conf.get("providers"), conf.get("onnx_session_options"))
