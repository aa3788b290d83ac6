"""Signature enforcement at predict time: convert what is safe, refuse the rest by name.

``enforce(schema, data)`` turns the caller's data into what the model was logged with: columns
picked by name and put in schema order (extra columns dropped, as MLflow does), values converted
when no information is lost (int -> double, int32 -> long, float32 -> double, whole floats -> long,
ISO strings -> datetime), tensors checked for dtype and shape. Anything else raises a
:class:`~cairn.errors.CairnError` (INVALID_PARAMETER_VALUE) naming the column, the expected type
and what was found. Conversions are decided by the values, not only by dtypes, so ``[1, 2]`` is
a fine double column while ``[2**60 + 1]`` is not.
"""

from __future__ import annotations

import datetime as _dt
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from cairn.errors import CairnError
from cairn.models.signature import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    ModelSignature,
    Object,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
    ValueType,
)

if TYPE_CHECKING:
    import pandas as pd

_logger = logging.getLogger(__name__)

_INT_RANGES = {DataType.integer: np.iinfo(np.int32), DataType.long: np.iinfo(np.int64)}
_MISSING_HINT = (
    "; integer columns cannot hold missing values; if the column may be missing, declare it as "
    "double in the signature (infer it from data that has missing values)."
)


def enforce_signature(
    signature: ModelSignature | None, data: Any, params: dict[str, Any] | None = None
) -> tuple[Any, dict[str, Any] | None]:
    """Enforce a whole signature: ``(converted data, params with defaults)``.

    With no signature (or no input schema) the data passes unchanged; with no params schema the
    params pass unchanged only when there is no signature at all (MLflow drops them otherwise).
    """
    if signature is None:
        return data, params
    out = data if signature.inputs is None else enforce(signature.inputs, data)
    return out, enforce_params(signature.params, params)


def enforce(schema: Schema, data: Any) -> Any:
    """Convert ``data`` to match ``schema`` or raise a CairnError naming what does not fit.

    Column schemas return a pandas DataFrame; a schema with one unnamed tensor returns a numpy
    array; named tensors return a dict of name -> numpy array.
    """
    if not isinstance(schema, Schema):
        raise CairnError.invalid(f"enforce() needs a Schema, got {type(schema).__name__}")
    if schema.is_tensor_spec():
        return _enforce_tensors(schema, data)
    return _enforce_columns(schema, data)


# ---------------------------------------------------------------------------------------------
# Column schemas


def _enforce_columns(schema: Schema, data: Any) -> pd.DataFrame:
    import pandas as pd

    df = _to_frame(schema, data)
    specs: list[ColSpec] = schema.inputs  # type: ignore[assignment]
    if _fits_already(df, specs):
        return df
    if df.columns.has_duplicates:
        dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise CairnError.invalid(f"The input has duplicate column names {dupes}")
    if schema.has_input_names():
        present = [s for s in specs if s.name in df.columns]
        missing = [s.name for s in specs if s.required and s.name not in df.columns]
        if missing:
            expected = [s.name for s in specs]
            got = [str(c) for c in df.columns]
            raise CairnError.invalid(
                f"Missing required input column(s) {missing}: the model expects {expected}, "
                f"got {got}"
            )
        columns = {s.name: _convert_column(df[s.name], s.type, repr(s.name)) for s in present}
        return pd.DataFrame(columns, index=df.index)
    if df.shape[1] != len(specs):
        raise CairnError.invalid(
            f"The model expects {len(specs)} unnamed input column(s) "
            f"{[s.type for s in specs]}, got {df.shape[1]} column(s)"
        )
    columns = {
        col: _convert_column(df.iloc[:, i], s.type, f"{i} ({col!r})" if col != i else str(i))
        for i, (col, s) in enumerate(zip(df.columns, specs, strict=True))
    }
    return pd.DataFrame(columns, index=df.index)


