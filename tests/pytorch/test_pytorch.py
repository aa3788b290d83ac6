"""The pytorch flavor: round trips, MLflow's layout, interop with the real mlflow both ways,
log_model to the embedded store, the pickle warning and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

pytest.importorskip("torch", reason="torch is not installed (pip install 'cairn[pytorch]')")

import torch

import cairn
import cairn.pyfunc
import cairn.pytorch
from cairn.errors import CairnError
from cairn.sklearn import UnsafeModelFormatWarning

pytestmark = pytest.mark.filterwarnings("ignore::cairn.sklearn.UnsafeModelFormatWarning")


@pytest.fixture(autouse=True)
def _mlflow_may_load(monkeypatch) -> None:
    # mlflow 3.17 refuses to unpickle models unless this is set.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    # Dropout makes train mode differ from eval mode, so predictions show which one ran.
    return torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2)
    )


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.random.default_rng(0).random((20, 3), dtype=np.float32)


def expected(model: torch.nn.Module, X: np.ndarray) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(X)).numpy()


class TwoInputs(torch.nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * 2 + b


def test_round_trip(tmp_path, model, X) -> None:
    model.train()
    cairn.pytorch.save_model(model, tmp_path / "m", input_example=X[:4])
    assert model.training  # inferring the signature left the caller's module as it was
    with pytest.warns(UnsafeModelFormatWarning, match=r"pickled PyTorch model from .*'"):
        native = cairn.pytorch.load_model(tmp_path / "m")
    assert isinstance(native, torch.nn.Sequential) and not native.training
    with torch.no_grad():
        np.testing.assert_array_equal(native(torch.from_numpy(X)).numpy(), expected(model, X))
    generic = cairn.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(generic.predict(X), expected(model, X))
    frame = pd.DataFrame(X.astype(np.float64), columns=["a", "b", "c"])
    np.testing.assert_allclose(
        cairn.pytorch._load_pyfunc(str(tmp_path / "m")).predict(frame), expected(model, X)
    )
    inputs = generic.metadata.signature.inputs.to_dict()
    assert inputs == [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]


def test_dict_input_is_keyword_arguments(tmp_path) -> None:
    a, b = np.ones((2, 2), np.float32), np.full((2, 2), 3, np.float32)
    cairn.pytorch.save_model(TwoInputs(), tmp_path / "m")
    generic = cairn.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(generic.predict({"a": a, "b": b}), a * 2 + b)


def test_layout_and_mlmodel_match_mlflow(tmp_path, model, X) -> None:
    cairn.pytorch.save_model(model, tmp_path / "m", input_example=X[:2])
    files = {str(p.relative_to(tmp_path / "m")) for p in (tmp_path / "m").rglob("*")}
    assert files == {
        "MLmodel",
        "data",
        "data/model.pth",
        "data/pickle_module_info.txt",
        "requirements.txt",
        "python_env.yaml",
        "conda.yaml",
        "input_example.json",
        "serving_input_example.json",
    }
    raw = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    pyfunc = raw["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "mlflow.pytorch" and pyfunc["data"] == "data"
    assert pyfunc["pickle_module_name"] == "mlflow.pytorch.pickle_module"
    flavor = raw["flavors"]["pytorch"]
    assert flavor["model_data"] == "data" and flavor["pytorch_version"] == torch.__version__
    assert json.loads(raw["signature"]["outputs"])[0]["tensor-spec"]["shape"] == [-1, 2]
    text = (tmp_path / "m" / "data" / "pickle_module_info.txt").read_text()
    assert text == "mlflow.pytorch.pickle_module"
    first = (tmp_path / "m" / "requirements.txt").read_text().splitlines()[0]
    assert first.startswith("torch==") and "+" not in first  # installable from an index


def test_cairn_model_loads_in_mlflow(tmp_path, model, X) -> None:
    mlflow_pytorch = pytest.importorskip("mlflow.pytorch", reason="mlflow is not installed")
    import mlflow.pyfunc

    cairn.pytorch.save_model(model, tmp_path / "m", input_example=X[:4])
    loaded = mlflow_pytorch.load_model(str(tmp_path / "m"))
    with torch.no_grad():
        np.testing.assert_array_equal(loaded(torch.from_numpy(X)).numpy(), expected(model, X))
    np.testing.assert_array_equal(
        mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(X), expected(model, X)
    )


@pytest.mark.parametrize("serialization_format", ["pickle", "pt2"])
def test_mlflow_model_loads_in_cairn(tmp_path, model, X, serialization_format) -> None:
    mlflow_pytorch = pytest.importorskip("mlflow.pytorch", reason="mlflow is not installed")

    model.eval()
    mlflow_pytorch.save_model(
        model, str(tmp_path / "m"), input_example=X[:4], serialization_format=serialization_format
    )
    np.testing.assert_allclose(
        cairn.pyfunc.load_model(str(tmp_path / "m")).predict(X), expected(model, X), rtol=1e-6
    )
    native = cairn.pytorch.load_model(tmp_path / "m")
    with torch.no_grad():
        np.testing.assert_allclose(
            native(torch.from_numpy(X)).numpy(), expected(model, X), rtol=1e-6
        )


def test_log_model_to_the_embedded_store(model, X) -> None:
    with cairn.start_run() as run:
        info = cairn.pytorch.log_model(model, name="net", input_example=X[:4])
    assert info.model_uri == f"models:/{info.model_id}" and info.run_id == run.info.run_id
    assert info.flavors["python_function"]["loader_module"] == "mlflow.pytorch"
    assert info.signature.inputs.is_tensor_spec()
    with torch.no_grad():
        native = cairn.pytorch.load_model(info.model_uri)
        np.testing.assert_array_equal(native(torch.from_numpy(X)).numpy(), expected(model, X))
    np.testing.assert_array_equal(
        cairn.pyfunc.load_model(info.model_uri).predict(X), expected(model, X)
    )


def test_bad_input_is_a_clear_error(tmp_path, model) -> None:
    with pytest.raises(CairnError, match=r"saves a torch.nn.Module, not list"):
        cairn.pytorch.save_model([1, 2], tmp_path / "a")
    assert not (tmp_path / "a").exists()
    with pytest.raises(CairnError, match=r"torch.nn.Module, not dict"):
        cairn.pytorch.log_model({"w": 1}, name="x")

    cairn.pytorch.save_model(model, tmp_path / "b")
    (tmp_path / "b" / "data" / "pickle_module_info.txt").write_text("os")
    with pytest.raises(CairnError, match=r"pickle module 'os'; cairn reads models saved with"):
        cairn.pytorch.load_model(tmp_path / "b")


def test_import_cairn_leaves_torch_unimported() -> None:
    """``cairn.pytorch`` resolves lazily and imports torch only when a model needs it."""
    code = (
        "import sys, cairn; assert cairn.pytorch.FLAVOR_NAME == 'pytorch'; "
        "print([m for m in ('torch', 'numpy', 'pandas') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
