"""Model signatures: what a model takes and returns, in MLflow's MLmodel representation.

A signature is stored in the ``MLmodel`` file as ``signature: {inputs, outputs, params}`` where each
entry is a JSON *string* (or null). The classes here mirror MLflow's type system (column specs with
MLflow data types, tensor specs with numpy dtypes, parameter specs with defaults) so that a model
directory written by either tool is read identically by the other. Enforcement lives in
:mod:`cairn.models.enforcement`; inference from example data is :func:`infer_signature` below.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from enum import Enum
from typing import Any

import numpy as np

from cairn.errors import CairnError

_logger = logging.getLogger(__name__)


class DataType(Enum):
    """MLflow's scalar column types; the member name is what the MLmodel file stores."""

    boolean = "boolean"
    integer = "integer"
    long = "long"
    float = "float"
    double = "double"
    string = "string"
    binary = "binary"
    datetime = "datetime"

    def __repr__(self) -> str:
        return self.name

    def to_numpy(self) -> np.dtype:
        """The numpy dtype a column of this type is held in after enforcement."""
        return np.dtype(_NUMPY_DTYPES[self.name])


_NUMPY_DTYPES = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "str",
    "binary": "bytes",
    "datetime": "datetime64[ns]",
}


def _data_type(value: DataType | str) -> DataType:
    if isinstance(value, DataType):
        return value
    try:
        return DataType[value]
    except (KeyError, TypeError):
        names = [t.name for t in DataType]
        raise CairnError.invalid(
            f"Unsupported data type {value!r}; expected one of {names}, 'array', 'object', "
            "'map' or 'any'"
        ) from None


class AnyType:
    """A value of any type: inferred from all-missing data, never checked at predict time."""

    def to_dict(self) -> dict[str, Any]:
        return {"type": "any"}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyType)

    def __hash__(self) -> int:
        return hash("any")

    def __repr__(self) -> str:
        return "Any"


class Array:
    """A list whose elements all have ``dtype``."""

    def __init__(self, dtype: ValueType | str) -> None:
        self.dtype = _value_type(dtype)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "array", "items": _type_to_dict(self.dtype)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Array) and self.dtype == other.dtype

    def __repr__(self) -> str:
        return f"Array({self.dtype!r})"


class Property:
    """One named field of an :class:`Object`."""

    def __init__(self, name: str, dtype: ValueType | str, required: bool = True) -> None:
        if not isinstance(name, str):
            raise CairnError.invalid(f"Property name must be a string, got {type(name).__name__}")
        self.name = name
        self.dtype = _value_type(dtype)
        self.required = bool(required)

    def to_dict(self) -> dict[str, Any]:
        return {self.name: {**_type_to_dict(self.dtype), "required": self.required}}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Property) and (self.name, self.dtype, self.required) == (
            other.name,
            other.dtype,
            other.required,
        )

    def __repr__(self) -> str:
        return f"{self.name}: {self.dtype!r} ({'required' if self.required else 'optional'})"


class Object:
    """A JSON object with known properties (kept sorted by name, as MLflow does)."""

    def __init__(self, properties: Iterable[Property]) -> None:
        props = list(properties)
        names = [p.name for p in props]
        if len(set(names)) != len(names):
            raise CairnError.invalid(f"Object properties must have unique names, got {names}")
        self.properties = sorted(props, key=lambda p: p.name)

    def to_dict(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for prop in self.properties:
            merged.update(prop.to_dict())
        return {"type": "object", "properties": merged}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Object) and self.properties == other.properties

    def __repr__(self) -> str:
        return f"Object({self.properties!r})"


class Map:
    """A dict from string keys to values of ``value_type``."""

    def __init__(self, value_type: ValueType | str) -> None:
        self.value_type = _value_type(value_type)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "map", "values": _type_to_dict(self.value_type)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Map) and self.value_type == other.value_type

    def __repr__(self) -> str:
        return f"Map({self.value_type!r})"


ValueType = DataType | Array | Object | Map | AnyType


def _value_type(value: Any) -> ValueType:
    if isinstance(value, (DataType, Array, Object, Map, AnyType)):
        return value
    if value == "any":
        return AnyType()
    return _data_type(value)