def column_dtypes(df: pd.DataFrame) -> Any:
    """The dtype of each column, in order. ``DataFrame.dtypes`` builds a Series indexed by the
    column names on every call, which cost more than a small prediction; the block manager
    answers the same question from what it holds (public API as the fallback)."""
    get_dtypes = getattr(getattr(df, "_mgr", None), "get_dtypes", None)
    return get_dtypes() if get_dtypes is not None else df.dtypes.to_numpy()


def _fits_already(df: pd.DataFrame, specs: list[ColSpec]) -> bool:
    """Whether ``df`` has exactly the schema's named scalar columns, in order, each already in
    the numpy dtype enforcement would give it: the common case of a served model, which then
    costs one comparison per column instead of a converted copy."""
    if len(df.columns) != len(specs):
        return False
    for column, dtype, spec in zip(df.columns, column_dtypes(df), specs, strict=True):
        if (
            spec.name is None
            or column != spec.name
            or not isinstance(spec.type, DataType)
            or spec.type in (DataType.string, DataType.binary, DataType.datetime)
            or dtype != spec.type.to_numpy()
        ):
            return False
    return True


def _to_frame(schema: Schema, data: Any) -> pd.DataFrame:
    """The input as a DataFrame: by name for dicts/records, by position for bare arrays."""
    import pandas as pd

    specs: list[ColSpec] = schema.inputs  # type: ignore[assignment]
    named = schema.has_input_names()
    single = specs[0].name if len(specs) == 1 else None
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        name = single if single is not None else (data.name if data.name is not None else 0)
        return data.to_frame(name=name)
    if isinstance(data, dict):
        if not data:
            raise CairnError.invalid("The input is an empty dict; the model expects columns")
        complex_names = {s.name for s in specs if not isinstance(s.type, (DataType, AnyType))}
        one_row = all(
            _is_scalar(v) or (k in complex_names and not _is_list_of_rows(v, specs, k))
            for k, v in data.items()
        )
        try:
            return pd.DataFrame([data]) if one_row else pd.DataFrame(data)
        except ValueError as exc:
            raise CairnError.invalid(f"Cannot read the input dict as columns: {exc}") from None
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return pd.DataFrame(data)
    if isinstance(data, (np.ndarray, list, tuple)) or _is_scalar(data):
        arr = data if isinstance(data, np.ndarray) else None
        if _is_scalar(data):
            rows: Any = [data]
        else:
            rows = data
        if single is not None or not named:
            if len(specs) == 1:
                values = list(rows) if arr is None else arr
                if arr is not None and arr.ndim == 2 and arr.shape[1] == 1:
                    values = arr[:, 0]
                elif arr is not None and arr.ndim != 1:
                    raise CairnError.invalid(
                        f"The model expects one column; got an array of shape {arr.shape}"
                    )
                return pd.DataFrame({single if single is not None else 0: _series(values)})
            frame = pd.DataFrame(rows if arr is None else arr)
            if frame.ndim != 2:
                raise CairnError.invalid("Cannot read the input as rows of columns")
            return frame
        expected = [s.name for s in specs]
        raise CairnError.invalid(
            f"The input is a {type(data).__name__} without column names; the model expects "
            f"named columns {expected}: pass a DataFrame, a dict or a list of dicts"
        )
    raise CairnError.invalid(
        f"Unsupported input type {type(data).__name__}; the model expects columns "
        f"{schema.input_names()} (pass a DataFrame, a dict or a list of dicts)"
    )


def _series(values: Any) -> pd.Series:
    import pandas as pd

    if isinstance(values, np.ndarray):
        return pd.Series(values)
    return pd.Series(list(values), dtype=object if _has_nested(values) else None)


def _has_nested(values: Any) -> bool:
    return any(isinstance(v, (list, dict, tuple, np.ndarray)) for v in values)


def _is_list_of_rows(value: Any, specs: list[ColSpec], name: str) -> bool:
    """For a dict input, does an Array column's value hold one row (a list) or many (lists)?"""
    spec = next(s for s in specs if s.name == name)
    if isinstance(spec.type, Array) and isinstance(value, (list, np.ndarray)):
        return len(value) > 0 and all(isinstance(v, (list, tuple, np.ndarray)) for v in value)
    return isinstance(spec.type, (Object, Map)) and isinstance(value, list)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bytes, bool, int, float, np.generic, _dt.date))


