"""What a Spark UDF may return, and a model's predictions turned into it.

A Spark UDF declares its type up front, while a model returns whatever its flavor returns (an
array, a Series, a DataFrame, a list of lists). The rules, MLflow's ``spark_udf``'s:

- a primitive type (int, long, float, double, boolean, string) takes the leftmost prediction
  column that type can hold;
- ``array<primitive>`` takes every column that type can hold (or a column of sequences);
- a struct takes one prediction column per field, by name (positionally when the predictions
  have no column names).

Nothing fitting is an error naming the type and what the model produced, never a column of
nulls. pyspark is imported lazily: cairn does not need it unless a UDF is made.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cairn.errors import CairnError
from cairn.serving.predictions import predictions_frame

if TYPE_CHECKING:
    from pyspark.sql.types import DataType as SparkType

    from cairn.models.signature import Schema

_log = logging.getLogger("cairn.serving.spark")

PRIMITIVES = ("int", "long", "float", "double", "boolean", "string")
ALLOWED = (
    "a primitive type (int, long, float, double, boolean, string), array<primitive>, or a "
    "struct of those (e.g. 'label string, proba array<double>')"
)

# Signature types (MLflow's DataType names and numpy dtypes) to Spark's simple type names.
_SIGNATURE_TYPES = {
    "integer": "int",
    "long": "long",
    "float": "float",
    "double": "double",
    "boolean": "boolean",
    "string": "string",
}
_NUMPY_KINDS = {"i": "long", "u": "long", "f": "double", "b": "boolean", "U": "string"}


# ----------------------------------------------------------------------------- the type


def primitive_name(spark_type: SparkType) -> str | None:
    """``int``, ``long`` ... for the primitive types a UDF may return, else None."""
    from pyspark.sql import types as T

    names = {
        T.IntegerType: "int",
        T.LongType: "long",
        T.FloatType: "float",
        T.DoubleType: "double",
        T.BooleanType: "boolean",
        T.StringType: "string",
    }
    return names.get(type(spark_type))


def _allowed_leaf(spark_type: SparkType) -> bool:
    from pyspark.sql.types import ArrayType

    if isinstance(spark_type, ArrayType):
        return primitive_name(spark_type.elementType) is not None
    return primitive_name(spark_type) is not None


def parse_result_type(spark: Any, result_type: Any) -> SparkType:
    """The Spark type of ``result_type`` (a DataType or a DDL string), or a clear error."""
    from pyspark.sql.types import DataType as SparkDataType
    from pyspark.sql.types import StructType

    parsed = result_type
    if isinstance(result_type, str):
        parsed = _parse_ddl(spark, result_type)
    elif not isinstance(result_type, SparkDataType):
        raise CairnError.invalid(
            f"result_type must be a pyspark DataType or a DDL string, not "
            f"{type(result_type).__name__}; use {ALLOWED}."
        )
    if isinstance(parsed, StructType):
        ok = len(parsed.fields) > 0 and all(_allowed_leaf(f.dataType) for f in parsed.fields)
    else:
        ok = _allowed_leaf(parsed)
    if not ok:
        raise CairnError.invalid(
            f"spark_udf cannot return {parsed.simpleString()!r}: result_type must be {ALLOWED}."
        )
    return parsed


def _parse_ddl(spark: Any, text: str) -> SparkType:
    """A DDL type string through Spark's own parser (``double``, ``a int, b string`` ...)."""
    from pyspark.sql.types import _parse_datatype_string

    try:
        return _parse_datatype_string(text)
    except Exception as exc:  # the JVM parser's error, with its own message
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CairnError.invalid(
            f"result_type {text!r} is not a Spark type ({first}); use {ALLOWED}."
        ) from None


