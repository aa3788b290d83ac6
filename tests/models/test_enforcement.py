"""Signature enforcement: safe conversions work, everything else fails naming column and types.

Where mlflow also accepts an input, the converted data must equal what an mlflow pyfunc model
with the same signature hands to its ``predict`` (checked with the real mlflow package).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cairn.errors import INVALID_PARAMETER_VALUE, CairnError
from cairn.models import (
    AnyType,
    Array,
    ColSpec,
    Map,
    ModelSignature,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
    enforce,
    enforce_params,
    enforce_signature,
)

# mlflow's advice on type hints and integer columns is irrelevant to these tests.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TABLE = Schema(
    [ColSpec("long", "a"), ColSpec("double", "b"), ColSpec("string", "c", required=False)]
)


def _refused(schema: Schema, data: Any) -> str:
    with pytest.raises(CairnError) as err:
        enforce(schema, data)
    assert err.value.error_code == INVALID_PARAMETER_VALUE
    return err.value.message


# ---------------------------------------------------------------------------------------------
# Columns: names, order, missing and extra


def test_columns_are_reordered_and_extra_columns_dropped() -> None:
    out = enforce(TABLE, pd.DataFrame({"b": [1.5], "extra": ["x"], "a": [1], "c": ["s"]}))
    assert list(out.columns) == ["a", "b", "c"]
    assert out.to_dict("list") == {"a": [1], "b": [1.5], "c": ["s"]}


def test_optional_columns_may_be_absent() -> None:
    out = enforce(TABLE, pd.DataFrame({"a": [1], "b": [2.0]}))
    assert list(out.columns) == ["a", "b"]


def test_missing_required_columns_are_named() -> None:
    assert _refused(TABLE, pd.DataFrame({"b": [1.0], "z": [0]})) == (
        "Missing required input column(s) ['a']: the model expects ['a', 'b', 'c'], got ['b', 'z']"
    )
    assert _refused(TABLE, pd.DataFrame({"c": ["x"]})).startswith(
        "Missing required input column(s) ['a', 'b']"
    )


def test_dicts_records_and_scalar_dicts_are_read_by_name() -> None:
    expected = {"a": [1, 2], "b": [1.0, 2.5]}
    assert enforce(TABLE, {"b": [1.0, 2.5], "a": [1, 2]}).to_dict("list") == expected
    records = [{"a": 1, "b": 1.0}, {"b": 2.5, "a": 2}]
    assert enforce(TABLE, records).to_dict("list") == expected
    assert enforce(TABLE, {"a": 1, "b": 2.0}).to_dict("list") == {"a": [1], "b": [2.0]}


def test_records_with_an_optional_key_in_some_rows_keep_it_missing_elsewhere() -> None:
    out = enforce(TABLE, [{"a": 1, "b": 1.0}, {"a": 2, "b": 2.0, "c": "z"}])
    assert out["c"].isna().tolist() == [True, False]


def test_arrays_without_names_are_refused_for_named_multi_column_schemas() -> None:
    assert _refused(TABLE, np.array([[1, 2.0]])) == (
        "The input is a ndarray without column names; the model expects named columns "
        "['a', 'b', 'c']: pass a DataFrame, a dict or a list of dicts"
    )


def test_single_named_column_accepts_arrays_lists_series_and_scalars() -> None:
    one = Schema([ColSpec("double", "x")])
    for data in (np.array([1.0, 2.0]), np.array([[1.0], [2.0]]), [1.0, 2.0], pd.Series([1, 2])):
        out = enforce(one, data)
        assert out.to_dict("list") == {"x": [1.0, 2.0]}, data
    text = Schema([ColSpec("string", "q")])
    assert enforce(text, "hello").to_dict("list") == {"q": ["hello"]}
    assert "got an array of shape (2, 2)" in _refused(one, np.zeros((2, 2)))


def test_unnamed_columns_are_matched_by_position() -> None:
    schema = Schema([ColSpec("double"), ColSpec("long")])
    out = enforce(schema, np.array([[1.5, 2.0], [3.0, 4.0]]))
    assert out.dtypes.astype(str).tolist() == ["float64", "int64"]
    assert out.to_numpy().tolist() == [[1.5, 2], [3.0, 4]]
    assert enforce(schema, [[1.0, 2]]).to_numpy().tolist() == [[1.0, 2]]
    named = enforce(schema, pd.DataFrame({"p": [1.0], "q": [2]}))
    assert list(named.columns) == ["p", "q"]
    assert _refused(schema, np.array([[1.0, 2, 3]])) == (
        "The model expects 2 unnamed input column(s) [double, long], got 3 column(s)"
    )
    assert _refused(schema, np.array([[1.0, 2.5]])) == (
        "Incompatible input type for column 1: expected long, got double "
        "(2.5 is not a whole number)"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "The input is an empty dict; the model expects columns"),
        (object(), "Unsupported input type object; the model expects columns ['a', 'b', 'c']"),
        ({"a": [1, 2], "b": [1.0]}, "Cannot read the input dict as columns"),
    ],
)
def test_unreadable_inputs_are_refused(data: Any, message: str) -> None:
    assert message in _refused(TABLE, data)


def test_duplicate_column_names_are_refused() -> None:
    df = pd.DataFrame([[1, 2.0, 3.0]], columns=["a", "b", "b"])
    assert _refused(TABLE, df) == "The input has duplicate column names ['b']"


def test_any_typed_columns_pass_unchecked() -> None:
    schema = Schema([ColSpec(AnyType(), "x"), ColSpec("long", "n")])
    out = enforce(schema, {"x": [{"k": 1}, "s"], "n": [1, 2]})
    assert out["x"].tolist() == [{"k": 1}, "s"]


# ---------------------------------------------------------------------------------------------
# Column types: safe conversions


@pytest.mark.parametrize(
    ("spec_type", "column", "dtype", "values"),
    [
        ("double", [1, 2], "float64", [1.0, 2.0]),  # int -> double
        ("double", np.array([1, 2], dtype="int32"), "float64", [1.0, 2.0]),
        ("double", np.array([1.5], dtype="float32"), "float64", [1.5]),  # float32 -> double
        ("double", np.array([1, 2.5, None], dtype=object), "float64", [1.0, 2.5, None]),
        ("double", pd.array([1.5, None], dtype="Float64"), "float64", [1.5, None]),
        ("double", [2**53], "float64", [float(2**53)]),
        ("float", [1, 2], "float32", [1.0, 2.0]),  # int -> float
        ("float", [0.5, 1.25], "float32", [0.5, 1.25]),  # exactly representable doubles
        ("long", np.array([1], dtype="int32"), "int64", [1]),  # int32 -> long
        ("long", np.array([7], dtype="uint16"), "int64", [7]),
        ("long", [1.0, 2.0], "int64", [1, 2]),  # whole floats
        ("long", pd.array([1, 2], dtype="Int64"), "int64", [1, 2]),
        ("long", np.array([1, 2], dtype=object), "int64", [1, 2]),
        ("integer", [5], "int32", [5]),  # long -> integer when in range
        ("boolean", [True, False], "bool", [True, False]),
        ("boolean", np.array([True], dtype=object), "bool", [True]),
        ("string", ["x", None], None, ["x", None]),
        ("binary", [b"\x00", bytearray(b"1")], "object", [b"\x00", bytearray(b"1")]),
        (
            "datetime",
            pd.to_datetime(["2024-01-02"]),
            "datetime64[ns]",
            [pd.Timestamp("2024-01-02")],
        ),
        ("datetime", [dt.date(2024, 1, 2)], "datetime64[ns]", [pd.Timestamp("2024-01-02")]),
        (
            "datetime",
            ["2024-01-02", "2024-01-02T03:04:05"],
            "datetime64[ns]",
            [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-02 03:04:05")],
        ),
    ],
)
def test_safe_conversions_just_work(
    spec_type: str, column: Any, dtype: str | None, values: list[Any]
) -> None:
    out = enforce(Schema([ColSpec(spec_type, "x")]), pd.DataFrame({"x": column}))
    if dtype is not None:
        assert str(out["x"].dtype) == dtype
    got = [
        None if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)) else v
        for v in out["x"].tolist()
    ]
    assert got == values


# ---------------------------------------------------------------------------------------------
# Column types: unsafe conversions fail naming column, expected and found type


@pytest.mark.parametrize(
    ("spec_type", "column", "message"),
    [
        ("long", [1.5, 2.0], "expected long, got double (1.5 is not a whole number)"),
        ("long", ["1"], "expected long, got string"),
        ("long", [True], "expected long, got boolean"),
        (
            "long",
            np.array([2**63 + 1], dtype="uint64"),
            "expected long, got uint64 (9223372036854775809 is out of range for long)",
        ),
        (
            "integer",
            [2**40],
            "expected integer, got long (1099511627776 is out of range for integer)",
        ),
        ("double", ["x"], "expected double, got string"),
        ("double", [True], "expected double, got boolean"),
        (
            "double",
            [2**60 + 1],
            "expected double, got long (1152921504606846977 cannot be represented as double "
            "without loss)",
        ),
        (
            "float",
            [0.1],
            "expected float, got double (0.1 cannot be represented as float without loss)",
        ),
        ("double", np.array([1, "x"], dtype=object), "expected double, got mixed long/string"),
        ("string", [1, 2], "expected string, got long"),
        ("string", np.array(["a", 1], dtype=object), "expected string, got mixed long/string"),
        ("boolean", [1, 0], "expected boolean, got long"),
        ("boolean", ["true"], "expected boolean, got string"),
        ("boolean", np.array([True, None], dtype=object), "(it has missing values)"),
        ("binary", ["text"], "expected binary, got string"),
        ("datetime", [1], "expected datetime, got long"),
        ("datetime", ["2024-01-02", "nope"], "expected datetime, got string ('nope' is not an ISO"),
        (
            "datetime",
            pd.to_datetime(["2024-01-02"]).tz_localize("UTC"),
            "expected datetime, got datetime (timezone-aware values",
        ),
    ],
)
def test_unsafe_conversions_fail_naming_column_and_types(
    spec_type: str, column: Any, message: str
) -> None:
    got = _refused(Schema([ColSpec(spec_type, "col")]), pd.DataFrame({"col": column}))
    assert got.startswith("Incompatible input type for column 'col': "), got
    assert message in got


def test_missing_values_in_integer_columns_get_a_hint() -> None:
    for column in ([np.nan, 1.0], pd.array([1, None], dtype="Int64"), [1, None]):
        got = _refused(Schema([ColSpec("long", "n")]), pd.DataFrame({"n": column}))
        assert got.startswith("Incompatible input type for column 'n': expected long, got ")
        assert "it has missing values; integer columns cannot hold missing values" in got
        assert "declare it as double" in got


def test_the_first_bad_column_is_reported_and_the_input_is_not_modified() -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    before = df.copy()
    assert "column 'b': expected double, got string" in _refused(TABLE, df)
    pd.testing.assert_frame_equal(df, before)


# ---------------------------------------------------------------------------------------------
# Nested types (arrays, objects, maps)

NESTED = Schema(
    [
        ColSpec(Array("long"), "ids"),
        ColSpec(Object([Property("x", "double"), Property("tag", "string", False)]), "point"),
        ColSpec(Map(Array("string")), "labels", required=False),
    ]
)


def test_nested_values_that_fit_pass_unchanged() -> None:
    rows = [
        {"ids": [1, 2], "point": {"x": 1}, "labels": {"k": ["a"]}},
        {"ids": np.array([3]), "point": {"x": 2.5, "tag": "t"}},
    ]
    out = enforce(NESTED, rows)
    assert out["ids"].tolist()[0] == [1, 2]
    assert out["point"].tolist() == [{"x": 1}, {"x": 2.5, "tag": "t"}]


def test_a_single_nested_row_can_be_given_as_a_dict() -> None:
    out = enforce(NESTED, {"ids": [1, 2], "point": {"x": 1.0}})
    assert len(out) == 1 and out["ids"].tolist() == [[1, 2]]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"ids": [1, "z"], "point": {"x": 1.0}},
            "column 'ids': expected Array(long), got array (row 0: [1]: 'z' is not long)",
        ),
        ({"ids": 3, "point": {"x": 1.0}}, "(row 0: expected a list, got long)"),
        ({"ids": [1], "point": {"tag": "t"}}, "(row 0: missing required property 'x')"),
        ({"ids": [1], "point": {"x": 1.0, "y": 2}}, "(row 0: unexpected properties ['y'])"),
        ({"ids": [1], "point": {"x": "1"}}, "(row 0: 'x': '1' is not double)"),
        ({"ids": [1], "point": [1.0]}, "(row 0: expected an object, got array)"),
        (
            {"ids": [1], "point": {"x": 1.0}, "labels": {"k": "a"}},
            "column 'labels': expected Map(Array(string)), got object "
            "(row 0: ['k']: expected a list, got string)",
        ),
    ],
)
def test_nested_values_that_do_not_fit_name_the_path(row: dict[str, Any], message: str) -> None:
    assert message in _refused(NESTED, [row])


# ---------------------------------------------------------------------------------------------
# Tensors

IMAGE = Schema([TensorSpec("float32", (-1, 2, 3))])


def test_tensor_with_variable_batch_dimension_passes() -> None:
    for batch in (1, 7):
        out = enforce(IMAGE, np.zeros((batch, 2, 3), dtype="float32"))
        assert out.shape == (batch, 2, 3) and out.dtype == np.float32


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        (np.ones((2, 2, 3), dtype="int16"), "float32"),  # numpy-safe cast
        (np.ones((2, 2, 3), dtype="int64"), "float32"),  # exact values
        (np.full((2, 2, 3), 0.5), "float32"),  # float64 values exact in float32
        (np.ones((1, 2, 3)).tolist(), "float32"),  # nested lists
        (np.ones((1, 2, 3), dtype=object), "float32"),
    ],
)
def test_tensor_safe_dtype_conversions(data: Any, dtype: str) -> None:
    out = enforce(IMAGE, data)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, np.asarray(data, dtype=float))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            np.zeros((2, 3, 3), dtype="float32"),
            "Incompatible shape for input: expected (-1, 2, 3), got (2, 3, 3)",
        ),
        (
            np.zeros((2, 6), dtype="float32"),
            "Incompatible shape for input: expected (-1, 2, 3), got (2, 6)",
        ),
        (np.zeros((2, 2, 3, 1)), "expected (-1, 2, 3), got (2, 2, 3, 1)"),
        (
            np.full((1, 2, 3), 0.1),
            "Incompatible dtype for input: expected float32, got float64 "
            "(0.1 cannot be represented as float32 without loss)",
        ),
        (np.full((1, 2, 3), "a"), "Incompatible dtype for input: expected float32, got str"),
        (
            np.ones((1, 2, 3), dtype=bool),
            "Incompatible dtype for input: expected float32, got bool",
        ),
        ({"x": np.zeros((1, 2, 3))}, "The model expects a single unnamed tensor; got a dict"),
        ([[1, 2], [3]], "The input is not a rectangular array"),
        (object(), "The input must be a numpy array (or a list), got object"),
    ],
)
def test_tensor_mismatches_are_refused(data: Any, message: str) -> None:
    assert message in _refused(IMAGE, data)


def test_int_tensor_refuses_fractions_and_accepts_whole_floats() -> None:
    ids = Schema([TensorSpec("int64", (-1,))])
    assert enforce(ids, np.array([1.0, 2.0])).tolist() == [1, 2]
    assert enforce(ids, np.array([1.0, 2.0])).dtype == np.int64
    assert _refused(ids, np.array([1.5])) == (
        "Incompatible dtype for input: expected int64, got float64 "
        "(1.5 cannot be represented as int64 without loss)"
    )


def test_string_tensors_accept_object_arrays_of_strings() -> None:
    words = Schema([TensorSpec("str", (-1,))])
    assert enforce(words, np.array(["a", "bc"], dtype=object)).dtype.kind == "U"
    assert enforce(words, ["a", "b"]).tolist() == ["a", "b"]
    assert "not every element is a string" in _refused(words, np.array(["a", 1], dtype=object))


def test_dataframe_input_for_a_tensor_schema() -> None:
    table = Schema([TensorSpec("float64", (-1, 2))])
    out = enforce(table, pd.DataFrame({"p": [1.0, 2.0], "q": [3, 4]}))
    assert out.tolist() == [[1.0, 3.0], [2.0, 4.0]]


NAMED = Schema([TensorSpec("float64", (-1, 3), "x"), TensorSpec("int64", (-1,), "y")])


def test_named_tensors_from_a_dict_with_extras_dropped() -> None:
    out = enforce(NAMED, {"y": [1, 2], "x": np.zeros((2, 3), dtype="float32"), "z": 0})
    assert sorted(out) == ["x", "y"]
    assert out["x"].dtype == np.float64 and out["y"].dtype == np.int64


def test_named_tensors_from_a_dataframe_of_row_arrays() -> None:
    df = pd.DataFrame({"x": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "y": [7, 8]})
    out = enforce(NAMED, df)
    assert out["x"].shape == (2, 3) and out["y"].tolist() == [7, 8]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"x": np.zeros((2, 3))},
            "Missing required input tensor(s) ['y']: the model expects ['x', 'y'], got ['x']",
        ),
        (
            {"x": np.zeros((2, 3)), "y": np.zeros((2, 2), dtype="int64")},
            "Incompatible shape for tensor 'y': expected (-1,), got (2, 2)",
        ),
        (
            {"x": np.zeros((2, 3)), "y": np.array([0.5])},
            "Incompatible dtype for tensor 'y': expected int64, got float64",
        ),
        (
            np.zeros((2, 3)),
            "The model expects named tensors ['x', 'y']: pass a dict of name -> array, got ndarray",
        ),
    ],
)
def test_named_tensor_mismatches_are_refused(data: Any, message: str) -> None:
    assert message in _refused(NAMED, data)


def test_enforce_needs_a_schema() -> None:
    with pytest.raises(CairnError, match="enforce\\(\\) needs a Schema, got list"):
        enforce([ColSpec("long", "a")], {"a": 1})  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Params

PARAMS = ParamSchema(
    [
        ParamSpec("k", "long", 5),
        ParamSpec("i", "integer", 1),
        ParamSpec("t", "double", 0.5),
        ParamSpec("s", "string", "greedy"),
        ParamSpec("flag", "boolean", False),
        ParamSpec("stops", "string", ["."], (-1,)),
        ParamSpec("weights", "double", [1.0], (-1,)),
        ParamSpec("day", "datetime", dt.date(2024, 1, 2)),
        ParamSpec("cfg", Object([Property("depth", "long")]), {"depth": 2}),
    ]
)
DEFAULTS = {
    "k": 5,
    "i": 1,
    "t": 0.5,
    "s": "greedy",
    "flag": False,
    "stops": ["."],
    "weights": [1.0],
    "day": dt.date(2024, 1, 2),
    "cfg": {"depth": 2},
}


def test_defaults_fill_every_param_not_given() -> None:
    assert enforce_params(PARAMS, None) == DEFAULTS
    assert enforce_params(PARAMS, {}) == DEFAULTS
    assert enforce_params(PARAMS, {"k": 9, "s": "beam"}) == {**DEFAULTS, "k": 9, "s": "beam"}


@pytest.mark.parametrize(
    ("given", "converted"),
    [
        ({"t": 1}, {"t": 1.0}),
        ({"k": np.int32(3)}, {"k": 3}),
        ({"k": 4.0}, {"k": 4}),
        ({"weights": [1, 2]}, {"weights": [1.0, 2.0]}),
        ({"weights": np.array([0.5, 1.5])}, {"weights": [0.5, 1.5]}),
        ({"stops": ("a", "b")}, {"stops": ["a", "b"]}),
        ({"day": "2025-03-04"}, {"day": dt.date(2025, 3, 4)}),
        ({"day": "2025-03-04T05:06:07"}, {"day": dt.datetime(2025, 3, 4, 5, 6, 7)}),
        ({"day": np.datetime64("2025-03-04")}, {"day": dt.date(2025, 3, 4)}),
        ({"day": pd.Timestamp("2025-03-04 01:00")}, {"day": dt.datetime(2025, 3, 4, 1)}),
        ({"flag": np.bool_(True)}, {"flag": True}),
        ({"k": None}, {"k": None}),  # None is passed on, as mlflow does
        ({"cfg": {"depth": 7}}, {"cfg": {"depth": 7}}),
    ],
)
def test_param_values_are_converted_safely(
    given: dict[str, Any], converted: dict[str, Any]
) -> None:
    assert enforce_params(PARAMS, given) == {**DEFAULTS, **converted}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"k": 7.5}, "Invalid value for parameter 'k': expected long, got double 7.5"),
        ({"k": "7"}, "Invalid value for parameter 'k': expected long, got string '7'"),
        ({"k": True}, "Invalid value for parameter 'k': expected long, got boolean True"),
        (
            {"i": 2**40},
            "Invalid value for parameter 'i': expected integer, got long 1099511627776: "
            "out of range for integer",
        ),
        ({"t": "0.5"}, "Invalid value for parameter 't': expected double, got string '0.5'"),
        ({"s": 1}, "Invalid value for parameter 's': expected string, got long 1"),
        ({"flag": 1}, "Invalid value for parameter 'flag': expected boolean, got long 1"),
        (
            {"k": [1, 2]},
            "Invalid value for parameter 'k': expected long, got array [1, 2]: "
            "a scalar is expected, got a list",
        ),
        (
            {"weights": 1.0},
            "Invalid value for parameter 'weights': expected double list, got double 1.0: "
            "a list (shape (-1,)) is expected",
        ),
        (
            {"weights": [[1.0]]},
            "Invalid value for parameter 'weights': expected double list, got array [[1.0]]: "
            "a 1-D list is expected, got a nested list",
        ),
        (
            {"weights": ["a"]},
            "Invalid value for parameter 'weights': expected double list, got string 'a'",
        ),
        (
            {"weights": np.zeros((1, 1))},
            "Invalid value for parameter 'weights': expected double list, got array "
            "array([[0.]]): a 1-D list is expected, got a 2-D array",
        ),
        (
            {"day": "soon"},
            "Invalid value for parameter 'day': expected datetime, got string 'soon': "
            "not an ISO 8601 date or datetime",
        ),
        (
            {"cfg": {"depth": "deep"}},
            "Invalid value for parameter 'cfg': expected Object([depth: long (required)]), "
            "got object {'depth': 'deep'}: 'depth': 'deep' is not long",
        ),
    ],
)
def test_bad_param_values_are_refused_naming_the_param(given: dict[str, Any], message: str) -> None:
    with pytest.raises(CairnError) as err:
        enforce_params(PARAMS, given)
    assert err.value.error_code == INVALID_PARAMETER_VALUE
    assert err.value.message == message


def test_params_must_be_a_dict() -> None:
    with pytest.raises(CairnError, match="params must be a dict, got list"):
        enforce_params(PARAMS, [1])  # type: ignore[arg-type]


def test_unknown_params_are_dropped_with_a_warning(caplog: Any) -> None:
    with caplog.at_level(logging.WARNING, logger="cairn.models.enforcement"):
        assert enforce_params(PARAMS, {"bogus": 1, "k": 2}) == {**DEFAULTS, "k": 2}
        assert enforce_params(None, {"k": 2}) == {}
    assert "Ignoring params not in the model's signature: ['bogus']" in caplog.text
    assert "no params schema; ignoring params ['k']" in caplog.text


def test_enforce_signature_does_inputs_and_params_together() -> None:
    sig = ModelSignature(TABLE, params=ParamSchema([ParamSpec("k", "long", 1)]))
    data, params = enforce_signature(sig, {"a": [1], "b": [2]}, {"k": 3})
    assert data.to_dict("list") == {"a": [1], "b": [2.0]} and params == {"k": 3}
    assert enforce_signature(None, "raw", {"x": 1}) == ("raw", {"x": 1})
    params_only = ModelSignature(params=ParamSchema([ParamSpec("k", "long", 1)]))
    assert enforce_signature(params_only, "raw", None) == ("raw", {"k": 1})


# ---------------------------------------------------------------------------------------------
# Interop: the same signature enforced by mlflow's pyfunc gives the same data


@pytest.fixture(scope="module")
def mlflow_echo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Load (with mlflow) an mlflow pyfunc model that returns its enforced input."""
    import mlflow
    from mlflow.models import ModelSignature as MlflowSignature

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):  # no hints: mlflow reads them
            return {"data": model_input, "params": params}

    def load(signature: ModelSignature) -> Any:
        path = tmp_path_factory.mktemp("echo") / "model"
        mlflow.pyfunc.save_model(
            str(path),
            python_model=Echo(),
            signature=MlflowSignature.from_dict(signature.to_dict()),
            pip_requirements=["numpy"],
        )
        return mlflow.pyfunc.load_model(str(path))

    return load