def _describe(series: pd.Series) -> str:
    """What a column holds, in MLflow's type names where one fits."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return "string"
    kind = getattr(dtype, "kind", "O")
    if kind == "b":
        return "boolean"
    if kind == "f":
        return "float" if dtype.itemsize <= 4 else "double"
    if kind in "iu":
        return {"int32": "integer", "int64": "long"}.get(str(dtype), str(dtype))
    if kind == "M":
        return "datetime"
    if kind == "U":
        return "string"
    if kind == "S":
        return "binary"
    kinds = sorted({_value_kind(v) for v in series.tolist() if not _missing(v)})
    if not kinds:
        return "only missing values"
    return kinds[0] if len(kinds) == 1 else "mixed " + "/".join(kinds)


def _value_kind(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (int, np.integer)):
        return "long"
    if isinstance(value, (float, np.floating)):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "binary"
    if isinstance(value, (_dt.date, np.datetime64)):
        return "datetime"
    if isinstance(value, (list, tuple, np.ndarray)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class _Found:
    """The description of a column's content, computed when an error message is built."""

    def __init__(self, series: pd.Series) -> None:
        self.series = series

    def __str__(self) -> str:
        return _describe(self.series)


def _show(value: Any) -> str:
    return repr(value.item() if isinstance(value, np.generic) else value)


def _missing(value: Any) -> bool:
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))


def _incompatible(column: str, expected: Any, found: str | _Found, why: str = "") -> CairnError:
    reason = f" ({why})" if why else ""
    return CairnError.invalid(
        f"Incompatible input type for column {column}: expected {expected!r}, got {found}{reason}"
    )


def _convert_column(series: pd.Series, dtype: ValueType, column: str) -> pd.Series:
    if isinstance(dtype, AnyType):
        return series
    if isinstance(dtype, DataType):
        return _convert_scalar_column(series, dtype, column)
    for i, value in enumerate(series.tolist()):
        if _missing(value):
            continue
        problem = _check_value(value, dtype)
        if problem:
            raise _incompatible(column, dtype, _value_kind(value), f"row {i}: {problem}")
    return series


def _convert_scalar_column(series: pd.Series, dtype: DataType, column: str) -> pd.Series:
    import pandas as pd

    found = _Found(series)  # described only if an error needs it
    if dtype == DataType.string and (
        isinstance(series.dtype, pd.StringDtype) or getattr(series.dtype, "kind", "") == "U"
    ):
        return series  # strings by construction: no need to look at every value
    if isinstance(series.dtype, pd.StringDtype) or getattr(series.dtype, "kind", "O") in "OUS":
        series = _from_objects(series, dtype, column, found)
    elif hasattr(series.dtype, "numpy_dtype") and dtype not in (DataType.string, DataType.binary):
        # pandas nullable extension arrays (Int64, Float64, boolean): numpy first.
        if series.isna().any():
            if dtype in (DataType.double, DataType.float):
                series = series.astype("float64")
            else:
                why = "it has missing values" + (_MISSING_HINT if dtype in _INT_RANGES else "")
                raise _incompatible(column, dtype, found, why)
        else:
            series = series.astype(series.dtype.numpy_dtype)
    kind = getattr(series.dtype, "kind", "O")
    if dtype in (DataType.double, DataType.float):
        if kind in "iuf":
            return _exact_cast(series, dtype, column, found)
    elif dtype in _INT_RANGES:
        if kind in "iu":
            return _int_cast(series, dtype, column, found)
        if kind == "f":
            values = series.to_numpy()
            if np.isnan(values).any():
                raise _incompatible(column, dtype, found, "it has missing values" + _MISSING_HINT)
            if not np.all(np.isfinite(values)) or np.any(values != np.floor(values)):
                bad = values[(~np.isfinite(values)) | (values != np.floor(values))][0]
                why = f"{_show(bad)} is not a whole number"
                raise _incompatible(column, dtype, found, why)
            return _int_cast(series, dtype, column, found)
    elif dtype == DataType.boolean:
        if kind == "b":
            return series
    elif dtype == DataType.datetime:
        if kind == "M":
            if getattr(series.dtype, "tz", None) is not None:
                why = "timezone-aware values; convert them to naive UTC first"
                raise _incompatible(column, dtype, found, why)
            return series.astype("datetime64[ns]")
    elif (dtype in (DataType.string, DataType.binary) and kind in "OUS") or (
        dtype == DataType.string and isinstance(series.dtype, pd.StringDtype)
    ):
        return series
    raise _incompatible(column, dtype, found)


