"""Signatures: spec validation, the MLmodel representation, inference, and interop with mlflow.

The interop tests save real models with mlflow 3.17 and read the ``signature`` block of the
MLmodel file it wrote, and hand cairn's dict to mlflow's own parser, for the same datasets.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from cairn.errors import INVALID_PARAMETER_VALUE, CairnError
from cairn.models import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    ModelSignature,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
    infer_signature,
)

# mlflow's advice (type hints, input examples, integer columns) is irrelevant to these tests.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

# ---------------------------------------------------------------------------------------------
# The MLmodel representation


def test_colspec_dict_has_mlflow_key_order_and_omits_missing_name() -> None:
    assert ColSpec("double", "x").to_dict() == {"type": "double", "name": "x", "required": True}
    assert list(ColSpec("double", "x").to_dict()) == ["type", "name", "required"]
    assert ColSpec(DataType.long).to_dict() == {"type": "long", "required": True}
    assert ColSpec("string", "s", required=False).to_dict()["required"] is False


def test_tensor_spec_dict_puts_name_first_and_stores_dtype_name() -> None:
    spec = TensorSpec(np.dtype("float32"), (-1, 3), "x")
    assert spec.to_dict() == {
        "name": "x",
        "type": "tensor",
        "tensor-spec": {"dtype": "float32", "shape": [-1, 3]},
    }
    assert list(spec.to_dict()) == ["name", "type", "tensor-spec"]
    assert TensorSpec(np.dtype("<U7"), (-1,)).to_dict()["tensor-spec"]["dtype"] == "str"
    assert "name" not in TensorSpec("int64", [-1]).to_dict()


def test_nested_types_serialise_like_mlflow() -> None:
    obj = Object([Property("z", "string", required=False), Property("a", Array("long"))])
    assert obj.to_dict() == {
        "type": "object",
        "properties": {
            "a": {"type": "array", "items": {"type": "long"}, "required": True},
            "z": {"type": "string", "required": False},
        },
    }
    assert list(obj.to_dict()["properties"]) == ["a", "z"]  # sorted by name
    assert ColSpec(Map("double"), "m").to_dict() == {
        "type": "map",
        "values": {"type": "double"},
        "name": "m",
        "required": True,
    }
    assert ColSpec(AnyType(), "x", required=False).to_dict() == {
        "type": "any",
        "name": "x",
        "required": False,
    }


def test_signature_dict_holds_json_strings_and_nulls() -> None:
    sig = ModelSignature(
        Schema([ColSpec("long", "a")]),
        params=ParamSchema([ParamSpec("k", "long", 3), ParamSpec("t", "double", [1.0], (-1,))]),
    )
    d = sig.to_dict()
    assert d == {
        "inputs": '[{"type": "long", "name": "a", "required": true}]',
        "outputs": None,
        "params": '[{"name": "k", "default": 3, "shape": null, "type": "long"}, '
        '{"name": "t", "default": [1.0], "shape": [-1], "type": "double"}]',
    }


def test_param_defaults_serialise_dates_as_iso_strings_and_parse_back() -> None:
    params = ParamSchema(
        [
            ParamSpec("d", "datetime", dt.date(2020, 1, 2)),
            ParamSpec("t", "datetime", dt.datetime(2020, 1, 2, 3, 4, 5)),
        ]
    )
    entries = json.loads(params.to_json())
    assert [e["default"] for e in entries] == ["2020-01-02", "2020-01-02T03:04:05"]
    back = ParamSchema.from_json(params.to_json())
    assert back == params
    assert back.params[0].default == dt.date(2020, 1, 2)


def _every_kind_signature() -> ModelSignature:
    return ModelSignature(
        inputs=Schema(
            [
                ColSpec("boolean", "b"),
                ColSpec("integer", "i"),
                ColSpec("long", "l"),
                ColSpec("float", "f"),
                ColSpec("double", "d", required=False),
                ColSpec("string", "s"),
                ColSpec("binary", "y"),
                ColSpec("datetime", "t"),
                ColSpec(Array(Array("double")), "aa"),
                ColSpec(Object([Property("p", "string"), Property("q", Map("long"), False)]), "o"),
                ColSpec(Map(Array("string")), "m"),
                ColSpec(AnyType(), "any", required=False),
            ]
        ),
        outputs=Schema(
            [TensorSpec("float32", (-1, 2, 3), "probs"), TensorSpec("int64", (-1,), "label")]
        ),
        params=ParamSchema(
            [
                ParamSpec("n", "integer", 4),
                ParamSpec("stop", "string", ["a", "b"], (-1,)),
                ParamSpec("flag", "boolean", True),
                ParamSpec("cfg", Object([Property("k", "double")]), {"k": 1.5}),
                ParamSpec("when", "datetime", dt.date(2024, 5, 6)),
                ParamSpec("none", "double", None),
            ]
        ),
    )


def test_round_trip_through_dict_and_yaml_keeps_everything() -> None:
    sig = _every_kind_signature()
    assert ModelSignature.from_dict(sig.to_dict()) == sig
    text = yaml.safe_dump({"signature": sig.to_dict()})
    assert ModelSignature.from_dict(yaml.safe_load(text)["signature"]) == sig


def test_mlflow_parses_cairn_dict_of_every_kind_and_writes_it_back_identically() -> None:
    from mlflow.models import ModelSignature as MlflowSignature

    d = _every_kind_signature().to_dict()
    theirs = MlflowSignature.from_dict(d)
    assert theirs.to_dict() == d


# ---------------------------------------------------------------------------------------------
# Validation of specs and of stored signatures


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Schema([]), "non-empty list"),
        (lambda: Schema([ColSpec("long", "a"), TensorSpec("int64", [-1])]), "not a mix"),
        (lambda: Schema([ColSpec("long", "a"), ColSpec("long")]), "all named or all unnamed"),
        (lambda: Schema([ColSpec("long", "a"), ColSpec("double", "a")]), "must be unique"),
        (lambda: Schema([ColSpec("long", required=False)]), "cannot have optional"),
        (
            lambda: Schema([TensorSpec("int64", [-1]), TensorSpec("int64", [-1])]),
            "must name each",
        ),
        (lambda: ColSpec("decimal", "a"), "Unsupported data type 'decimal'"),
        (lambda: TensorSpec("int64", (-2, 3)), "list of ints"),
        (lambda: TensorSpec("int64", "(-1,)"), "list of ints"),
        (lambda: TensorSpec("no-such-dtype", (-1,)), "numpy dtype"),
        (lambda: ParamSpec("p", "binary", b"x"), "binary parameters are not supported"),
        (lambda: ParamSpec("p", "long", 1, (2, 2)), "shape must be None"),
        (lambda: ParamSpec("p", "long", "1"), "expected long, got string '1'"),
        (lambda: ParamSchema([ParamSpec("p", "long", 1), ParamSpec("p", "long", 2)]), "unique"),
        (lambda: ModelSignature(), "at least one of"),
        (lambda: ModelSignature(inputs=[ColSpec("long")]), "must be a Schema"),
        (lambda: Object([Property("a", "long"), Property("a", "string")]), "unique names"),
    ],
)
def test_invalid_specs_raise_clear_errors(build: Any, message: str) -> None:
    with pytest.raises(CairnError) as err:
        build()
    assert err.value.error_code == INVALID_PARAMETER_VALUE
    assert message in err.value.message


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"inputs": "not json"}, "not valid JSON"),
        ({"inputs": '{"type": "long"}'}, "JSON list of objects"),
        ({"inputs": '[{"name": "a"}]'}, "needs a 'type' key"),
        ({"inputs": '[{"type": "varchar", "name": "a"}]'}, "Unsupported data type 'varchar'"),
        ({"inputs": '[{"type": "array", "name": "a"}]'}, "needs 'items'"),
        ({"inputs": '[{"type": "object", "name": "a"}]'}, "needs 'properties'"),
        ({"inputs": '[{"type": "tensor", "tensor-spec": {"dtype": "int8"}}]'}, "'shape'"),
        ({"params": '[{"name": "p"}]'}, "needs 'name' and 'type'"),
        ({"inputs": None, "outputs": None}, "at least one of"),
        ("inputs: []", "must be a mapping"),
    ],
)
def test_broken_signature_blocks_are_refused_with_the_reason(block: Any, message: str) -> None:
    with pytest.raises(CairnError) as err:
        ModelSignature.from_dict(block)
    assert message in err.value.message


def test_colspec_without_required_key_defaults_to_required() -> None:
    sig = ModelSignature.from_dict({"inputs": '[{"type": "double", "name": "x"}]'})
    assert sig.inputs.inputs[0].required is True


# ---------------------------------------------------------------------------------------------
# Inference (checked against mlflow's own inference below as well)


def test_dataframe_columns_with_missing_values_are_optional() -> None:
    df = pd.DataFrame({"a": [1, 2], "b": [1.0, np.nan], "c": ["x", None], "n": [1, None]})
    sig = infer_signature(df)
    assert sig.inputs == Schema(
        [
            ColSpec("long", "a"),
            ColSpec("double", "b", required=False),
            ColSpec("string", "c", required=False),
            ColSpec("double", "n", required=False),  # ints with a None become floats
        ]
    )
    assert sig.outputs is None and sig.params is None


def test_dataframe_dtypes_map_to_mlflow_types() -> None:
    df = pd.DataFrame(
        {
            "i8": np.array([1], dtype="int8"),
            "i32": np.array([1], dtype="int32"),
            "u32": np.array([1], dtype="uint32"),
            "f16": np.array([1], dtype="float16"),
            "f32": np.array([1], dtype="float32"),
            "b": [True],
            "t": pd.to_datetime(["2024-01-01"]),
            "y": [b"\x00"],
            "arr": [[1.5, 2.5]],
            "obj": [{"k": "v"}],
            "none": [None],
        }
    )
    types = {c.name: c.type for c in infer_signature(df).inputs}
    assert types == {
        "i8": DataType.integer,
        "i32": DataType.integer,
        "u32": DataType.long,
        "f16": DataType.float,
        "f32": DataType.float,
        "b": DataType.boolean,
        "t": DataType.datetime,
        "y": DataType.binary,
        "arr": Array("double"),
        "obj": Object([Property("k", "string")]),
        "none": AnyType(),
    }


def test_numpy_arrays_become_tensors_with_a_variable_batch_dimension() -> None:
    sig = infer_signature(np.zeros((5, 3, 2), dtype="float32"), np.zeros(5, dtype="int64"))
    assert sig.inputs == Schema([TensorSpec("float32", (-1, 3, 2))])
    assert sig.outputs == Schema([TensorSpec("int64", (-1,))])


def test_dict_of_arrays_gives_named_tensors_and_dict_of_values_gives_columns() -> None:
    tensors = infer_signature({"x": np.zeros((2, 4)), "y": np.array(["a", "b"])}).inputs
    assert tensors == Schema([TensorSpec("float64", (-1, 4), "x"), TensorSpec("str", (-1,), "y")])
    columns = infer_signature({"q": "hi", "k": 3, "tags": ["a", "b"]}).inputs
    assert columns == Schema(
        [ColSpec("string", "q"), ColSpec("long", "k"), ColSpec(Array("string"), "tags")]
    )


def test_list_of_records_unions_keys_and_marks_absent_ones_optional() -> None:
    sig = infer_signature([{"a": 1, "b": "x"}, {"a": 2, "c": 1.5}, {"a": 3, "b": None}])
    assert sig.inputs == Schema(
        [
            ColSpec("long", "a"),
            ColSpec("string", "b", required=False),
            ColSpec("double", "c", required=False),
        ]
    )


def test_scalars_and_lists_of_scalars_give_one_unnamed_column() -> None:
    assert infer_signature("text").inputs == Schema([ColSpec("string")])
    assert infer_signature([1, 2, 3]).inputs == Schema([ColSpec("long")])
    assert infer_signature(pd.Series([1.5], name="p")).inputs == Schema([ColSpec("double", "p")])


def test_sparse_matrices_infer_as_tensors() -> None:
    sparse = pytest.importorskip("scipy.sparse", reason="scipy is not installed")
    sig = infer_signature(sparse.csr_matrix(np.eye(4, dtype="float32")))
    assert sig.inputs == Schema([TensorSpec("float32", (-1, 4))])


def test_torch_tensors_infer_as_tensors() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed (optional extra)")
    sig = infer_signature(torch.zeros((2, 3), dtype=torch.float32))
    assert sig.inputs == Schema([TensorSpec("float32", (-1, 3))])


def test_uninferable_data_falls_back_to_any_with_a_warning(caplog: Any) -> None:
    with caplog.at_level(logging.WARNING, logger="cairn.models.signature"):
        sig = infer_signature(pd.DataFrame({"a": [1, "x"]}), object())
    assert sig.inputs == Schema([ColSpec(AnyType())])
    assert sig.outputs == Schema([ColSpec(AnyType())])
    assert "incompatible types long and string" in caplog.text
    assert "Cannot infer a schema from data of type object" in caplog.text


def test_params_are_inferred_with_their_values_as_defaults() -> None:
    sig = infer_signature(
        params={
            "beams": 5,
            "temp": 0.7,
            "greedy": False,
            "stop": ["\n", "."],
            "scale": np.float32(0.5),
            "day": np.datetime64("2024-01-02"),
            "at": dt.datetime(2024, 1, 2, 3, 4),
        }
    )
    assert sig.inputs is None
    assert sig.params == ParamSchema(
        [
            ParamSpec("beams", "long", 5),
            ParamSpec("temp", "double", 0.7),
            ParamSpec("greedy", "boolean", False),
            ParamSpec("stop", "string", ["\n", "."], (-1,)),
            ParamSpec("scale", "float", 0.5),
            ParamSpec("day", "datetime", dt.date(2024, 1, 2)),
            ParamSpec("at", "datetime", dt.datetime(2024, 1, 2, 3, 4)),
        ]
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"p": None}, "'p': cannot infer a type from None"),
        ({"p": [[1, 2]]}, "'p': expected a scalar or a 1-D list, got a nested list"),
        ({"p": np.zeros((2, 2))}, "'p': expected a scalar or a 1-D list, got 2-D array"),
        ({"p": b"x"}, "'p': binary parameters are not supported"),
        ({"p": [1, "a"]}, "'p': Values of incompatible types long and string"),
    ],
)
def test_uninferable_params_raise_naming_the_param(params: dict[str, Any], message: str) -> None:
    with pytest.raises(CairnError) as err:
        infer_signature(pd.DataFrame({"a": [1]}), params=params)
    assert message in err.value.message


# ---------------------------------------------------------------------------------------------
# Interop with the real mlflow package

DATASETS: dict[str, tuple[Any, Any, dict[str, Any] | None]] = {
    "dataframe": (
        pd.DataFrame(
            {
                "a": [1, 2],
                "b": [1.0, np.nan],
                "c": ["x", None],
                "d": [True, False],
                "e": pd.to_datetime(["2020-01-01", "2021-01-01"]),
                "f": [b"x", b"y"],
                "g": np.array([1, 2], dtype="int32"),
                "h": np.array([1, 2], dtype="float32"),
            }
        ),
        pd.Series([0.5, 1.5]),
        {"k": 1, "t": [1.0, 2.0], "s": "greedy", "flag": True},
    ),
    "ndarray": (np.zeros((3, 4)), np.zeros(3, dtype="int64"), None),
    "ndarray_3d_float32": (np.zeros((2, 3, 4), dtype="float32"), None, None),
    "dict_of_arrays": ({"x": np.zeros((2, 3)), "y": np.zeros(2, dtype="int64")}, None, None),
    "records": ([{"a": 1, "b": "x"}, {"a": 2, "b": "y", "c": 1.5}], ["p", "q"], None),
    "nested": (
        [{"a": [1, 2], "b": {"x": 1.0, "y": ["s"]}}],
        pd.DataFrame({"label": ["z"]}),
        {"cfg": {"depth": 3}, "when": dt.datetime(2024, 1, 2, 3, 4, 5)},
    ),
    "strings": (["hello", "world"], None, None),
    "series": (pd.Series([1, 2], name="foo"), None, None),
    "object_columns": (pd.DataFrame({"a": [[1, 2], [3]], "b": [{"x": 1}, {"x": 2}]}), None, None),
    "all_missing": (pd.DataFrame({"a": [None, None], "b": [1, 2]}), None, None),
    "nullable_ints": (pd.DataFrame({"a": pd.array([1, None], dtype="Int64")}), None, None),
}


def _save_with_mlflow(path: Path, signature: Any) -> dict[str, Any]:
    """Save a trivial pyfunc model with mlflow and return the MLmodel's signature block."""
    import mlflow

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):  # no hints: mlflow reads them
            return model_input

    mlflow.pyfunc.save_model(
        str(path), python_model=Echo(), signature=signature, pip_requirements=["numpy"]
    )
    return yaml.safe_load((path / "MLmodel").read_text())["signature"]


