"""The sklearn flavor: round trips in every format, safety of pickles, MLflow's layout."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

pytest.importorskip("sklearn", reason="scikit-learn is not installed")
pytest.importorskip("skops", reason="skops is not installed (pip install 'cairn[skops]')")

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import cairn.pyfunc
import cairn.sklearn
from cairn.errors import CairnError


class Doubler(TransformerMixin, BaseEstimator):
    """A user's own transformer: not on skops' default allow-list."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X * 2


@pytest.fixture(scope="module")
def iris() -> tuple[pd.DataFrame, np.ndarray]:
    data = load_iris(as_frame=True)
    return data.data, data.target.to_numpy()


@pytest.fixture(scope="module")
def classifier(iris):
    X, y = iris
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)


@pytest.fixture(scope="module")
def regressor():
    X, y = load_diabetes(return_X_y=True)
    return LinearRegression().fit(X, y), X


@pytest.mark.parametrize("serialization_format", ["skops", "pickle", "cloudpickle"])
def test_classifier_round_trip(tmp_path, iris, classifier, serialization_format) -> None:
    X, _ = iris
    cairn.sklearn.save_model(
        classifier, tmp_path / "m", serialization_format=serialization_format, input_example=X[:5]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cairn.sklearn.UnsafeModelFormatWarning)
        native = cairn.sklearn.load_model(tmp_path / "m")
        generic = cairn.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(native.predict(X), classifier.predict(X))
    np.testing.assert_array_equal(native.predict_proba(X), classifier.predict_proba(X))
    np.testing.assert_array_equal(generic.predict(X), classifier.predict(X))
    assert generic.metadata.flavors["sklearn"]["serialization_format"] == serialization_format


def test_regressor_round_trip_with_numpy_input(tmp_path, regressor) -> None:
    model, X = regressor
    info = cairn.sklearn.save_model(model, tmp_path / "m", input_example=X[:3])
    assert info.saved_input_example_info["type"] == "ndarray"
    loaded = cairn.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(
        cairn.sklearn.load_model(tmp_path / "m").predict(X), model.predict(X)
    )


def test_layout_and_mlmodel_match_mlflow(tmp_path, iris, classifier) -> None:
    X, _ = iris
    cairn.sklearn.save_model(classifier, tmp_path / "m", input_example=X[:3])
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert files == {
        "MLmodel",
        "model.skops",
        "requirements.txt",
        "python_env.yaml",
        "conda.yaml",
        "input_example.json",
        "serving_input_example.json",
    }
    raw = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    pyfunc = raw["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "mlflow.sklearn"
    assert pyfunc["model_path"] == "model.skops"
    assert pyfunc["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    sk = raw["flavors"]["sklearn"]
    assert sk["serialization_format"] == "skops" and sk["pickled_model"] == "model.skops"
    assert json.loads(raw["signature"]["inputs"])[0]["name"] == "sepal length (cm)"
    requirements = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    assert requirements[0].startswith("scikit-learn==")
    assert requirements[1].startswith("skops==")


def test_pickle_model_loads_with_a_warning_naming_its_source(tmp_path, iris, classifier) -> None:
    X, _ = iris
    cairn.sklearn.save_model(classifier, tmp_path / "m", serialization_format="pickle")
    with pytest.warns(cairn.sklearn.UnsafeModelFormatWarning, match=r"pickle-format.*/m"):
        model = cairn.sklearn.load_model(tmp_path / "m")
    np.testing.assert_array_equal(model.predict(X), classifier.predict(X))


def test_skops_refuses_types_not_recorded_as_trusted(tmp_path, iris) -> None:
    X, y = iris
    model = make_pipeline(Doubler(), LogisticRegression(max_iter=500))
    model.fit(X, y)
    cairn.sklearn.save_model(model, tmp_path / "m")
    trusted = cairn.pyfunc.load_model(str(tmp_path / "m")).metadata.flavors["sklearn"][
        "skops_trusted_types"
    ]
    assert trusted and any("Doubler" in t for t in trusted)  # recorded at save: loads again
    np.testing.assert_array_equal(
        cairn.sklearn.load_model(tmp_path / "m").predict(X), model.predict(X)
    )

    # A file whose types were not recorded (edited, or from elsewhere) is refused by name.
    mlmodel = tmp_path / "m" / "MLmodel"
    raw = yaml.safe_load(mlmodel.read_text())
    raw["flavors"]["sklearn"]["skops_trusted_types"] = None
    mlmodel.write_text(yaml.safe_dump(raw))
    with pytest.raises(CairnError, match=r"not trusted: .*Doubler"):
        cairn.sklearn.load_model(tmp_path / "m")


def test_bad_arguments_are_clear_errors(tmp_path, classifier) -> None:
    with pytest.raises(CairnError, match="Unknown serialization_format 'joblib'"):
        cairn.sklearn.save_model(classifier, tmp_path / "a", serialization_format="joblib")
    with pytest.raises(CairnError, match="has no predict"):
        cairn.sklearn.save_model(object(), tmp_path / "b")
    cairn.sklearn.save_model(classifier, tmp_path / "c")
    with pytest.raises(CairnError, match="already exists"):
        cairn.sklearn.save_model(classifier, tmp_path / "c")
    with pytest.raises(CairnError, match="does not exist"):
        cairn.sklearn.load_model(tmp_path / "missing")


def test_a_failed_save_leaves_nothing_behind(tmp_path, iris) -> None:
    X, y = iris

    class Local(LogisticRegression):  # skops cannot import a class defined in a function
        pass

    model = Local(max_iter=500).fit(X, y)
    with pytest.raises(CairnError):
        cairn.sklearn.save_model(model, tmp_path / "m")
    assert not (tmp_path / "m").exists()
    # pickle-based formats still work for such models (pickle by value with cloudpickle)
    cairn.sklearn.save_model(model, tmp_path / "m", serialization_format="cloudpickle")
    with pytest.warns(cairn.sklearn.UnsafeModelFormatWarning):
        assert (cairn.sklearn.load_model(tmp_path / "m").predict(X) == model.predict(X)).all()


def test_signature_can_be_given_or_turned_off(tmp_path, iris, classifier) -> None:
    from cairn.models.signature import infer_signature

    X, _ = iris
    sig = infer_signature(X)
    assert cairn.sklearn.save_model(classifier, tmp_path / "a", signature=sig).signature == sig
    off = cairn.sklearn.save_model(classifier, tmp_path / "b", input_example=X[:2], signature=False)
    assert off.signature is None and off.saved_input_example_info is not None
    with open(tmp_path / "b" / "model.skops", "rb") as handle:
        assert handle.read(2) == b"PK"  # a zip archive, not a pickle
    assert pickle is not None


def test_saving_with_skops_does_not_load_torch(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """skops' import walks every scikit-learn module, whose array-API layer imports torch when
    it is installed (seconds); cairn keeps torch out of that walk, and torch still imports."""
    pytest.importorskip("torch")
    code = f"""
import sys
import numpy as np
from sklearn.linear_model import LogisticRegression
import cairn.sklearn
X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]]); y = np.array([0, 1, 0, 1])
cairn.sklearn.save_model(LogisticRegression().fit(X, y), {str(tmp_path / "m")!r})
assert "torch" not in sys.modules, "saving loaded torch"
loaded = cairn.sklearn.load_model({str(tmp_path / "m")!r})
assert list(loaded.predict(X)) == list(LogisticRegression().fit(X, y).predict(X))
import torch
import sklearn.externals.array_api_compat.torch
print("ok", torch.__version__)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")