def _from_objects(series: pd.Series, dtype: DataType, column: str, found: _Found) -> pd.Series:
    """Object/str columns: check every present value against the wanted type, then convert."""
    import pandas as pd

    values = series.tolist()
    present = [v for v in values if not _missing(v)]
    if dtype == DataType.string:
        if all(isinstance(v, str) for v in present):
            return series
        raise _incompatible(column, dtype, found)
    if dtype == DataType.binary:
        if all(isinstance(v, (bytes, bytearray)) for v in present):
            return series
        raise _incompatible(column, dtype, found)
    if dtype == DataType.boolean:
        if len(present) == len(values) and all(isinstance(v, (bool, np.bool_)) for v in values):
            return series.astype(bool)
        why = "it has missing values" if len(present) < len(values) else ""
        raise _incompatible(column, dtype, found, why)
    if dtype == DataType.datetime:
        if all(isinstance(v, (_dt.date, np.datetime64)) for v in present):
            return _to_datetime(series, column, found)
        if all(isinstance(v, str) for v in present):
            return _to_datetime(series, column, found, iso=True)
        raise _incompatible(column, dtype, found)
    # numbers held as objects (e.g. [1, 2.5, None]): numeric if every present value is a number
    numeric = all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        for v in present
    )
    if not numeric:
        raise _incompatible(column, dtype, found)
    if len(present) == len(values) and all(isinstance(v, (int, np.integer)) for v in values):
        try:
            as_ints = pd.Series(np.array(values, dtype=np.int64), index=series.index)
        except OverflowError:
            raise _incompatible(column, dtype, found, "values out of range") from None
        return as_ints
    floats = [np.nan if _missing(v) else float(v) for v in values]
    return pd.Series(np.array(floats, dtype=np.float64), index=series.index)


def _to_datetime(series: pd.Series, column: str, found: _Found, iso: bool = False) -> pd.Series:
    import pandas as pd

    try:
        out = pd.to_datetime(series, format="ISO8601") if iso else pd.to_datetime(series)
    except (ValueError, TypeError, OverflowError) as exc:
        bad = next((v for v in series.tolist() if isinstance(v, str) and not _parse_iso(v)), None)
        why = f"{bad!r} is not an ISO 8601 date" if iso and bad is not None else str(exc)
        raise _incompatible(column, DataType.datetime, found, why) from None
    if getattr(out.dtype, "tz", None) is not None:
        why = "timezone-aware values; convert them to naive UTC first"
        raise _incompatible(column, DataType.datetime, found, why)
    return out.astype("datetime64[ns]")


def _exact_cast(series: pd.Series, dtype: DataType, column: str, found: _Found) -> pd.Series:
    """Cast to float32/float64 when every value survives the round trip unchanged."""
    target = dtype.to_numpy()
    values = series.to_numpy()
    if values.dtype == target:
        return series
    with np.errstate(over="ignore", invalid="ignore"):
        cast = values.astype(target)
        back = cast.astype(values.dtype) if values.dtype.kind in "iu" else cast
    same = (back == values) | (
        np.isnan(values) & np.isnan(cast) if values.dtype.kind == "f" else False
    )
    if values.dtype.kind in "iu":
        same = same & np.isfinite(cast)
    if not np.all(same):
        bad = values[~same][0]
        why = f"{_show(bad)} cannot be represented as {dtype.name} without loss"
        raise _incompatible(column, dtype, found, why)
    return series.__class__(cast, index=series.index, name=series.name)