@pytest.mark.parametrize("case", sorted(DATASETS))
def test_signature_written_by_mlflow_parses_to_cairns_inference(case: str, tmp_path: Path) -> None:
    from mlflow.models import infer_signature as mlflow_infer

    model_input, model_output, params = DATASETS[case]
    block = _save_with_mlflow(tmp_path / "model", mlflow_infer(model_input, model_output, params))
    ours = infer_signature(model_input, model_output, params)
    assert ModelSignature.from_dict(block) == ours
    assert ours.to_dict() == block  # byte-for-byte the same JSON strings


@pytest.mark.parametrize("case", sorted(DATASETS))
def test_cairn_signature_is_accepted_by_mlflow_and_equals_its_inference(case: str) -> None:
    from mlflow.models import ModelSignature as MlflowSignature
    from mlflow.models import infer_signature as mlflow_infer

    model_input, model_output, params = DATASETS[case]
    theirs = MlflowSignature.from_dict(infer_signature(model_input, model_output, params).to_dict())
    assert theirs == mlflow_infer(model_input, model_output, params)


def test_mlflow_saves_a_hand_built_cairn_signature_unchanged(tmp_path: Path) -> None:
    from mlflow.models import ModelSignature as MlflowSignature

    ours = _every_kind_signature()
    block = _save_with_mlflow(tmp_path / "model", MlflowSignature.from_dict(ours.to_dict()))
    assert ModelSignature.from_dict(block) == ours


def test_importing_cairn_models_stays_light() -> None:
    heavy = ("numpy", "pandas", "cairn.models.signature")
    code = f"import sys, cairn.models; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
