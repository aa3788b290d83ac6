"""Interop with the real mlflow package, both ways: models saved by one load in the other.

mlflow 3.17 refuses to deserialize any model (skops included) unless
MLFLOW_ALLOW_PICKLE_DESERIALIZATION is true, so the tests that load with mlflow set it.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytest.importorskip("mlflow", reason="mlflow is not installed in this venv")
pytest.importorskip("sklearn", reason="scikit-learn is not installed")
pytest.importorskip("skops", reason="skops is not installed")

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import cairn.pyfunc
import cairn.sklearn


@pytest.fixture(autouse=True)
def _mlflow_may_load(monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")


@pytest.fixture(scope="module")
def fitted() -> tuple[LogisticRegression, pd.DataFrame]:
    data = load_iris(as_frame=True)
    return LogisticRegression(max_iter=500).fit(data.data, data.target), data.data


class MlflowStyle(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        self.offset = float(Path(context.artifacts["offset"]).read_text())

    def predict(self, context, model_input, params=None):
        return model_input.sum(axis=1) + self.offset


class CairnStyle(cairn.pyfunc.PythonModel):
    def load_context(self, context):
        self.offset = float(Path(context.artifacts["offset"]).read_text())

    def predict(self, context, model_input, params=None):
        return model_input.sum(axis=1) + self.offset


class CairnNoContext(cairn.pyfunc.PythonModel):
    def predict(self, model_input, params=None):
        return model_input * 3


@pytest.mark.parametrize("serialization_format", ["skops", "cloudpickle"])
def test_mlflow_sklearn_model_loads_in_cairn(tmp_path, fitted, serialization_format) -> None:
    model, X = fitted
    mlflow.sklearn.save_model(
        model, str(tmp_path / "m"), serialization_format=serialization_format, input_example=X[:3]
    )
    pickled = serialization_format != "skops"
    warns = pytest.warns(cairn.sklearn.UnsafeModelFormatWarning) if pickled else nullcontext()
    with warns:
        native = cairn.sklearn.load_model(tmp_path / "m")
    np.testing.assert_array_equal(native.predict(X), model.predict(X))
    loaded = cairn.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.metadata.mlflow_version == mlflow.__version__
    assert loaded.metadata.signature is not None


def test_cairn_sklearn_model_loads_in_mlflow(tmp_path, fitted) -> None:
    model, X = fitted
    cairn.sklearn.save_model(model, tmp_path / "m", input_example=X[:3])
    np.testing.assert_array_equal(
        mlflow.sklearn.load_model(str(tmp_path / "m")).predict(X), model.predict(X)
    )
    via_pyfunc = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(via_pyfunc.predict(X), model.predict(X))
    # mlflow reads cairn's signature and input example
    assert [c.name for c in via_pyfunc.metadata.signature.inputs] == list(X.columns)
    example = via_pyfunc.input_example
    pd.testing.assert_frame_equal(example, X[:3].reset_index(drop=True))


def test_mlflow_custom_model_loads_in_cairn(tmp_path) -> None:
    (tmp_path / "offset.txt").write_text("10")
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    mlflow.pyfunc.save_model(
        str(tmp_path / "m"),
        python_model=MlflowStyle(),
        artifacts={"offset": str(tmp_path / "offset.txt")},
        input_example=X,
    )
    loaded = cairn.pyfunc.load_model(str(tmp_path / "m"))
    assert loaded.predict(X).tolist() == [14.0, 16.0]


@pytest.mark.parametrize("model_class", [CairnStyle, CairnNoContext])
def test_cairn_custom_model_loads_in_mlflow(tmp_path, model_class) -> None:
    (tmp_path / "offset.txt").write_text("10")
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    cairn.pyfunc.save_model(
        tmp_path / "m",
        python_model=model_class(),
        artifacts={"offset": str(tmp_path / "offset.txt")},
        input_example=X,
    )
    ours = cairn.pyfunc.load_model(str(tmp_path / "m")).predict(X)
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(X)
    assert np.asarray(theirs).tolist() == np.asarray(ours).tolist()


def test_same_mlmodel_signature_and_example_files_as_mlflow(tmp_path, fitted) -> None:
    model, X = fitted
    mlflow.sklearn.save_model(model, str(tmp_path / "theirs"), input_example=X[:3])
    cairn.sklearn.save_model(model, tmp_path / "ours", input_example=X[:3])
    theirs = yaml.safe_load((tmp_path / "theirs" / "MLmodel").read_text())
    ours = yaml.safe_load((tmp_path / "ours" / "MLmodel").read_text())
    assert ours["signature"] == theirs["signature"]
    assert ours["saved_input_example_info"] == theirs["saved_input_example_info"]
    assert ours["flavors"]["python_function"] == theirs["flavors"]["python_function"]
    assert ours["flavors"]["sklearn"] == theirs["flavors"]["sklearn"]
    assert set(ours) - set(theirs) == {"cairn_version"}
    for name in ("input_example.json", "serving_input_example.json"):
        assert (tmp_path / "ours" / name).read_text() == (tmp_path / "theirs" / name).read_text()
    assert {p.name for p in (tmp_path / "ours").iterdir()} == {
        p.name for p in (tmp_path / "theirs").iterdir()
    }
