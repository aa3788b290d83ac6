"""The sklearn pyfunc hands a checked numeric frame to a plain estimator as numpy: same
predictions, no feature-name warning, and estimators that select columns by name still get
the DataFrame."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("skops", reason="the sklearn flavor saves with skops")

import cairn.pyfunc
import cairn.sklearn


def test_a_plain_estimator_predicts_the_same_without_warnings(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1, 0, 1, 0]})
    estimator = LogisticRegression().fit(frame, [0, 1, 0, 1])
    cairn.sklearn.save_model(estimator, str(tmp_path / "m"), input_example=frame)
    model = cairn.pyfunc.load_model(str(tmp_path / "m"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = model.predict(frame)
    assert got.tolist() == estimator.predict(frame).tolist()
    # The warning is silenced only inside the call: scikit-learn's own calls still warn.
    with pytest.warns(UserWarning, match="feature names"):
        estimator.predict(frame.to_numpy())


def test_a_column_transformer_still_gets_its_dataframe(tmp_path: Path) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [5.0, 1.0, 4.0, 2.0]})
    pipeline = make_pipeline(
        ColumnTransformer([("scaled", StandardScaler(), ["b"])]), LogisticRegression()
    ).fit(frame, [0, 1, 0, 1])
    cairn.sklearn.save_model(pipeline, str(tmp_path / "p"), input_example=frame)
    model = cairn.pyfunc.load_model(str(tmp_path / "p"))
    assert model.predict(frame).tolist() == pipeline.predict(frame).tolist()
