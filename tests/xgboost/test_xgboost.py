"""The xgboost flavor: round trips (Booster and scikit-learn API), MLflow's layout, interop with
the real mlflow both ways, log_model to the embedded store."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

pytest.importorskip("xgboost", reason="xgboost is not installed (pip install 'cairn[xgboost]')")

import xgboost as xgb

import cairn
import cairn.pyfunc
import cairn.xgboost
from cairn.errors import CairnError


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.random(80), "b": rng.random(80), "c": rng.random(80)})
    return X, (X.a + X.b > 1).astype(int).to_numpy()


@pytest.fixture(scope="module")
def classifier(data):
    X, y = data
    return xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)


@pytest.fixture(scope="module")
def booster(data):
    X, y = data
    return xgb.train({"objective": "reg:squarederror"}, xgb.DMatrix(X, label=y), 5)


def test_sklearn_api_round_trip(tmp_path, data, classifier) -> None:
    X, _ = data
    cairn.xgboost.save_model(classifier, tmp_path / "m", input_example=X[:5])
    native = cairn.xgboost.load_model(tmp_path / "m")
    assert type(native) is xgb.XGBClassifier
    np.testing.assert_array_equal(native.predict(X), classifier.predict(X))
    np.testing.assert_array_equal(native.predict_proba(X), classifier.predict_proba(X))
    generic = cairn.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(generic.predict(X), classifier.predict(X))
    assert [c.name for c in generic.metadata.signature.inputs] == ["a", "b", "c"]
    assert generic.metadata.signature.outputs is not None


@pytest.mark.parametrize("model_format", ["ubj", "json"])
def test_booster_round_trip_with_dataframe_and_ndarray(tmp_path, data, booster, model_format):
    X, _ = data
    expected = booster.predict(xgb.DMatrix(X))
    cairn.xgboost.save_model(booster, tmp_path / "m", model_format=model_format)
    native = cairn.xgboost.load_model(tmp_path / "m")
    assert isinstance(native, xgb.Booster)
    np.testing.assert_array_equal(native.predict(xgb.DMatrix(X)), expected)
    generic = cairn.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(generic.predict(X), expected)
    np.testing.assert_allclose(generic.predict(X.to_numpy()), expected)


def test_layout_and_mlmodel_match_mlflow(tmp_path, data, classifier) -> None:
    X, _ = data
    cairn.xgboost.save_model(classifier, tmp_path / "m", input_example=X[:3])
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert files == {
        "MLmodel",
        "model.ubj",
        "requirements.txt",
        "python_env.yaml",
        "conda.yaml",
        "input_example.json",
        "serving_input_example.json",
    }
    raw = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert raw["flavors"]["python_function"]["loader_module"] == "mlflow.xgboost"
    assert raw["flavors"]["python_function"]["data"] == "model.ubj"
    flavor = raw["flavors"]["xgboost"]
    assert flavor["data"] == "model.ubj" and flavor["model_format"] == "ubj"
    assert flavor["model_class"] == "xgboost.sklearn.XGBClassifier"
    assert flavor["xgb_version"] == xgb.__version__
    assert json.loads(raw["signature"]["inputs"])[0]["name"] == "a"
    first = (tmp_path / "m" / "requirements.txt").read_text().splitlines()[0]
    # The distribution that provides the xgboost module here (xgboost or xgboost-cpu), pinned.
    assert first.startswith(("xgboost==", "xgboost-cpu==")) and first.endswith(xgb.__version__)


def test_cairn_model_loads_in_mlflow(tmp_path, data, classifier, booster) -> None:
    mlflow_xgboost = pytest.importorskip("mlflow.xgboost", reason="mlflow is not installed")
    import mlflow.pyfunc

    X, _ = data
    cairn.xgboost.save_model(classifier, tmp_path / "clf", input_example=X[:3])
    cairn.xgboost.save_model(booster, tmp_path / "booster")
    np.testing.assert_array_equal(
        mlflow.pyfunc.load_model(str(tmp_path / "clf")).predict(X), classifier.predict(X)
    )
    loaded = mlflow_xgboost.load_model(str(tmp_path / "clf"))
    np.testing.assert_array_equal(loaded.predict_proba(X), classifier.predict_proba(X))
    np.testing.assert_array_equal(
        mlflow.pyfunc.load_model(str(tmp_path / "booster")).predict(X),
        booster.predict(xgb.DMatrix(X)),
    )


def test_mlflow_model_loads_in_cairn(tmp_path, data, classifier, booster) -> None:
    mlflow_xgboost = pytest.importorskip("mlflow.xgboost", reason="mlflow is not installed")

    X, _ = data
    mlflow_xgboost.save_model(classifier, str(tmp_path / "clf"), input_example=X[:3])
    mlflow_xgboost.save_model(booster, str(tmp_path / "booster"), model_format="json")
    np.testing.assert_array_equal(
        cairn.pyfunc.load_model(str(tmp_path / "clf")).predict(X), classifier.predict(X)
    )
    np.testing.assert_array_equal(
        cairn.xgboost.load_model(tmp_path / "clf").predict_proba(X), classifier.predict_proba(X)
    )
    np.testing.assert_array_equal(
        cairn.pyfunc.load_model(str(tmp_path / "booster")).predict(X),
        booster.predict(xgb.DMatrix(X)),
    )


def test_log_model_to_the_embedded_store(data, classifier) -> None:
    X, _ = data
    with cairn.start_run() as run:
        info = cairn.xgboost.log_model(classifier, name="xgb", input_example=X[:5])
    assert info.model_uri == f"models:/{info.model_id}" and info.run_id == run.info.run_id
    assert [c.name for c in info.signature.inputs] == ["a", "b", "c"]
    assert info.flavors["python_function"]["loader_module"] == "mlflow.xgboost"
    np.testing.assert_array_equal(
        cairn.xgboost.load_model(info.model_uri).predict(X), classifier.predict(X)
    )
    np.testing.assert_array_equal(
        cairn.pyfunc.load_model(info.model_uri).predict(X), classifier.predict(X)
    )


def test_bad_input_is_a_clear_error(tmp_path, classifier) -> None:
    with pytest.raises(CairnError, match="not list"):
        cairn.xgboost.save_model([1, 2], tmp_path / "a")
    with pytest.raises(CairnError, match="Unknown model_format 'pkl'"):
        cairn.xgboost.save_model(classifier, tmp_path / "b", model_format="pkl")
    assert not (tmp_path / "b").exists()

    cairn.xgboost.save_model(classifier, tmp_path / "c")
    mlmodel = tmp_path / "c" / "MLmodel"
    raw = yaml.safe_load(mlmodel.read_text())
    raw["flavors"]["xgboost"]["model_class"] = "subprocess.Popen"
    mlmodel.write_text(yaml.safe_dump(raw))
    with pytest.raises(CairnError, match=r"model_class 'subprocess.Popen' is not an XGBoost"):
        cairn.xgboost.load_model(tmp_path / "c")


def test_import_cairn_leaves_xgboost_unimported() -> None:
    """``cairn.xgboost`` resolves lazily and imports xgboost only when a model needs it."""
    code = (
        "import sys, cairn; assert cairn.xgboost.FLAVOR_NAME == 'xgboost'; "
        "print([m for m in ('xgboost', 'numpy', 'pandas') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