def infer_result_type(outputs: Schema | None) -> SparkType:
    """The UDF type the model's output schema implies; ``double`` when it says nothing usable."""
    from pyspark.sql.types import ArrayType, DoubleType, StructField, StructType

    from cairn.models.signature import Array, ColSpec, TensorSpec

    def simple(spec: Any) -> SparkType | None:
        if isinstance(spec, TensorSpec):
            name = _NUMPY_KINDS.get(spec.type.kind)
            if name is None:
                return None
            element = _named(name)
            return ArrayType(element) if len(spec.shape) > 1 else element
        if isinstance(spec, ColSpec):
            dtype = spec.type
            if isinstance(dtype, Array):
                name = _SIGNATURE_TYPES.get(getattr(dtype.dtype, "name", ""))
                return ArrayType(_named(name)) if name else None
            name = _SIGNATURE_TYPES.get(getattr(dtype, "name", ""))
            return _named(name) if name else None
        return None

    if outputs is not None:
        types = [simple(spec) for spec in outputs.inputs]
        if all(t is not None for t in types):
            if len(types) == 1:
                return types[0]  # type: ignore[return-value]
            if outputs.has_input_names():
                fields = [
                    StructField(str(spec.name), t, True)
                    for spec, t in zip(outputs.inputs, types, strict=True)
                ]
                return StructType(fields)
    _log.warning(
        "spark_udf: no result_type given and the model's output schema does not name one; "
        "returning double."
    )
    return DoubleType()


def _named(name: str) -> SparkType:
    from pyspark.sql import types as T

    return {
        "int": T.IntegerType(),
        "long": T.LongType(),
        "float": T.FloatType(),
        "double": T.DoubleType(),
        "boolean": T.BooleanType(),
        "string": T.StringType(),
    }[name]


def check_against_outputs(result_type: SparkType, outputs: Schema | None) -> None:
    """Refuse at creation a primitive result type no column of the output schema converts to
    (e.g. ``double`` for a model whose signature says it returns strings)."""
    from pyspark.sql.types import ArrayType, StructType

    from cairn.models.signature import ColSpec, DataType

    if outputs is None or isinstance(result_type, StructType):
        return
    element = result_type.elementType if isinstance(result_type, ArrayType) else result_type
    wanted = primitive_name(element)
    if wanted is None or wanted == "string":
        return
    kinds = []
    for spec in outputs.inputs:
        if not isinstance(spec, ColSpec) or not isinstance(spec.type, DataType):
            return  # tensors, arrays, objects: decided on the values at run time
        kinds.append(_kind_of_dtype(spec.type.to_numpy()))
    if not any(_fits(wanted, kind) for kind in kinds):
        described = ", ".join(repr(spec) for spec in outputs.inputs)
        raise CairnError.invalid(
            f"result_type {result_type.simpleString()!r} cannot hold this model's predictions: "
            f"its signature says it returns {described}. Use 'string' or a type that fits."
        )


# ----------------------------------------------------------------------------- the values


def _kind_of_dtype(dtype: np.dtype) -> str:
    if dtype.kind == "b":
        return "bool"
    if dtype.kind in "iu":
        return "int"
    if dtype.kind == "f":
        return "float"
    return "other"


def _fits(wanted: str, kind: str) -> bool:
    """Whether a column of ``kind`` converts to the Spark primitive ``wanted`` (by dtype)."""
    if wanted == "string":
        return True
    if wanted in ("int", "long"):
        return kind == "int"
    if wanted in ("float", "double"):
        return kind in ("int", "float")
    return kind == "bool"  # boolean


def _column_kind(series: pd.Series) -> str:
    if series.dtype == object:
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        return {"integer": "int", "floating": "float", "mixed-integer-float": "float"}.get(
            inferred, "bool" if inferred == "boolean" else "other"
        )
    return _kind_of_dtype(series.dtype)


def _convert(series: pd.Series, wanted: str) -> pd.Series:
    if wanted == "string":
        return series.map(lambda v: None if v is None or v is pd.NA else str(v)).astype(object)
    if wanted in ("int", "long"):
        target = np.int32 if wanted == "int" else np.int64
        limits = np.iinfo(target)
        values = series.astype(np.int64) if series.dtype.kind != "u" else series
        if len(values) and (values.min() < limits.min or values.max() > limits.max):
            raise CairnError.invalid(
                f"A prediction does not fit in Spark's {wanted} "
                f"(range {limits.min}..{limits.max}); use 'long' or 'double'."
            )
        return values.astype(target)
    if wanted in ("float", "double"):
        return series.astype(np.float32 if wanted == "float" else np.float64)
    return series.astype(bool)


def _describe(frame: pd.DataFrame) -> str:
    parts = [f"{name!r}: {frame[name].dtype}" for name in frame.columns[:8]]
    more = f" and {len(frame.columns) - 8} more" if len(frame.columns) > 8 else ""
    return "columns " + ", ".join(parts) + more


def _no_fit(type_text: str, frame: pd.DataFrame) -> CairnError:
    return CairnError.invalid(
        f"The model's predictions ({_describe(frame)}) have nothing result_type "
        f"{type_text!r} can hold; ask for 'string' or array<string>, or a type that fits."
    )


