"""The onnx flavor: a tiny graph built with onnx.helper, run through onnxruntime; MLflow's
layout, interop with the real mlflow both ways, log_model to the embedded store."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

pytest.importorskip("onnx", reason="onnx is not installed (pip install 'cairn[onnx]')")
pytest.importorskip(
    "onnxruntime", reason="onnxruntime is not installed (pip install 'cairn[onnx]')"
)

import onnx
from onnx import TensorProto, helper, numpy_helper

import cairn
import cairn.onnx
import cairn.pyfunc
from cairn.errors import CairnError

WEIGHTS = np.arange(1, 61, dtype=np.float32).reshape(3, 20) / 10  # 240 bytes
BIG = np.linspace(0, 1, 3 * 400, dtype=np.float32).reshape(3, 400)  # over 1 KiB: external data


def _linear(weights: np.ndarray) -> onnx.ModelProto:
    """y = x @ W (x: [N, 3] float32), a graph small enough to check by hand."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, weights.shape[1]])],
        [numpy_helper.from_array(weights, name="W")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _two_inputs() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["total"])],
        "add",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [None]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [None]),
        ],
        [helper.make_tensor_value_info("total", TensorProto.FLOAT, [None])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.fixture(autouse=True)
def _mlflow_may_load(monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")


X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], dtype=np.float32)


def test_round_trip_with_ndarray_dict_and_dataframe(tmp_path) -> None:
    cairn.onnx.save_model(_linear(WEIGHTS), tmp_path / "m")
    proto = cairn.onnx.load_model(tmp_path / "m")
    assert isinstance(proto, onnx.ModelProto)
    np.testing.assert_array_equal(numpy_helper.to_array(proto.graph.initializer[0]), WEIGHTS)

    generic = cairn.pyfunc.load_model(str(tmp_path / "m"))
    expected = X @ WEIGHTS
    np.testing.assert_allclose(generic.predict(X)["y"], expected, rtol=1e-6)
    np.testing.assert_allclose(generic.predict({"x": X})["y"], expected, rtol=1e-6)
    # float64 columns are cast for the float32 input; one output column per output element
    frame = generic.predict(pd.DataFrame(X.astype(np.float64), columns=["p", "q", "r"]))
    np.testing.assert_allclose(frame["y"].to_numpy(), expected.reshape(-1), rtol=1e-6)


def test_signature_inferred_from_input_example(tmp_path) -> None:
    info = cairn.onnx.save_model(_linear(WEIGHTS), tmp_path / "m", input_example=X)
    assert info.signature.inputs.is_tensor_spec()
    assert info.signature.inputs.inputs[0].type == np.dtype("float32")
    assert info.signature.outputs is not None
    assert info.saved_input_example_info["type"] == "ndarray"


def test_multiple_inputs_feed_from_dataframe_columns(tmp_path) -> None:
    cairn.onnx.save_model(_two_inputs(), tmp_path / "m")
    generic = cairn.pyfunc.load_model(str(tmp_path / "m"))
    out = generic.predict(pd.DataFrame({"a": [1.0, 2.0], "b": [10.0, 20.0]}))
    assert out["total"].tolist() == [11.0, 22.0]
    with pytest.raises(CairnError, match="one input"):
        generic.predict(X)


def test_layout_and_mlmodel_match_mlflow(tmp_path) -> None:
    cairn.onnx.save_model(
        _linear(BIG), tmp_path / "m", onnx_session_options={"intra_op_num_threads": 1}
    )
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert {"MLmodel", "model.onnx", "requirements.txt", "python_env.yaml", "conda.yaml"} <= files
    assert len(files) == 6  # the weights went to an external data file next to model.onnx
    raw = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert raw["flavors"]["python_function"]["loader_module"] == "mlflow.onnx"
    assert raw["flavors"]["python_function"]["data"] == "model.onnx"
    flavor = raw["flavors"]["onnx"]
    assert flavor["data"] == "model.onnx" and flavor["onnx_version"] == onnx.__version__
    assert flavor["providers"] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert flavor["onnx_session_options"] == {"intra_op_num_threads": 1}
    requirements = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    assert requirements[0] == f"onnx=={onnx.__version__}"
    assert requirements[1].startswith("onnxruntime==")
    np.testing.assert_allclose(
        cairn.pyfunc.load_model(str(tmp_path / "m")).predict(X)["y"], X @ BIG, rtol=1e-5
    )


def test_cairn_model_loads_in_mlflow(tmp_path) -> None:
    mlflow_onnx = pytest.importorskip("mlflow.onnx", reason="mlflow is not installed")
    import mlflow.pyfunc

    cairn.onnx.save_model(_linear(BIG), tmp_path / "m", input_example=X)
    np.testing.assert_allclose(
        mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(X)["y"], X @ BIG, rtol=1e-5
    )
    proto = mlflow_onnx.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(numpy_helper.to_array(proto.graph.initializer[0]), BIG)


def test_mlflow_model_loads_in_cairn(tmp_path) -> None:
    mlflow_onnx = pytest.importorskip("mlflow.onnx", reason="mlflow is not installed")

    mlflow_onnx.save_model(_linear(BIG), str(tmp_path / "m"), input_example=X)
    np.testing.assert_allclose(
        cairn.pyfunc.load_model(str(tmp_path / "m")).predict(X)["y"], X @ BIG, rtol=1e-5
    )
    proto = cairn.onnx.load_model(tmp_path / "m")
    np.testing.assert_array_equal(numpy_helper.to_array(proto.graph.initializer[0]), BIG)


def test_log_model_to_the_embedded_store() -> None:
    with cairn.start_run() as run:
        info = cairn.onnx.log_model(_linear(WEIGHTS), name="onnx", input_example=X)
    assert info.model_uri == f"models:/{info.model_id}" and info.run_id == run.info.run_id
    assert info.flavors["python_function"]["loader_module"] == "mlflow.onnx"
    assert info.signature.inputs.is_tensor_spec()
    loaded = cairn.pyfunc.load_model(info.model_uri)
    np.testing.assert_allclose(loaded.predict(X)["y"], X @ WEIGHTS, rtol=1e-6)
    assert isinstance(cairn.onnx.load_model(info.model_uri), onnx.ModelProto)


def test_bad_input_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(CairnError, match=r"saves an onnx\.ModelProto, not str"):
        cairn.onnx.save_model("model.onnx", tmp_path / "a")
    broken = _linear(WEIGHTS)
    broken.graph.node[0].input[1] = "missing"
    with pytest.raises(CairnError, match="not valid"):
        cairn.onnx.save_model(broken, tmp_path / "b")
    with pytest.raises(CairnError, match="Unknown onnx_session_options key 'threads'"):
        cairn.onnx.save_model(_linear(WEIGHTS), tmp_path / "c", onnx_session_options={"threads": 2})
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()
    cairn.onnx.save_model(_linear(WEIGHTS), tmp_path / "d")
    with pytest.raises(CairnError, match="not list"):
        cairn.pyfunc.load_model(str(tmp_path / "d")).predict([[1.0, 2.0, 3.0]])


def test_import_cairn_leaves_onnx_unimported() -> None:
    """``cairn.onnx`` resolves lazily and imports onnx only when a model needs it."""
    code = (
        "import sys, cairn; assert cairn.onnx.FLAVOR_NAME == 'onnx'; "
        "print([m for m in ('onnx', 'numpy', 'pandas') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