def _type_to_dict(dtype: ValueType) -> dict[str, Any]:
    return {"type": dtype.name} if isinstance(dtype, DataType) else dtype.to_dict()


def _type_from_dict(d: dict[str, Any]) -> ValueType:
    """Parse the ``{"type": ..., "items"/"properties"/"values": ...}`` part of a spec."""
    if not isinstance(d, dict) or "type" not in d:
        raise CairnError.invalid(f"A type description needs a 'type' key, got {d!r}")
    kind = d["type"]
    if kind == "array":
        if "items" not in d:
            raise CairnError.invalid(f"An array type needs 'items', got {d!r}")
        return Array(_type_from_dict(d["items"]))
    if kind == "object":
        props = d.get("properties")
        if not isinstance(props, dict):
            raise CairnError.invalid(f"An object type needs 'properties', got {d!r}")
        return Object(
            Property(name, _type_from_dict(spec), spec.get("required", True))
            for name, spec in props.items()
        )
    if kind == "map":
        if "values" not in d:
            raise CairnError.invalid(f"A map type needs 'values', got {d!r}")
        return Map(_type_from_dict(d["values"]))
    if kind == "any":
        return AnyType()
    return _data_type(kind)


class ColSpec:
    """One (optionally named) column of tabular data."""

    def __init__(
        self, type: ValueType | str, name: str | None = None, required: bool = True
    ) -> None:
        self.type = _value_type(type)
        self.name = name
        self.required = bool(required)

    def to_dict(self) -> dict[str, Any]:
        d = _type_to_dict(self.type)
        if self.name is not None:
            d["name"] = self.name
        d["required"] = self.required
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColSpec:
        return cls(_type_from_dict(d), d.get("name"), d.get("required", True))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ColSpec) and (self.type, self.name, self.required) == (
            other.type,
            other.name,
            other.required,
        )

    def __repr__(self) -> str:
        req = "required" if self.required else "optional"
        return f"{self.name!r}: {self.type!r} ({req})" if self.name else f"{self.type!r} ({req})"


