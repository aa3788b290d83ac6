"""``spark_udf``: score a saved or registered model over a Spark DataFrame with a pandas UDF.

The driver resolves the model URI once (a ``models:/name@alias`` names one version from then
on) and downloads the files once; executors never talk to the tracking server. The files reach
the executors as a path they share with the driver when the master is local, otherwise as a
tar archive added with ``SparkContext.addFile`` and unpacked once per executor. Each Python
worker loads the model once (cached by its path) and scores Arrow batches of rows as pandas
DataFrames through ``PyFuncModel.predict``, so the signature is enforced as everywhere else.
With ``env_manager="virtualenv"``/``"uv"`` the model runs in its own recreated environment
(:mod:`cairn.serving.spark_env`) instead of the worker's.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import shutil
import tarfile
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import pandas as pd

from cairn.errors import CairnError

if TYPE_CHECKING:
    from pyspark.sql import Column, SparkSession
    from pyspark.sql.types import DataType as SparkType

    from cairn.models.mlmodel import Model
    from cairn.models.signature import Schema
    from cairn.pyfunc import PyFuncModel

LOCAL = "local"
ENV_MANAGERS = (LOCAL, "virtualenv", "uv")
_ARCHIVE_TOP = "model"  # the directory name inside a shipped archive


@dataclass(frozen=True)
class ShippedModel:
    """Where an executor finds the model: a shared local path, or a SparkFiles archive."""

    path: str | None = None
    archive: str | None = None

    def local_path(self) -> str:
        if self.path is not None:
            return self.path
        assert self.archive is not None
        return unpack_archive(self.archive)


# ----------------------------------------------------------------------------- the driver


def spark_udf(
    spark: SparkSession,
    model_uri: str | os.PathLike[str],
    result_type: SparkType | str | None = None,
    env_manager: str | None = None,
    params: dict[str, Any] | None = None,
    extra_env: dict[str, str] | None = None,
    model_config: dict[str, Any] | None = None,
    *,
    env_root: str | os.PathLike[str] | None = None,
    _ship_archive: bool = False,
) -> Callable[..., Column]:
    """A Spark UDF scoring the model at ``model_uri``, with MLflow's ``spark_udf`` signature.

    ``result_type`` is a Spark type or DDL string: a primitive, ``array<primitive>`` or a struct
    of those; without one it comes from the model's output schema (else ``double``). Call the
    UDF with the model's columns (names or Columns, in the signature's order; names that are
    exactly the signature's columns are matched by name), with one ``struct(...)`` whose field
    names are the columns, or with no arguments to use the signature's column names.
    ``env_manager`` ``"local"`` (the default) scores in the executors' Python; ``"virtualenv"``
    or ``"uv"`` in the model's recreated environment (built under ``env_root`` on each
    machine, reused by its hash). ``params`` go to every ``predict`` call; ``extra_env`` is set
    in the executors around scoring; ``model_config`` is passed to ``load_model``.
    """
    from pyspark.sql.types import StructType

    from cairn.models.mlmodel import Model
    from cairn.serving import spark_results

    env_manager = env_manager or LOCAL
    if env_manager not in ENV_MANAGERS:
        raise CairnError.invalid(
            f"spark_udf: unknown env_manager {env_manager!r}; use one of {', '.join(ENV_MANAGERS)}."
        )
    if extra_env is not None and not all(
        isinstance(k, str) and isinstance(v, str) for k, v in extra_env.items()
    ):
        raise CairnError.invalid("spark_udf: extra_env must map strings to strings.")
    context = _spark_context(spark)
    wanted = None if result_type is None else spark_results.parse_result_type(spark, result_type)
    model_dir = _download_once(model_uri)
    meta = Model.load(model_dir)
    if "python_function" not in meta.flavors:
        have = ", ".join(sorted(meta.flavors)) or "none"
        raise CairnError.invalid(
            f"The model at {os.fspath(model_uri)!r} has no python_function flavor (it has: "
            f"{have}); spark_udf scores python_function models."
        )
    signature = meta.signature
    outputs = signature.outputs if signature is not None else None
    if wanted is None:
        spark_type = spark_results.infer_result_type(outputs)
    else:
        spark_type = wanted
        spark_results.check_against_outputs(spark_type, outputs)
    params = _checked_params(meta, params)

    local_master = context.master.startswith("local")
    if local_master and not _ship_archive:
        shipped = ShippedModel(path=model_dir)
    else:
        shipped = ShippedModel(archive=_add_archive(context, model_dir))
    if env_manager != LOCAL and local_master:
        _prepare_env_on_driver(model_dir, env_manager, env_root)

    scorer = _Scorer(
        shipped=shipped,
        result_type=spark_type,
        params=params,
        extra_env=dict(extra_env or {}),
        model_config=model_config,
        env_manager=env_manager,
        env_root=os.fspath(env_root) if env_root is not None else None,
    )
    returns_frame = isinstance(spark_type, StructType)
    inputs = signature.inputs if signature is not None else None
    return _make_udf(scorer, spark_type, returns_frame, inputs, meta)


def _spark_context(spark: Any) -> Any:
    try:
        return spark.sparkContext
    except Exception as exc:  # Spark Connect sessions have no SparkContext
        raise CairnError.invalid(
            "spark_udf needs a classic SparkSession (with a SparkContext); Spark Connect "
            f"sessions are not supported yet ({type(exc).__name__})."
        ) from None


def _download_once(model_uri: str | os.PathLike[str]) -> str:
    """The model's files on the driver: a local model in place, anything else downloaded into
    a directory removed when the driver exits."""
    from cairn.models.uri import is_local, local_model_path

    uri = os.fspath(model_uri)
    if is_local(uri):
        return str(Path(local_model_path(uri)).resolve())
    target = tempfile.mkdtemp(prefix="cairn-spark-udf-")
    atexit.register(shutil.rmtree, target, True)
    return str(Path(local_model_path(uri, target)).resolve())


def _checked_params(meta: Model, params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Params checked against the signature now, so a bad one fails on the driver."""
    if params is None:
        return None
    if not isinstance(params, dict):
        raise CairnError.invalid(f"spark_udf: params must be a dict, got {type(params).__name__}.")
    from cairn.models.enforcement import enforce_params

    schema = meta.signature.params if meta.signature is not None else None
    if schema is None:
        return params  # no schema: predict decides, as it does outside Spark
    return enforce_params(schema, params) or None


