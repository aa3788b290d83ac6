"""The lightgbm flavor: round trips (Booster and scikit-learn API in each format), MLflow's
layout, interop with the real mlflow both ways, log_model to the embedded store."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

pytest.importorskip("lightgbm", reason="lightgbm is not installed (pip install 'cairn[lightgbm]')")
pytest.importorskip("skops", reason="skops is not installed (pip install 'cairn[skops]')")

import lightgbm as lgb

import cairn
import cairn.lightgbm
import cairn.pyfunc
from cairn.errors import CairnError
from cairn.sklearn import UnsafeModelFormatWarning


@pytest.fixture(autouse=True)
def _mlflow_may_load(monkeypatch) -> None:
    # mlflow 3.17 refuses to deserialize models (skops included) unless this is set.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.random(120), "b": rng.random(120), "c": rng.random(120)})
    return X, (X.a + X.b > 1).astype(int).to_numpy()


@pytest.fixture(scope="module")
def classifier(data):
    X, y = data
    return lgb.LGBMClassifier(n_estimators=5, min_child_samples=5, verbose=-1).fit(X, y)


@pytest.fixture(scope="module")
def booster(data):
    X, y = data
    params = {"objective": "regression", "min_data_in_leaf": 5, "verbose": -1}
    return lgb.train(params, lgb.Dataset(X, label=y), 5)


@pytest.mark.parametrize("serialization_format", ["skops", "pickle", "cloudpickle"])
def test_sklearn_api_round_trip(tmp_path, data, classifier, serialization_format) -> None:
    X, _ = data
    cairn.lightgbm.save_model(
        classifier, tmp_path / "m", serialization_format=serialization_format, input_example=X[:5]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeModelFormatWarning)
        native = cairn.lightgbm.load_model(tmp_path / "m")
        generic = cairn.pyfunc.load_model(str(tmp_path / "m"))
    assert type(native) is lgb.LGBMClassifier
    np.testing.assert_array_equal(native.predict_proba(X), classifier.predict_proba(X))
    np.testing.assert_array_equal(generic.predict(X), classifier.predict(X))
    assert [c.name for c in generic.metadata.signature.inputs] == ["a", "b", "c"]
    flavor = generic.metadata.flavors["lightgbm"]
    assert flavor["serialization_format"] == serialization_format


def test_pickle_warns_naming_its_source(tmp_path, data, classifier) -> None:
    X, _ = data
    cairn.lightgbm.save_model(classifier, tmp_path / "m", serialization_format="pickle")
    with pytest.warns(UnsafeModelFormatWarning, match=r"pickle-format.*/m"):
        model = cairn.lightgbm.load_model(tmp_path / "m")
    np.testing.assert_array_equal(model.predict(X), classifier.predict(X))


def test_booster_round_trip_with_dataframe_and_ndarray(tmp_path, data, booster) -> None:
    X, _ = data
    expected = booster.predict(X)
    info = cairn.lightgbm.save_model(booster, tmp_path / "m", input_example=X[:3])
    assert info.signature.outputs.inputs[0].type.name == "double"
    native = cairn.lightgbm.load_model(tmp_path / "m")
    assert isinstance(native, lgb.Booster)
    np.testing.assert_allclose(native.predict(X), expected)
    generic = cairn.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_allclose(generic.predict(X), expected)
    # The signature names columns, so arrays go to a model saved without one.
    cairn.lightgbm.save_model(booster, tmp_path / "plain")
    plain = cairn.pyfunc.load_model(str(tmp_path / "plain"))
    np.testing.assert_allclose(plain.predict(X.to_numpy()), expected)


def test_layout_and_mlmodel_match_mlflow(tmp_path, data, classifier, booster) -> None:
    X, _ = data
    cairn.lightgbm.save_model(classifier, tmp_path / "clf", input_example=X[:3])
    cairn.lightgbm.save_model(booster, tmp_path / "booster")
    files = {p.name for p in (tmp_path / "clf").iterdir()}
    assert files == {
        "MLmodel",
        "model.skops",
        "requirements.txt",
        "python_env.yaml",
        "conda.yaml",
        "input_example.json",
        "serving_input_example.json",
    }
    raw = yaml.safe_load((tmp_path / "clf" / "MLmodel").read_text())
    assert raw["flavors"]["python_function"]["loader_module"] == "mlflow.lightgbm"
    flavor = raw["flavors"]["lightgbm"]
    assert flavor["data"] == raw["flavors"]["python_function"]["data"] == "model.skops"
    assert flavor["model_class"] == "lightgbm.sklearn.LGBMClassifier"
    assert flavor["lgb_version"] == lgb.__version__
    assert "lightgbm.sklearn.LGBMClassifier" in flavor["skops_trusted_types"]
    assert json.loads(raw["signature"]["inputs"])[0]["name"] == "a"
    requirements = (tmp_path / "clf" / "requirements.txt").read_text().splitlines()
    assert requirements[0] == f"lightgbm=={lgb.__version__}"
    assert any(r.startswith("skops==") for r in requirements)

    assert "model.lgb" in {p.name for p in (tmp_path / "booster").iterdir()}
    raw = yaml.safe_load((tmp_path / "booster" / "MLmodel").read_text())
    assert raw["flavors"]["lightgbm"]["model_class"] == "lightgbm.basic.Booster"
    assert raw["flavors"]["lightgbm"]["data"] == "model.lgb"


def test_cairn_model_loads_in_mlflow(tmp_path, data, classifier, booster) -> None:
    mlflow_lightgbm = pytest.importorskip("mlflow.lightgbm", reason="mlflow is not installed")
    import mlflow.pyfunc

    X, _ = data
    cairn.lightgbm.save_model(classifier, tmp_path / "clf", input_example=X[:3])
    cairn.lightgbm.save_model(booster, tmp_path / "booster")
    np.testing.assert_array_equal(
        mlflow.pyfunc.load_model(str(tmp_path / "clf")).predict(X), classifier.predict(X)
    )
    loaded = mlflow_lightgbm.load_model(str(tmp_path / "clf"))
    np.testing.assert_array_equal(loaded.predict_proba(X), classifier.predict_proba(X))
    np.testing.assert_allclose(
        mlflow.pyfunc.load_model(str(tmp_path / "booster")).predict(X), booster.predict(X)
    )
    np.testing.assert_allclose(
        mlflow_lightgbm.load_model(str(tmp_path / "booster")).predict(X), booster.predict(X)
    )


def test_mlflow_model_loads_in_cairn(tmp_path, data, classifier, booster) -> None:
    mlflow_lightgbm = pytest.importorskip("mlflow.lightgbm", reason="mlflow is not installed")

    X, _ = data
    mlflow_lightgbm.save_model(classifier, str(tmp_path / "clf"), input_example=X[:3])
    mlflow_lightgbm.save_model(booster, str(tmp_path / "booster"))
    np.testing.assert_array_equal(
        cairn.pyfunc.load_model(str(tmp_path / "clf")).predict(X), classifier.predict(X)
    )
    np.testing.assert_array_equal(
        cairn.lightgbm.load_model(tmp_path / "clf").predict_proba(X), classifier.predict_proba(X)
    )
    np.testing.assert_allclose(
        cairn.pyfunc.load_model(str(tmp_path / "booster")).predict(X), booster.predict(X)
    )


def test_log_model_to_the_embedded_store(data, booster) -> None:
    X, _ = data
    with cairn.start_run() as run:
        info = cairn.lightgbm.log_model(booster, name="lgb", input_example=X[:5])
    assert info.model_uri == f"models:/{info.model_id}" and info.run_id == run.info.run_id
    assert [c.name for c in info.signature.inputs] == ["a", "b", "c"]
    assert info.flavors["python_function"]["loader_module"] == "mlflow.lightgbm"
    np.testing.assert_allclose(
        cairn.lightgbm.load_model(info.model_uri).predict(X), booster.predict(X)
    )
    np.testing.assert_allclose(
        cairn.pyfunc.load_model(info.model_uri).predict(X), booster.predict(X)
    )


def test_bad_input_is_a_clear_error(tmp_path, classifier) -> None:
    with pytest.raises(CairnError, match="not dict"):
        cairn.lightgbm.save_model({}, tmp_path / "a")
    with pytest.raises(CairnError, match="Unknown serialization_format 'joblib'"):
        cairn.lightgbm.save_model(classifier, tmp_path / "b", serialization_format="joblib")
    assert not (tmp_path / "b").exists()
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "MLmodel").write_text(
        "flavors:\n  lightgbm:\n    data: model.lgb\n    model_class: lightgbm.basic.Booster\n"
    )
    (tmp_path / "c" / "model.lgb").write_text("not a model")
    with pytest.raises(CairnError, match=r"cannot read the model file .model\.lgb."):
        cairn.lightgbm.load_model(tmp_path / "c")


def test_import_cairn_leaves_lightgbm_unimported() -> None:
    """``cairn.lightgbm`` resolves lazily and imports lightgbm only when a model needs it."""
    code = (
        "import sys, cairn; assert cairn.lightgbm.FLAVOR_NAME == 'lightgbm'; "
        "print([m for m in ('lightgbm', 'numpy', 'pandas') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
