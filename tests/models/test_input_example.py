"""Input examples: MLflow's files and info, read back as the data they were."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cairn.errors import CairnError
from cairn.models.input_example import load_input_example, save_input_example


def test_dataframe_split_without_index(tmp_path) -> None:
    df = pd.DataFrame({"a": [1.5, 2.5], "b": ["x", "y"]}, index=[7, 9])
    info = save_input_example(tmp_path, df)
    assert info == {
        "artifact_path": "input_example.json",
        "type": "dataframe",
        "pandas_orient": "split",
        "serving_input_path": "serving_input_example.json",
    }
    assert json.loads((tmp_path / "input_example.json").read_text()) == {
        "columns": ["a", "b"],
        "data": [[1.5, "x"], [2.5, "y"]],
    }
    serving = json.loads((tmp_path / "serving_input_example.json").read_text())
    assert serving == {"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, "x"], [2.5, "y"]]}}
    pd.testing.assert_frame_equal(load_input_example(tmp_path, info), df.reset_index(drop=True))


def test_ndarray_dict_of_arrays_and_json(tmp_path) -> None:
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    info = save_input_example(tmp_path, array)
    assert info["type"] == "ndarray"
    assert json.loads((tmp_path / "input_example.json").read_text()) == {"inputs": array.tolist()}
    np.testing.assert_array_equal(load_input_example(tmp_path, info), array)

    info = save_input_example(tmp_path, {"x": np.array([1, 2])})
    assert load_input_example(tmp_path, info)["x"].tolist() == [1, 2]

    info = save_input_example(tmp_path, [{"q": "hi"}])
    assert info["type"] == "json_object"
    assert load_input_example(tmp_path, info) == [{"q": "hi"}]
    serving = json.loads((tmp_path / "serving_input_example.json").read_text())
    assert serving == {"inputs": [{"q": "hi"}]}


def test_params_are_saved_beside_the_data(tmp_path) -> None:
    info = save_input_example(tmp_path, (pd.DataFrame({"a": [1]}), {"k": 3}))
    assert info["params"] == "true"
    assert json.loads((tmp_path / "serving_input_example.json").read_text())["params"] == {"k": 3}
    assert load_input_example(tmp_path, info).to_dict("list") == {"a": [1]}


def test_unsupported_example_is_refused(tmp_path) -> None:
    with pytest.raises(CairnError, match="Cannot save an input example of type object"):
        save_input_example(tmp_path, object())
    with pytest.raises(CairnError, match="only numpy arrays"):
        save_input_example(tmp_path, {"a": np.array([1]), "b": 2})


def test_same_files_as_mlflow(tmp_path) -> None:
    utils = pytest.importorskip("mlflow.models.utils", reason="mlflow is not installed")
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]})
    ours = tmp_path / "ours"
    ours.mkdir()
    info = save_input_example(ours, df)
    example = utils._Example(df)
    assert info == example.info
    assert json.loads((ours / "input_example.json").read_text()) == json.loads(
        example.json_input_example
    )
    assert json.loads((ours / "serving_input_example.json").read_text()) == json.loads(
        example.json_serving_input
    )