def _add_archive(context: Any, model_dir: str) -> str:
    """Tar the model directory and add it to the job's files; returns its SparkFiles name."""
    name = f"cairn-model-{uuid.uuid4().hex}.tar.gz"
    folder = tempfile.mkdtemp(prefix="cairn-spark-archive-")
    atexit.register(shutil.rmtree, folder, True)
    archive = os.path.join(folder, name)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_dir, arcname=_ARCHIVE_TOP)
    context.addFile(archive)
    return name


def _prepare_env_on_driver(model_dir: str, env_manager: str, env_root: Any) -> None:
    """Build the model's environment once before the job: local executors then reuse it."""
    from cairn.models.envs import prepare_env

    prepare_env(model_dir, env_root=env_root, env_manager=env_manager)


# ----------------------------------------------------------------------------- calling it


def _column_names(
    inputs: Schema | None, args: tuple[Any, ...]
) -> tuple[tuple[Any, ...], list[Any]]:
    """(the UDF's arguments, the model's column name for each) for a call with ``args``."""
    if inputs is None:
        if not args:
            raise CairnError.invalid(
                "The model has no signature, so the UDF cannot know its columns: pass them "
                "(udf('a', 'b') or udf(struct('a', 'b')))."
            )
        return args, list(range(len(args)))
    names = inputs.input_names()
    required = inputs.required_input_names()
    if not args:
        if not inputs.has_input_names():
            raise CairnError.invalid(
                f"The model's signature has {len(names)} unnamed inputs, so the UDF cannot "
                "pick columns by name: pass them in order."
            )
        return tuple(names), names
    if all(isinstance(a, str) for a in args) and set(required) <= set(args):
        chosen = [n for n in names if n in args]  # exactly the model's columns, by name
        return tuple(chosen), chosen
    if len(args) == 1:
        return args, [names[0]]  # one column, or a struct whose fields name the columns
    if len(args) > len(names) or len(args) < len(required):
        want = (
            f"{len(names)}" if len(names) == len(required) else f"{len(required)} to {len(names)}"
        )
        raise CairnError.invalid(
            f"The UDF got {len(args)} columns but the model takes {want} "
            f"({', '.join(map(str, names))}); pass those columns in that order, a struct of "
            "them, or no arguments to use the signature's names."
        )
    return args, names[: len(args)]