def _is_sequences(series: pd.Series) -> bool:
    return series.dtype == object and all(
        isinstance(v, (list, tuple, np.ndarray)) or v is None for v in series
    )


def _to_primitive(frame: pd.DataFrame, wanted: str) -> pd.Series:
    for name in frame.columns:
        column = frame[name]
        if _fits(wanted, _column_kind(column)):
            return _convert(column.infer_objects(), wanted).rename(None)
    raise _no_fit(wanted, frame)


def _sequence_column(series: pd.Series, wanted: str, type_text: str) -> pd.Series:
    """A column whose values are sequences, each converted to a list of ``wanted``."""

    def convert(value: Any) -> list[Any] | None:
        if value is None:
            return None
        inner = pd.Series(np.asarray(value).ravel().tolist())
        if not _fits(wanted, _column_kind(inner)):
            raise CairnError.invalid(
                f"A prediction {np.asarray(value).tolist()[:8]!r} does not fit result_type "
                f"{type_text!r}."
            )
        return _convert(inner.infer_objects(), wanted).tolist()

    return series.map(convert).rename(None)


def _to_array(frame: pd.DataFrame, wanted: str, type_text: str) -> pd.Series:
    if len(frame.columns) == 1 and _is_sequences(frame[frame.columns[0]]):
        return _sequence_column(frame[frame.columns[0]], wanted, type_text)
    chosen = [name for name in frame.columns if _fits(wanted, _column_kind(frame[name]))]
    if not chosen:
        raise _no_fit(type_text, frame)
    converted = pd.DataFrame(
        {name: _convert(frame[name].infer_objects(), wanted) for name in chosen}
    )
    return pd.Series(converted.to_numpy().tolist(), dtype=object)


def _to_field(series: pd.Series, spark_type: SparkType, field: str) -> pd.Series:
    from pyspark.sql.types import ArrayType

    if isinstance(spark_type, ArrayType):
        wanted = primitive_name(spark_type.elementType) or "string"
        if not _is_sequences(series):
            raise CairnError.invalid(
                f"Field {field!r} is {spark_type.simpleString()} but the model's {field!r} "
                f"predictions are not sequences ({series.dtype})."
            )
        return _sequence_column(series, wanted, spark_type.simpleString())
    wanted = primitive_name(spark_type) or "string"
    if not _fits(wanted, _column_kind(series)):
        raise CairnError.invalid(
            f"Field {field!r} is {spark_type.simpleString()} but the model's {field!r} "
            f"predictions are {series.dtype}."
        )
    return _convert(series.infer_objects(), wanted)


def _to_struct(frame: pd.DataFrame, struct: Any) -> pd.DataFrame:
    names: Sequence[str] = [f.name for f in struct.fields]
    by_name = {str(c): c for c in frame.columns}
    unnamed = all(isinstance(c, (int, np.integer)) for c in frame.columns)
    out: dict[str, pd.Series] = {}
    for position, field in enumerate(struct.fields):
        if field.name in by_name:
            column = frame[by_name[field.name]]
        elif unnamed and len(frame.columns) == len(names):
            column = frame[frame.columns[position]]
        else:
            raise CairnError.invalid(
                f"result_type {struct.simpleString()!r} has a field {field.name!r} the model's "
                f"predictions do not have ({_describe(frame)})."
            )
        out[field.name] = _to_field(column.reset_index(drop=True), field.dataType, field.name)
    return pd.DataFrame(out)


def to_result(predictions: Any, result_type: SparkType, rows: int) -> pd.Series | pd.DataFrame:
    """The predictions for one batch of ``rows`` rows as ``result_type`` (a Series, or a
    DataFrame for a struct)."""
    from pyspark.sql.types import ArrayType, StructType

    frame = predictions_frame(predictions)
    if len(frame) != rows:
        raise CairnError.invalid(
            f"The model returned {len(frame)} predictions for {rows} input rows; a Spark UDF "
            "needs one prediction per row."
        )
    if isinstance(result_type, StructType):
        return _to_struct(frame, result_type)
    if isinstance(result_type, ArrayType):
        wanted = primitive_name(result_type.elementType) or "string"
        return _to_array(frame, wanted, result_type.simpleString())
    return _to_primitive(frame, primitive_name(result_type) or "string")