class TensorSpec:
    """A (optionally named) tensor: a numpy dtype and a shape where -1 is a variable dimension."""

    def __init__(self, dtype: np.dtype | str | type, shape: Sequence[int], name: str | None = None):
        try:
            self.type = np.dtype(dtype)
        except TypeError:
            raise CairnError.invalid(
                f"TensorSpec dtype must be a numpy dtype, got {dtype!r}"
            ) from None
        # MLflow stores flexible dtypes without their size ("str", not "<U7").
        self.type = _clean_tensor_dtype(self.type)
        if not isinstance(shape, (list, tuple)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= -1 for d in shape
        ):
            raise CairnError.invalid(
                "TensorSpec shape must be a list of ints (-1 for a variable dimension), "
                f"got {shape!r}"
            )
        self.shape = tuple(int(d) for d in shape)
        self.name = name

    @property
    def required(self) -> bool:
        return True

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {} if self.name is None else {"name": self.name}
        d["type"] = "tensor"
        d["tensor-spec"] = {"dtype": self.type.name, "shape": list(self.shape)}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TensorSpec:
        spec = d.get("tensor-spec")
        if d.get("type") != "tensor" or not isinstance(spec, dict):
            raise CairnError.invalid(
                f"A tensor spec needs 'type': 'tensor' and 'tensor-spec': {d!r}"
            )
        if "dtype" not in spec or "shape" not in spec:
            raise CairnError.invalid(f"'tensor-spec' needs 'dtype' and 'shape', got {spec!r}")
        return cls(spec["dtype"], spec["shape"], d.get("name"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorSpec) and (self.type, self.shape, self.name) == (
            other.type,
            other.shape,
            other.name,
        )

    def __repr__(self) -> str:
        spec = f"Tensor({self.type.name!r}, {self.shape})"
        return f"{self.name!r}: {spec}" if self.name else spec


class Schema:
    """An ordered list of specs: all ColSpecs or all TensorSpecs, all named or all unnamed."""

    def __init__(self, inputs: Iterable[ColSpec | TensorSpec]) -> None:
        specs = list(inputs) if not isinstance(inputs, (str, bytes, dict)) else None
        if not specs:
            raise CairnError.invalid("A schema needs a non-empty list of ColSpec or TensorSpec")
        if not (
            all(isinstance(s, ColSpec) for s in specs)
            or all(isinstance(s, TensorSpec) for s in specs)
        ):
            raise CairnError.invalid(
                "A schema holds either ColSpecs or TensorSpecs, not a mix: "
                f"{[type(s).__name__ for s in specs]}"
            )
        named = [s.name is not None for s in specs]
        if any(named) and not all(named):
            raise CairnError.invalid(
                "A schema's inputs are all named or all unnamed, "
                f"got names {[s.name for s in specs]}"
            )
        names = [s.name for s in specs if s.name is not None]
        if len(set(names)) != len(names):
            raise CairnError.invalid(f"A schema's input names must be unique, got {names}")
        if isinstance(specs[0], TensorSpec) and len(specs) > 1 and not all(named):
            raise CairnError.invalid("A schema with several TensorSpecs must name each of them")
        if not all(named) and not all(s.required for s in specs):
            raise CairnError.invalid("An unnamed schema cannot have optional columns")
        self.inputs: list[ColSpec | TensorSpec] = specs

    def __iter__(self) -> Iterator[ColSpec | TensorSpec]:
        return iter(self.inputs)

    def __len__(self) -> int:
        return len(self.inputs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self.inputs == other.inputs

    def __repr__(self) -> str:
        return repr(self.inputs)

    def is_tensor_spec(self) -> bool:
        return isinstance(self.inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        return self.inputs[0].name is not None

    def input_names(self) -> list[str | int]:
        """Column names, or positions for an unnamed schema."""
        return [s.name if s.name is not None else i for i, s in enumerate(self.inputs)]

    def required_input_names(self) -> list[str | int]:
        return [n for n, s in zip(self.input_names(), self.inputs, strict=True) if s.required]

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.inputs]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | list[dict[str, Any]]) -> Schema:
        items = _load_json_list(text, "schema")
        return cls(
            TensorSpec.from_dict(d) if d.get("type") == "tensor" else ColSpec.from_dict(d)
            for d in items
        )


def _load_json_list(text: str | list[Any], what: str) -> list[dict[str, Any]]:
    if isinstance(text, str):
        try:
            text = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CairnError.invalid(f"The signature's {what} is not valid JSON: {exc}") from None
    if not isinstance(text, list) or not all(isinstance(d, dict) for d in text):
        raise CairnError.invalid(f"The signature's {what} must be a JSON list of objects")
    return text


class ParamSpec:
    """One inference parameter: its type, default and shape (None for a scalar, (-1,) a list)."""

    def __init__(
        self,
        name: str,
        dtype: ValueType | str,
        default: Any,
        shape: Sequence[int] | None = None,
    ) -> None:
        from cairn.models.enforcement import convert_param_value

        if not isinstance(name, str) or not name:
            raise CairnError.invalid(f"A parameter name must be a non-empty string, got {name!r}")
        self.name = name
        self.dtype = _value_type(dtype)
        if self.dtype == DataType.binary:
            raise CairnError.invalid(f"Parameter {name!r}: binary parameters are not supported")
        if isinstance(self.dtype, AnyType):
            raise CairnError.invalid(f"Parameter {name!r}: a parameter needs a concrete type")
        if shape is not None and tuple(shape) != (-1,):
            raise CairnError.invalid(
                f"Parameter {name!r}: shape must be None (a scalar) or (-1,) (a list), "
                f"got {shape!r}"
            )
        self.shape = None if shape is None else (-1,)
        self.default = None if default is None else convert_param_value(self, default)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "default": _jsonable(self.default),
            "shape": None if self.shape is None else list(self.shape),
            **_type_to_dict(self.dtype),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ParamSpec:
        if not isinstance(d, dict) or not {"name", "type"} <= d.keys():
            raise CairnError.invalid(f"A parameter spec needs 'name' and 'type', got {d!r}")
        return cls(d["name"], _type_from_dict(d), d.get("default"), d.get("shape"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSpec) and (
            self.name,
            self.dtype,
            self.default,
            self.shape,
        ) == (other.name, other.dtype, other.default, other.shape)

    def __repr__(self) -> str:
        shape = "" if self.shape is None else f" (shape: {self.shape})"
        return f"{self.name!r}: {self.dtype!r} (default: {self.default!r}){shape}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


class ParamSchema:
    """The parameters a model's ``predict`` accepts, each with a default."""

    def __init__(self, params: Iterable[ParamSpec]) -> None:
        specs = list(params)
        if not all(isinstance(p, ParamSpec) for p in specs):
            raise CairnError.invalid("A ParamSchema holds ParamSpecs")
        names = [p.name for p in specs]
        if len(set(names)) != len(names):
            raise CairnError.invalid(f"Parameter names must be unique, got {names}")
        self.params = specs

    def __iter__(self) -> Iterator[ParamSpec]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSchema) and self.params == other.params

    def __repr__(self) -> str:
        return repr(self.params)

    def to_dict(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.params]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | list[dict[str, Any]]) -> ParamSchema:
        return cls(ParamSpec.from_dict(d) for d in _load_json_list(text, "params"))