def _make_udf(
    scorer: _Scorer,
    spark_type: SparkType,
    returns_frame: bool,
    inputs: Schema | None,
    meta: Model,
) -> Callable[..., Column]:
    from pyspark.sql.functions import pandas_udf

    def call(*args: Any) -> Column:
        columns, names = _column_names(inputs, args)
        bound = scorer.with_names(names)

        def score(batches: Iterator[Any]) -> Iterator[Any]:
            return bound.run(batches)

        # pyspark picks the UDF kind from these hints (Iterator of batches in and out); they
        # are set here because the module's annotations are strings.
        score.__annotations__ = {
            "batches": Iterator[tuple[Union[pd.Series, pd.DataFrame], ...]],  # noqa: UP007
            "return": Iterator[pd.DataFrame if returns_frame else pd.Series],
        }
        return pandas_udf(score, spark_type)(*columns)  # type: ignore[call-overload]

    call.metadata = meta  # type: ignore[attr-defined]
    call.result_type = spark_type  # type: ignore[attr-defined]
    return call


# ----------------------------------------------------------------------------- the executors


@dataclass(frozen=True)
class _Scorer:
    """Everything an executor needs, pickled into the UDF (small: no model bytes)."""

    shipped: ShippedModel
    result_type: Any
    params: dict[str, Any] | None
    extra_env: dict[str, str]
    model_config: dict[str, Any] | None
    env_manager: str
    env_root: str | None
    names: tuple[Any, ...] = ()

    def with_names(self, names: list[Any]) -> _Scorer:
        return dataclasses.replace(self, names=tuple(names))

    def run(self, batches: Iterator[Any]) -> Iterator[pd.Series | pd.DataFrame]:
        from cairn.serving.spark_results import to_result

        with _environ(self.extra_env):
            predict = self._predictor()
            try:
                for batch in batches:
                    args = (batch,) if isinstance(batch, (pd.Series, pd.DataFrame)) else batch
                    frame = input_frame(tuple(args), self.names)
                    if len(frame) == 0:
                        continue
                    yield to_result(predict(frame), self.result_type, len(frame))
            finally:
                close = getattr(predict, "close", None)
                if close is not None:
                    close()

    def _predictor(self) -> Callable[[pd.DataFrame], Any]:
        path = self.shipped.local_path()
        if self.env_manager != LOCAL:
            from cairn.serving.spark_env import EnvPredictor

            return EnvPredictor(
                path, self.env_manager, self.env_root, self.params, self.model_config
            )
        model = cached_model(path, self.model_config)
        params = self.params

        def predict(frame: pd.DataFrame) -> Any:
            return model.predict(frame, params=params)

        return predict


def input_frame(args: tuple[Any, ...], names: tuple[Any, ...]) -> pd.DataFrame:
    """One batch's arguments as the DataFrame the model is called with."""
    if len(args) == 1 and isinstance(args[0], pd.DataFrame):
        return args[0]  # a struct: its field names are the column names
    if len(args) != len(names):
        raise CairnError.invalid(f"The UDF got {len(args)} columns for {len(names)} names.")
    columns = {}
    for name, arg in zip(names, args, strict=True):
        if isinstance(arg, pd.DataFrame):  # a struct column among others: one dict per row
            columns[name] = pd.Series(arg.to_dict("records"), index=arg.index, dtype=object)
        else:
            columns[name] = arg
    return pd.DataFrame(columns)


class _environ:
    """Set variables for a block and put the old values back."""

    def __init__(self, update: dict[str, str]) -> None:
        self.update = update
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self.update.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *exc: object) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_models: dict[tuple[str, str], PyFuncModel] = {}
_models_lock = threading.Lock()


def cached_model(path: str, model_config: dict[str, Any] | None = None) -> PyFuncModel:
    """The model at ``path``, loaded once per Python worker (Spark reuses workers)."""
    import json

    key = (path, json.dumps(model_config, sort_keys=True, default=str))
    with _models_lock:
        model = _models.get(key)
        if model is None:
            from cairn.pyfunc import load_model

            model = _models[key] = load_model(path, model_config=model_config)
        return model


def unpack_archive(name: str) -> str:
    """The model directory of the SparkFiles archive ``name``, unpacked once per executor
    (a file lock keeps the executor's concurrent workers from unpacking it twice)."""
    from filelock import FileLock
    from pyspark import SparkFiles

    archive = Path(SparkFiles.get(name))
    target = archive.parent / f"{name}.unpacked"
    done = target / ".cairn-unpacked"
    if not done.is_file():
        with FileLock(str(target) + ".lock"):
            if not done.is_file():
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir(parents=True)
                with tarfile.open(archive, "r:gz") as tar:
                    if hasattr(tarfile, "data_filter"):
                        tar.extractall(target, filter="data")
                    else:  # Python without extraction filters: the archive is our own
                        tar.extractall(target)
                done.touch()
    return str(target / _ARCHIVE_TOP)
