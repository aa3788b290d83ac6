"""Custom Python models: artifacts, code_paths, both predict signatures, signature enforcement."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cairn.pyfunc
from cairn.errors import CairnError
from cairn.models.signature import infer_signature


class Scaler(cairn.pyfunc.PythonModel):
    """Reads a factor from an artifact and a helper from saved code."""

    def load_context(self, context):
        self.factor = float(Path(context.artifacts["factor"]).read_text())
        self.words = sorted(p.name for p in Path(context.artifacts["vocab"]).iterdir())

    def predict(self, context, model_input, params=None):
        import scaler_helpers  # only importable from the model's code directory

        offset = (params or {}).get("offset", 0)
        return scaler_helpers.scale(model_input, self.factor) + offset


class NoContext(cairn.pyfunc.PythonModel):
    """MLflow 3 style: predict without the context argument."""

    def predict(self, model_input, params=None):
        return model_input.sum(axis=1)


@pytest.fixture
def code_and_artifacts(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    code = tmp_path / "src" / "scaler_helpers.py"
    code.parent.mkdir()
    code.write_text("def scale(frame, factor):\n    return frame * factor\n")
    factor = tmp_path / "factor.txt"
    factor.write_text("2.5")
    vocab = tmp_path / "vocab"
    vocab.mkdir()
    (vocab / "a").write_text("")
    (vocab / "b").write_text("")
    return code, {"factor": str(factor), "vocab": str(vocab)}


def test_custom_model_round_trip(tmp_path, code_and_artifacts) -> None:
    code, artifacts = code_and_artifacts
    sys.modules.pop("scaler_helpers", None)
    X = pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]})
    saved = cairn.pyfunc.save_model(
        tmp_path / "model",
        python_model=Scaler(),
        artifacts=artifacts,
        code_paths=[str(code)],
        input_example=X,
    )
    # the signature came from the example and the model's own prediction on it
    assert [c.name for c in saved.signature.inputs] == ["x", "y"]
    assert [c.name for c in saved.signature.outputs] == ["x", "y"]  # predict ran with its code
    assert (tmp_path / "model" / "artifacts" / "factor.txt").read_text() == "2.5"
    assert (tmp_path / "model" / "code" / "scaler_helpers.py").is_file()

    # the originals can go: the model carries its own copies
    code.unlink()
    Path(artifacts["factor"]).unlink()
    sys.modules.pop("scaler_helpers", None)
    loaded = cairn.pyfunc.load_model(str(tmp_path / "model"))
    pd.testing.assert_frame_equal(loaded.predict(X), X * 2.5)
    assert loaded.unwrap_python_model().words == ["a", "b"]
    conf = loaded.metadata.flavors["python_function"]
    assert conf["loader_module"] == "mlflow.pyfunc.model"
    assert conf["artifacts"]["factor"]["path"] == "artifacts/factor.txt"
    assert conf["code"] == "code"


def test_predict_without_context_and_with_params(tmp_path) -> None:
    X = pd.DataFrame({"a": [1, 2], "b": [10, 20]})
    cairn.pyfunc.save_model(tmp_path / "m", NoContext())
    assert cairn.pyfunc.load_model(str(tmp_path / "m")).predict(X).tolist() == [11, 22]


def test_params_follow_the_params_schema(tmp_path, code_and_artifacts) -> None:
    code, artifacts = code_and_artifacts
    X = pd.DataFrame({"x": [1.0]})
    sig = infer_signature(X, X, params={"offset": 0.0})
    cairn.pyfunc.save_model(
        tmp_path / "m", Scaler(), artifacts=artifacts, code_paths=[str(code)], signature=sig
    )
    model = cairn.pyfunc.load_model(str(tmp_path / "m"))
    assert model.predict(X)["x"].tolist() == [2.5]
    assert model.predict(X, params={"offset": 1})["x"].tolist() == [3.5]
    with pytest.raises(CairnError, match="offset"):
        model.predict(X, params={"offset": "lots"})


def test_signature_enforcement_through_predict(tmp_path) -> None:
    X = pd.DataFrame({"a": [1.5, 2.5], "b": [0.5, 1.0]})
    cairn.pyfunc.save_model(tmp_path / "m", NoContext(), input_example=X)
    model = cairn.pyfunc.load_model(str(tmp_path / "m"))

    # int -> float and column order are safe conversions
    ints = pd.DataFrame({"b": [1, 2], "a": [3, 4]})
    assert model.predict(ints).tolist() == [4.0, 6.0]

    with pytest.raises(CairnError, match=r"Missing required input column.*'b'"):
        model.predict(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(CairnError, match="column 'a': expected double"):
        model.predict(pd.DataFrame({"a": ["x"], "b": [1.0]}))


def test_load_errors_are_clear(tmp_path) -> None:
    with pytest.raises(CairnError, match="does not exist"):
        cairn.pyfunc.load_model(str(tmp_path / "nothing"))
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "MLmodel").write_text("flavors:\n  sklearn: {}\n")
    with pytest.raises(CairnError, match="no python_function flavor"):
        cairn.pyfunc.load_model(str(tmp_path / "odd"))
    (tmp_path / "odd" / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: os\n"
    )
    with pytest.raises(CairnError, match="not a registered cairn or MLflow flavor"):
        cairn.pyfunc.load_model(str(tmp_path / "odd"))
    with pytest.raises(CairnError, match="python_model"):
        cairn.pyfunc.save_model(tmp_path / "x", python_model=42)
    with pytest.raises(CairnError, match="does not exist"):
        cairn.pyfunc.save_model(tmp_path / "y", NoContext(), artifacts={"a": str(tmp_path / "no")})
    assert not (tmp_path / "y").exists()


def test_model_path_cannot_escape_the_model_directory(tmp_path) -> None:
    cairn.pyfunc.save_model(tmp_path / "m", NoContext())
    mlmodel = tmp_path / "m" / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("python_model.pkl", "../../evil.pkl"))
    with pytest.raises(CairnError, match=r"may not contain '\.\.'"):
        cairn.pyfunc.load_model(str(tmp_path / "m"))


def test_numpy_input(tmp_path) -> None:
    class Double(cairn.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input * 2

    X = np.arange(6, dtype=np.float64).reshape(3, 2)
    cairn.pyfunc.save_model(tmp_path / "m", Double(), input_example=X)
    model = cairn.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(model.predict(X), X * 2)


def test_requirements_name_cairn_and_cloudpickle(tmp_path) -> None:
    import importlib.metadata as metadata

    cairn.pyfunc.save_model(tmp_path / "m", NoContext())
    lines = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    assert lines[:2] == [
        f"cairn=={metadata.version('cairn')}",
        f"cloudpickle=={metadata.version('cloudpickle')}",
    ]