@pytest.mark.parametrize(
    ("signature", "data", "params"),
    [
        (ModelSignature(TABLE), pd.DataFrame({"b": [1.5], "zz": [0], "a": [3], "c": ["s"]}), None),
        (ModelSignature(TABLE), [{"a": 1, "b": 1.0}, {"a": 2, "b": 2.5}], None),
        (ModelSignature(TABLE), pd.DataFrame({"a": np.array([1], "int32"), "b": [1.0]}), None),
        (
            ModelSignature(Schema([ColSpec("double", "x"), ColSpec("datetime", "t")])),
            pd.DataFrame({"x": np.array([0.5], "float32"), "t": [dt.datetime(2024, 1, 2)]}),
            None,
        ),
        (ModelSignature(IMAGE), np.zeros((2, 2, 3), dtype="float32"), None),
        (ModelSignature(NAMED), {"x": np.zeros((1, 3)), "y": np.array([4])}, None),
        (
            ModelSignature(Schema([ColSpec("long", "a")]), params=PARAMS),
            pd.DataFrame({"a": [1]}),
            {"k": 3, "t": 2, "weights": [1, 2], "day": "2025-01-02", "flag": True},
        ),
    ],
    ids=["reorder", "records", "int32", "float32-datetime", "tensor", "named", "params"],
)
def test_accepted_inputs_enforce_like_mlflow(
    mlflow_echo: Any, signature: ModelSignature, data: Any, params: Any
) -> None:
    theirs = mlflow_echo(signature).predict(data, params=params)
    ours, our_params = enforce_signature(signature, data, params)
    if isinstance(ours, pd.DataFrame):
        pd.testing.assert_frame_equal(ours.reset_index(drop=True), theirs["data"], check_dtype=True)
    elif isinstance(ours, dict):
        assert sorted(ours) == sorted(theirs["data"])
        for key in ours:
            np.testing.assert_array_equal(ours[key], theirs["data"][key])
            assert ours[key].dtype == theirs["data"][key].dtype
    else:
        np.testing.assert_array_equal(ours, theirs["data"])
        assert ours.dtype == theirs["data"].dtype
    assert our_params == (theirs["params"] or {})


@pytest.mark.parametrize(
    ("data", "column"),
    [
        (pd.DataFrame({"b": [1.0]}), "a"),
        (pd.DataFrame({"a": [1.5], "b": [1.0]}), "a"),
        (pd.DataFrame({"a": ["1"], "b": [1.0]}), "a"),
        (pd.DataFrame({"a": [1], "b": ["x"]}), "b"),
        (pd.DataFrame({"a": [1], "b": [1.0], "c": [3]}), "c"),
    ],
)
def test_inputs_mlflow_refuses_are_refused_naming_the_same_column(
    mlflow_echo: Any, data: pd.DataFrame, column: str, tmp_path: Path
) -> None:
    from mlflow.exceptions import MlflowException

    model = mlflow_echo(ModelSignature(TABLE))
    with pytest.raises(MlflowException) as theirs:
        model.predict(data)
    assert column in str(theirs.value)
    assert f"'{column}'" in _refused(TABLE, data)