def _int_cast(series: pd.Series, dtype: DataType, column: str, found: _Found) -> pd.Series:
    info = _INT_RANGES[dtype]
    values = series.to_numpy()
    if values.dtype == np.dtype(info.dtype):
        return series
    if values.size and values.dtype.kind == "u":
        out_of_range = values > np.uint64(info.max)
    elif values.size:
        out_of_range = (values < info.min) | (values > info.max)
    else:
        out_of_range = np.zeros(0, dtype=bool)
    if np.any(out_of_range):
        bad = values[out_of_range][0]
        why = f"{_show(bad)} is out of range for {dtype.name}"
        raise _incompatible(column, dtype, found, why)
    return series.__class__(values.astype(info.dtype), index=series.index, name=series.name)


def _check_value(value: Any, dtype: ValueType) -> str | None:
    """Why a single (nested) value does not fit ``dtype``, or None when it does."""
    if isinstance(dtype, AnyType):
        return None
    if isinstance(dtype, DataType):
        return None if _scalar_fits(value, dtype) else f"{value!r} is not {dtype.name}"
    if isinstance(dtype, Array):
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            return f"expected a list, got {_value_kind(value)}"
        for i, item in enumerate(value):
            problem = None if _missing(item) else _check_value(item, dtype.dtype)
            if problem:
                return f"[{i}]: {problem}"
        return None
    if isinstance(dtype, Object):
        if not isinstance(value, dict):
            return f"expected an object, got {_value_kind(value)}"
        known = {p.name for p in dtype.properties}
        extra = sorted(set(value) - known)
        if extra:
            return f"unexpected properties {extra}"
        for prop in dtype.properties:
            if prop.name not in value or _missing(value[prop.name]):
                if prop.required:
                    return f"missing required property {prop.name!r}"
                continue
            problem = _check_value(value[prop.name], prop.dtype)
            if problem:
                return f"{prop.name!r}: {problem}"
        return None
    if isinstance(dtype, Map):
        if not isinstance(value, dict):
            return f"expected a map, got {_value_kind(value)}"
        for key, item in value.items():
            if not isinstance(key, str):
                return f"map keys must be strings, got {key!r}"
            problem = None if _missing(item) else _check_value(item, dtype.value_type)
            if problem:
                return f"[{key!r}]: {problem}"
        return None
    return f"unsupported type {dtype!r}"


def _scalar_fits(value: Any, dtype: DataType) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return dtype == DataType.boolean
    if dtype in _INT_RANGES:
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        info = _INT_RANGES[dtype]
        return isinstance(value, (int, np.integer)) and info.min <= int(value) <= info.max
    if dtype in (DataType.double, DataType.float):
        return isinstance(value, (int, float, np.integer, np.floating))
    if dtype == DataType.string:
        return isinstance(value, str)
    if dtype == DataType.binary:
        return isinstance(value, (bytes, bytearray))
    if dtype == DataType.datetime:
        return isinstance(value, (_dt.date, np.datetime64)) or (
            isinstance(value, str) and _parse_iso(value) is not None
        )
    return False


def _parse_iso(text: str) -> _dt.date | _dt.datetime | None:
    try:
        if len(text) == 10:
            return _dt.date.fromisoformat(text)
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Tensor schemas


def _enforce_tensors(schema: Schema, data: Any) -> Any:
    import pandas as pd

    specs: list[TensorSpec] = schema.inputs  # type: ignore[assignment]
    if not schema.has_input_names():
        spec = specs[0]
        if isinstance(data, dict):
            raise CairnError.invalid(
                "The model expects a single unnamed tensor; got a dict with keys "
                f"{list(data)} (pass the array itself)"
            )
        if isinstance(data, pd.DataFrame):
            array = _frame_to_array(data, spec)
        else:
            array = _as_array(data, "input")
        return _check_tensor(array, spec, "input")
    if isinstance(data, pd.DataFrame):
        data = {str(c): data[c] for c in data.columns}
    if not isinstance(data, dict):
        expected = [s.name for s in specs]
        raise CairnError.invalid(
            f"The model expects named tensors {expected}: pass a dict of name -> array, "
            f"got {type(data).__name__}"
        )
    missing = [s.name for s in specs if s.name not in data]
    if missing:
        raise CairnError.invalid(
            f"Missing required input tensor(s) {missing}: the model expects "
            f"{[s.name for s in specs]}, got {[str(k) for k in data]}"
        )
    out = {}
    for spec in specs:
        label = f"tensor {spec.name!r}"
        value = data[spec.name]
        if isinstance(value, pd.Series):
            value = _series_to_array(value)
        out[spec.name] = _check_tensor(_as_array(value, label), spec, label)
    return out