class ModelSignature:
    """Inputs, outputs and inference params of a model, as the MLmodel ``signature`` block."""

    def __init__(
        self,
        inputs: Schema | None = None,
        outputs: Schema | None = None,
        params: ParamSchema | None = None,
    ) -> None:
        for value, kind, label in (
            (inputs, Schema, "inputs"),
            (outputs, Schema, "outputs"),
            (params, ParamSchema, "params"),
        ):
            if value is not None and not isinstance(value, kind):
                raise CairnError.invalid(
                    f"ModelSignature {label} must be a {kind.__name__} or None, "
                    f"got {type(value).__name__}"
                )
        if inputs is None and outputs is None and params is None:
            raise CairnError.invalid("A signature needs at least one of inputs, outputs or params")
        self.inputs = inputs
        self.outputs = outputs
        self.params = params

    def to_dict(self) -> dict[str, str | None]:
        """The ``signature:`` block of an MLmodel file: each part a JSON string or None."""
        return {
            "inputs": None if self.inputs is None else self.inputs.to_json(),
            "outputs": None if self.outputs is None else self.outputs.to_json(),
            "params": None if self.params is None else self.params.to_json(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelSignature:
        if not isinstance(d, dict):
            raise CairnError.invalid(f"A signature must be a mapping, got {type(d).__name__}")
        inputs, outputs, params = d.get("inputs"), d.get("outputs"), d.get("params")
        return cls(
            None if inputs is None else Schema.from_json(inputs),
            None if outputs is None else Schema.from_json(outputs),
            None if params is None else ParamSchema.from_json(params),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelSignature) and (self.inputs, self.outputs, self.params) == (
            other.inputs,
            other.outputs,
            other.params,
        )

    def __repr__(self) -> str:
        return f"inputs: {self.inputs!r}\noutputs: {self.outputs!r}\nparams: {self.params!r}"


# ---------------------------------------------------------------------------------------------
# Inference


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: dict[str, Any] | None = None
) -> ModelSignature:
    """Infer a signature from example input, output and params, with MLflow's rules.

    Data whose type cannot be inferred gets ``Schema([ColSpec(AnyType())])`` and a warning (as in
    MLflow), so logging a model never fails on an exotic output; bad params raise.
    """
    schemas: dict[str, Schema | None] = {}
    for label, data in (("inputs", model_input), ("outputs", model_output)):
        if data is None:
            schemas[label] = None
            continue
        try:
            schemas[label] = infer_schema(data)
        except CairnError as exc:
            _logger.warning("Cannot infer a schema for the %s (%s); using Any", label, exc.message)
            schemas[label] = Schema([ColSpec(AnyType())])
    param_schema = infer_param_schema(params) if params else None
    return ModelSignature(schemas["inputs"], schemas["outputs"], param_schema)


def infer_schema(data: Any) -> Schema:
    """The schema of one dataset (see :func:`infer_signature` for the accepted kinds)."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        if data.shape[1] == 0:
            raise CairnError.invalid("Cannot infer a schema from a DataFrame without columns")
        return Schema(
            ColSpec(
                _infer_series_type(data.iloc[:, i]), str(name), not _has_missing(data.iloc[:, i])
            )
            for i, name in enumerate(data.columns)
        )
    if isinstance(data, pd.Series):
        name = None if data.name is None else str(data.name)
        return Schema(
            [ColSpec(_infer_series_type(data), name, name is None or not _has_missing(data))]
        )
    if isinstance(data, np.ndarray):
        return Schema([_tensor_spec(data)])
    if _is_sparse(data):
        return Schema([TensorSpec(data.dtype, (-1, *data.shape[1:]))])
    if _is_torch_tensor(data):
        return Schema([_tensor_spec(data.detach().cpu().numpy())])
    if isinstance(data, dict):
        if not data:
            raise CairnError.invalid("Cannot infer a schema from an empty dict")
        if all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema(_tensor_spec(v, str(k)) for k, v in data.items())
        return Schema(
            ColSpec(_infer_value_type(v), str(k), not _is_missing(v)) for k, v in data.items()
        )
    if isinstance(data, list):
        if not data:
            raise CairnError.invalid("Cannot infer a schema from an empty list")
        if all(isinstance(v, dict) for v in data):
            return _schema_from_records(data)
        return Schema([ColSpec(_merge_types([_infer_value_type(v) for v in data]))])
    if isinstance(data, (str, bytes, bool, int, float, np.generic, _dt.date)):
        return Schema([ColSpec(_infer_value_type(data))])
    raise CairnError.invalid(f"Cannot infer a schema from data of type {type(data).__name__}")


def _tensor_spec(array: np.ndarray, name: str | None = None) -> TensorSpec:
    if array.dtype.kind == "O":
        raise CairnError.invalid("Cannot infer a tensor spec from an object array")
    shape = (-1, *array.shape[1:]) if array.ndim else ()
    return TensorSpec(_clean_tensor_dtype(array.dtype), shape, name)


def _clean_tensor_dtype(dtype: np.dtype) -> np.dtype:
    """Drop the length of fixed-width string dtypes: "<U5" is stored as "str"."""
    if dtype.kind == "U":
        return np.dtype("str")
    if dtype.kind == "S":
        return np.dtype("bytes")
    return dtype


def _is_sparse(data: Any) -> bool:
    mod = type(data).__module__
    return mod.startswith("scipy.sparse") and hasattr(data, "tocsr")


def _is_torch_tensor(data: Any) -> bool:
    return type(data).__module__.startswith("torch") and hasattr(data, "detach")


def _schema_from_records(records: list[dict[str, Any]]) -> Schema:
    types: dict[str, list[ValueType]] = {}
    required: dict[str, bool] = {}
    for record in records:
        for key, value in record.items():
            types.setdefault(str(key), []).append(_infer_value_type(value))
            required[str(key)] = required.get(str(key), True) and not _is_missing(value)
    for key in types:
        if len(types[key]) < len(records):
            required[key] = False
    return Schema(ColSpec(_merge_types(t), k, required[k]) for k, t in types.items())


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    import pandas as pd

    return value is pd.NA or value is pd.NaT


def _has_missing(series: Any) -> bool:
    return bool(series.isna().any())


def _infer_series_type(series: Any) -> ValueType:
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return DataType.string
    if isinstance(dtype, pd.CategoricalDtype):
        return _infer_series_type(series.astype(dtype.categories.dtype))
    if getattr(dtype, "kind", "O") != "O":
        return _infer_dtype(dtype)
    values = [v for v in series.tolist() if not _is_missing(v)]
    if not values:
        return AnyType()
    return _merge_types([_infer_value_type(v) for v in values])


def _infer_dtype(dtype: Any) -> DataType:
    """Map a numpy (or pandas extension) dtype to an MLflow type, as MLflow does."""
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return DataType.boolean
    if kind in "iu":
        if size < 4 or (kind == "i" and size == 4):
            return DataType.integer
        if size < 8 or (kind == "i" and size == 8):
            return DataType.long
    if kind == "f":
        return DataType.float if size <= 4 else DataType.double
    if kind == "U":
        return DataType.string
    if kind == "S":
        return DataType.binary
    if kind == "M":
        return DataType.datetime
    raise CairnError.invalid(f"Unsupported data type {dtype}")


def _infer_value_type(value: Any) -> ValueType:
    """The MLflow type of one Python value (nested lists become arrays, dicts objects)."""
    if _is_missing(value):
        return AnyType()
    if isinstance(value, (bool, np.bool_)):
        return DataType.boolean
    if isinstance(value, (int, float, np.generic)) and not isinstance(value, np.datetime64):
        if isinstance(value, int):
            return DataType.long
        if isinstance(value, float) and not isinstance(value, np.floating):
            return DataType.double
        return _infer_dtype(np.asarray(value).dtype)
    if isinstance(value, str):
        return DataType.string
    if isinstance(value, (bytes, bytearray)):
        return DataType.binary
    if isinstance(value, (_dt.date, np.datetime64)):
        return DataType.datetime
    if isinstance(value, dict):
        if not value:
            raise CairnError.invalid("Cannot infer the type of an empty dict")
        return Object(
            Property(str(k), _infer_value_type(v), not _is_missing(v)) for k, v in value.items()
        )
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if not value:
            raise CairnError.invalid("Cannot infer the element type of an empty list")
        return Array(_merge_types([_infer_value_type(v) for v in value]))
    raise CairnError.invalid(f"Cannot infer an MLflow type for {type(value).__name__} values")


def _merge_types(types: list[ValueType]) -> ValueType:
    """One type for values seen together: equal types, Any absorbed, objects unioned."""
    result: ValueType = AnyType()
    for t in types:
        result = _merge_two(result, t)
    return result


def _merge_two(a: ValueType, b: ValueType) -> ValueType:
    if isinstance(a, AnyType):
        return b
    if isinstance(b, AnyType) or a == b:
        return a
    if isinstance(a, Array) and isinstance(b, Array):
        return Array(_merge_two(a.dtype, b.dtype))
    if isinstance(a, Object) and isinstance(b, Object):
        pa = {p.name: p for p in a.properties}
        pb = {p.name: p for p in b.properties}
        merged = []
        for name in pa.keys() | pb.keys():
            if name in pa and name in pb:
                dtype = _merge_two(pa[name].dtype, pb[name].dtype)
                merged.append(Property(name, dtype, pa[name].required and pb[name].required))
            else:
                only = pa.get(name) or pb[name]
                merged.append(Property(name, only.dtype, False))
        return Object(merged)
    raise CairnError.invalid(f"Values of incompatible types {a!r} and {b!r} in the same column")


def infer_param_schema(params: dict[str, Any]) -> ParamSchema:
    """Params schema from example values; every value becomes its parameter's default."""
    if not isinstance(params, dict):
        raise CairnError.invalid(f"params must be a dict, got {type(params).__name__}")
    specs, errors = [], []
    for name, value in params.items():
        try:
            specs.append(_infer_param_spec(name, value))
        except CairnError as exc:
            errors.append(f"{name!r}: {exc.message}")
    if errors:
        raise CairnError.invalid("Cannot infer the params schema: " + "; ".join(errors))
    return ParamSchema(specs)


def _infer_param_spec(name: str, value: Any) -> ParamSpec:
    if value is None:
        raise CairnError.invalid("cannot infer a type from None")
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise CairnError.invalid(f"expected a scalar or a 1-D list, got {value.ndim}-D array")
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        items = list(value)
        if any(isinstance(v, (list, tuple, np.ndarray)) for v in items):
            raise CairnError.invalid("expected a scalar or a 1-D list, got a nested list")
        if not items:
            # MLflow infers a datetime list from []; a string list is the useful reading.
            return ParamSpec(name, DataType.string, [], (-1,))
        dtype = _merge_types([_infer_value_type(v) for v in items])
        return ParamSpec(name, dtype, items, (-1,))
    dtype = _infer_value_type(value)
    if isinstance(value, np.datetime64):
        value = _datetime64_to_python(value)
    return ParamSpec(name, dtype, value)


def _datetime64_to_python(value: np.datetime64) -> _dt.date | _dt.datetime:
    unit = np.datetime_data(value.dtype)[0]
    if unit in ("Y", "M", "W", "D"):
        return value.astype("datetime64[D]").item()
    return value.astype("datetime64[us]").item()