def _frame_to_array(df: pd.DataFrame, spec: TensorSpec) -> np.ndarray:
    if df.shape[1] == 1 and df.dtypes.iloc[0].kind == "O":
        return _series_to_array(df.iloc[:, 0])
    return df.to_numpy()


def _series_to_array(series: pd.Series) -> np.ndarray:
    values = series.tolist()
    if values and all(isinstance(v, (list, np.ndarray)) for v in values):
        try:
            return np.stack([np.asarray(v) for v in values])
        except ValueError as exc:
            raise CairnError.invalid(f"Cannot stack the rows into a tensor: {exc}") from None
    return series.to_numpy()


def _dtype_name(dtype: np.dtype) -> str:
    return {"U": "str", "S": "bytes"}.get(dtype.kind, dtype.name)


def _as_array(value: Any, label: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if type(value).__module__.startswith("scipy.sparse") and hasattr(value, "toarray"):
        return value.toarray()
    if isinstance(value, (list, tuple)) or _is_scalar(value):
        try:
            return np.asarray(value)
        except ValueError as exc:
            raise CairnError.invalid(f"The {label} is not a rectangular array: {exc}") from None
    raise CairnError.invalid(
        f"The {label} must be a numpy array (or a list), got {type(value).__name__}"
    )


def _check_tensor(array: np.ndarray, spec: TensorSpec, label: str) -> np.ndarray:
    expected_shape = spec.shape
    if len(array.shape) != len(expected_shape) or any(
        want not in (-1, got) for want, got in zip(expected_shape, array.shape, strict=True)
    ):
        raise CairnError.invalid(
            f"Incompatible shape for {label}: expected {expected_shape}, got {array.shape}"
        )
    return _cast_tensor(array, spec.type, label)


def _cast_tensor(array: np.ndarray, dtype: np.dtype, label: str) -> np.ndarray:
    found = array.dtype
    if found == dtype or (found.kind == dtype.kind and dtype.kind in "US"):
        return array
    why = ""
    if dtype.kind == "U" and found.kind == "O":
        if all(isinstance(v, str) for v in array.ravel().tolist()):
            return array.astype(str)
        why = "not every element is a string"
    elif found.kind in "iufb" and dtype.kind in "iuf" and found.kind != "b":
        if np.can_cast(found, dtype, "safe"):
            return array.astype(dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            cast = array.astype(dtype)
            back = cast.astype(found)
        ok = (back == array) | (np.isnan(array) if found.kind == "f" else False)
        if dtype.kind == "f":
            ok = ok & (np.isfinite(cast) | ~np.isfinite(array) if found.kind == "f" else ok)
        if np.all(ok):
            return cast
        bad = array[~ok].ravel()[0]
        why = f"{_show(bad)} cannot be represented as {dtype.name} without loss"
    elif found.kind == "O" and dtype.kind in "iufb":
        try:
            candidate = np.array(array.tolist())
        except ValueError:
            candidate = array
        if candidate.dtype.kind in "iuf" + ("b" if dtype.kind == "b" else ""):
            return _cast_tensor(candidate, dtype, label)
    raise CairnError.invalid(
        f"Incompatible dtype for {label}: expected {_dtype_name(dtype)}, got {_dtype_name(found)}"
        + (f" ({why})" if why else "")
    )


# ---------------------------------------------------------------------------------------------
# Params


def enforce_params(schema: ParamSchema | None, params: dict[str, Any] | None) -> dict[str, Any]:
    """Params for ``predict``: every schema param present (defaults filled), values converted.

    Unknown params are dropped with a warning, and so are all params when the model has no
    params schema: MLflow does the same. A value of the wrong type raises, naming the parameter.
    """
    if params is not None and not isinstance(params, dict):
        raise CairnError.invalid(f"params must be a dict, got {type(params).__name__}")
    params = params or {}
    if schema is None:
        if params:
            _logger.warning(
                "The model's signature has no params schema; ignoring params %s", sorted(params)
            )
        return {}
    known = {p.name: p for p in schema.params}
    unknown = sorted(set(params) - set(known))
    if unknown:
        _logger.warning("Ignoring params not in the model's signature: %s", unknown)
    out: dict[str, Any] = {}
    for name, spec in known.items():
        if name in params and params[name] is not None:
            out[name] = convert_param_value(spec, params[name])
        elif name in params:
            out[name] = None
        else:
            out[name] = spec.default
    return out


def convert_param_value(spec: ParamSpec, value: Any) -> Any:
    """A parameter value converted to the spec's type and shape, or a CairnError naming it."""
    if spec.shape is None:
        if isinstance(value, (list, tuple, np.ndarray)) and not isinstance(spec.dtype, Array):
            raise _bad_param(spec, value, "a scalar is expected, got a list")
        return _convert_param_scalar(spec, value)
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise _bad_param(spec, value, f"a 1-D list is expected, got a {value.ndim}-D array")
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise _bad_param(spec, value, f"a list (shape {spec.shape}) is expected")
    if any(isinstance(v, (list, tuple, np.ndarray)) for v in value) and not isinstance(
        spec.dtype, Array
    ):
        raise _bad_param(spec, value, "a 1-D list is expected, got a nested list")
    return [_convert_param_scalar(spec, v) for v in value]


def _bad_param(spec: ParamSpec, value: Any, why: str) -> CairnError:
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    expected = f"{spec.dtype!r}" + ("" if spec.shape is None else " list")
    reason = f": {why}" if why else ""
    return CairnError.invalid(
        f"Invalid value for parameter {spec.name!r}: expected {expected}, "
        f"got {_value_kind(value)} {shown}{reason}"
    )


def _convert_param_scalar(spec: ParamSpec, value: Any) -> Any:
    dtype = spec.dtype
    if not isinstance(dtype, DataType):
        problem = _check_value(value, dtype)
        if problem:
            raise _bad_param(spec, value, problem)
        return value
    if isinstance(value, (bool, np.bool_)):
        if dtype == DataType.boolean:
            return bool(value)
        raise _bad_param(spec, value, "")
    if dtype in _INT_RANGES:
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        if isinstance(value, (int, np.integer)):
            info = _INT_RANGES[dtype]
            if info.min <= int(value) <= info.max:
                return int(value)
            raise _bad_param(spec, value, f"out of range for {dtype.name}")
        raise _bad_param(spec, value, "")
    if dtype in (DataType.double, DataType.float):
        if isinstance(value, (int, float, np.integer, np.floating)):
            return float(value)
        raise _bad_param(spec, value, "")
    if dtype == DataType.string:
        if isinstance(value, str):
            return value
        raise _bad_param(spec, value, "")
    if dtype == DataType.datetime:
        return _param_datetime(spec, value)
    raise _bad_param(spec, value, "")


def _param_datetime(spec: ParamSpec, value: Any) -> _dt.date | _dt.datetime:
    import pandas as pd

    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, np.datetime64):
        unit = np.datetime_data(value.dtype)[0]
        if unit in ("Y", "M", "W", "D"):
            return value.astype("datetime64[D]").item()
        return value.astype("datetime64[us]").item()
    if isinstance(value, str):
        parsed = _parse_iso(value)
        if parsed is not None:
            return parsed
        raise _bad_param(spec, value, "not an ISO 8601 date or datetime")
    raise _bad_param(spec, value, "")
