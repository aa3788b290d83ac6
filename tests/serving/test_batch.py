"""Batch prediction over files (cairn.serving.batch.predict_file) with real models and files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cairn.pyfunc
from cairn.errors import CairnError
from cairn.pyfunc import PythonModel
from cairn.serving.batch import predict_file

pytest.importorskip("skops", reason="the sklearn flavor saves with skops")

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
EXTENSIONS = {"csv": ".csv", "parquet": ".parquet", "json": ".jsonl"}


@pytest.fixture(scope="module")
def iris() -> tuple[Any, pd.DataFrame]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = COLUMNS
    return LogisticRegression(max_iter=500).fit(X, y), X


@pytest.fixture(scope="module")
def model_dir(iris: tuple[Any, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    import cairn.sklearn

    model, X = iris
    path = tmp_path_factory.mktemp("batch") / "model"
    cairn.sklearn.save_model(model, path, input_example=X.head(3))
    return path


@pytest.fixture(scope="module")
def loaded(model_dir: Path) -> cairn.pyfunc.PyFuncModel:
    return cairn.pyfunc.load_model(str(model_dir))


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    return path


def read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_json(path, lines=True)


def leftovers(directory: Path, *keep: Path) -> list[str]:
    """Files in ``directory`` other than ``keep``: partial outputs that should not exist."""
    return sorted(p.name for p in directory.iterdir() if p not in keep)


@pytest.mark.parametrize("fmt_in", ["csv", "parquet", "json"])
@pytest.mark.parametrize("fmt_out", ["csv", "parquet", "json"])
def test_every_format_in_and_out(
    loaded: Any, iris: tuple[Any, pd.DataFrame], tmp_path: Path, fmt_in: str, fmt_out: str
) -> None:
    model, X = iris
    source = write(X, tmp_path / f"in{EXTENSIONS[fmt_in]}")
    target = tmp_path / f"out{EXTENSIONS[fmt_out]}"

    result = predict_file(loaded, source, target, chunk_rows=16)

    assert (result.rows, result.chunks, result.output_format) == (150, 10, fmt_out)
    out = read(target)
    assert list(out.columns) == [*COLUMNS, "prediction"]
    np.testing.assert_array_equal(out["prediction"].to_numpy(), model.predict(X))
    np.testing.assert_allclose(out[COLUMNS].to_numpy(), X.to_numpy())
    assert leftovers(tmp_path, source, target) == []


def test_model_uri_is_loaded(
    model_dir: Path, iris: tuple[Any, pd.DataFrame], tmp_path: Path
) -> None:
    model, X = iris
    source = write(X, tmp_path / "in.pq")
    predict_file(str(model_dir), source, tmp_path / "out.pq")
    np.testing.assert_array_equal(read(tmp_path / "out.pq")["prediction"], model.predict(X))


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_many_chunks_equal_one_chunk(
    loaded: Any, iris: tuple[Any, pd.DataFrame], tmp_path: Path, fmt: str
) -> None:
    _, X = iris
    source = write(X, tmp_path / f"in{EXTENSIONS[fmt]}")
    one, many = tmp_path / f"one{EXTENSIONS[fmt]}", tmp_path / f"many{EXTENSIONS[fmt]}"

    assert predict_file(loaded, source, one, chunk_rows=1000).chunks == 1
    assert predict_file(loaded, source, many, chunk_rows=3).chunks == 50

    if fmt == "parquet":  # row groups differ; the data and the schema must not
        assert pq.read_table(many).equals(pq.read_table(one))
    else:
        assert many.read_bytes() == one.read_bytes()


def test_parquet_row_groups_are_re_cut_into_chunks(
    loaded: Any, iris: tuple[Any, pd.DataFrame], tmp_path: Path
) -> None:
    model, X = iris
    source = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pandas(X, preserve_index=False), source, row_group_size=40)

    result = predict_file(loaded, source, tmp_path / "out.csv", chunk_rows=25)

    assert (result.rows, result.chunks) == (150, 6)
    np.testing.assert_array_equal(read(tmp_path / "out.csv")["prediction"], model.predict(X))


def test_predictions_only_and_column_name(
    loaded: Any, iris: tuple[Any, pd.DataFrame], tmp_path: Path
) -> None:
    model, X = iris
    source = write(X, tmp_path / "in.csv")
    predict_file(loaded, source, tmp_path / "a.csv", predictions_only=True)
    predict_file(loaded, source, tmp_path / "b.csv", prediction_column="species")

    only = read(tmp_path / "a.csv")
    assert list(only.columns) == ["prediction"]
    np.testing.assert_array_equal(only["prediction"], model.predict(X))
    assert list(read(tmp_path / "b.csv").columns) == [*COLUMNS, "species"]


def test_signature_types_hold_across_csv_blocks(
    loaded: Any, iris: tuple[Any, pd.DataFrame], tmp_path: Path
) -> None:
    """Whole numbers first and decimals much later still read as the signature's doubles."""
    model, X = iris
    frame = pd.concat([X.round(0)] * 2000 + [X], ignore_index=True)  # > one 4 MiB read block
    source = tmp_path / "in.csv"
    source.write_text(frame.to_csv(index=False).replace(".0,", ",").replace(".0\n", "\n"))

    predict_file(loaded, source, tmp_path / "out.parquet", chunk_rows=50_000)

    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema.field("sepal_length").type == pa.float64()
    np.testing.assert_array_equal(out["prediction"].to_numpy(), model.predict(frame))


class _Proba(PythonModel):
    def predict(self, context: Any, model_input: pd.DataFrame) -> Any:
        return np.column_stack([model_input["a"], model_input["a"] * 2])


class _Frame(PythonModel):
    def predict(self, context: Any, model_input: pd.DataFrame) -> Any:
        return pd.DataFrame({"label": model_input["a"] > 1, "score": model_input["a"] / 2})


class _Drifting(PythonModel):
    """Integers for small inputs, words for large ones: its output type changes mid-file."""

    def predict(self, context: Any, model_input: pd.DataFrame) -> Any:
        return [int(a) if a < 100 else f"big {a}" for a in model_input["a"]]


class _Short(PythonModel):
    def predict(self, context: Any, model_input: pd.DataFrame) -> Any:
        return list(model_input["a"])[:-1]


def saved(python_model: PythonModel, path: Path) -> Any:
    cairn.pyfunc.save_model(path, python_model)
    return cairn.pyfunc.load_model(str(path))


def test_two_dimensional_and_dataframe_predictions(tmp_path: Path) -> None:
    source = write(pd.DataFrame({"a": [1, 2, 3]}), tmp_path / "in.csv")

    predict_file(saved(_Proba(), tmp_path / "proba"), source, tmp_path / "p.csv")
    predict_file(saved(_Frame(), tmp_path / "frame"), source, tmp_path / "f.csv")

    proba = read(tmp_path / "p.csv")
    assert list(proba.columns) == ["a", "prediction_0", "prediction_1"]
    assert proba["prediction_1"].tolist() == [2, 4, 6]
    frame = read(tmp_path / "f.csv")
    assert list(frame.columns) == ["a", "label", "score"]
    assert frame["label"].tolist() == [False, True, True]


def test_chunk_that_does_not_fit_the_first_chunks_types(tmp_path: Path) -> None:
    source = write(pd.DataFrame({"a": [1, 2, 3, 4, 500, 600]}), tmp_path / "in.parquet")
    target = tmp_path / "out.csv"

    with pytest.raises(
        CairnError,
        match=r"Rows 5-6: cannot be converted .*'prediction': (large_)?string "
        r"\(first chunk: int64\)",
    ):
        predict_file(saved(_Drifting(), tmp_path / "m"), source, target, chunk_rows=2)

    assert not target.exists()
    assert leftovers(tmp_path, source, tmp_path / "m") == []


def test_wrong_number_of_predictions(tmp_path: Path) -> None:
    source = write(pd.DataFrame({"a": [1, 2, 3]}), tmp_path / "in.csv")
    with pytest.raises(CairnError, match="Rows 1-3: the model returned 2 predictions for 3 rows"):
        predict_file(saved(_Short(), tmp_path / "m"), source, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_prediction_column_clashing_with_an_input_column(
    loaded: Any, iris: tuple[Any, pd.DataFrame], tmp_path: Path
) -> None:
    _, X = iris
    source = write(X, tmp_path / "in.csv")
    with pytest.raises(CairnError, match="'sepal_length' are already input columns"):
        predict_file(loaded, source, tmp_path / "out.csv", prediction_column="sepal_length")


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_missing_column_names_rows_and_column(
    loaded: Any, iris: tuple[Any, pd.DataFrame], tmp_path: Path, fmt: str
) -> None:
    """Also for JSON lines, whose reader must not invent the absent field as nulls."""
    _, X = iris
    source = write(X.drop(columns=["petal_width"]), tmp_path / f"in{EXTENSIONS[fmt]}")
    target = tmp_path / "out.parquet"

    with pytest.raises(CairnError, match=r"Rows 1-10: .*petal_width"):
        predict_file(loaded, source, target, chunk_rows=10)

    assert leftovers(tmp_path, source) == []


def test_wrong_type_in_a_later_chunk_leaves_no_output(
    loaded: Any, iris: tuple[Any, pd.DataFrame], tmp_path: Path
) -> None:
    """Parquet: the first chunks are scored and written, then a chunk fails enforcement."""
    _, X = iris
    frame = X.astype(object)
    frame.loc[120, "sepal_width"] = "wide"
    source = tmp_path / "in.parquet"
    pq.write_table(
        pa.Table.from_pandas(frame.astype({c: str for c in COLUMNS})), source, row_group_size=50
    )
    target = tmp_path / "out.csv"

    with pytest.raises(CairnError, match=r"Rows 1-50: .*sepal_length"):
        predict_file(loaded, source, target, chunk_rows=50)
    assert leftovers(tmp_path, source) == []


def test_unparsable_value_in_a_later_csv_block(
    loaded: Any, iris: tuple[Any, pd.DataFrame], tmp_path: Path
) -> None:
    _, X = iris
    frame = pd.concat([X] * 2000, ignore_index=True).astype({"sepal_width": object})
    frame.loc[len(frame) - 1, "sepal_width"] = "wide"  # past the first 4 MiB read block
    source = write(frame, tmp_path / "in.csv")
    target = tmp_path / "out.csv"

    with pytest.raises(
        CairnError, match=r"Could not read .*in\.csv as CSV after row [\d,]+: .*wide"
    ):
        predict_file(loaded, source, target, chunk_rows=10_000)
    assert leftovers(tmp_path, source) == []


@pytest.mark.parametrize("name", ["in.parquet", "in.jsonl"])
def test_unreadable_file(loaded: Any, tmp_path: Path, name: str) -> None:
    source = tmp_path / name
    source.write_bytes(b"\x00\x01 this is not " + name.encode() + b"\n")
    with pytest.raises(CairnError, match=f"Could not read .*{name}"):
        predict_file(loaded, source, tmp_path / "out.csv")
    assert leftovers(tmp_path, source) == []


def test_unknown_extension(loaded: Any, tmp_path: Path) -> None:
    with pytest.raises(
        CairnError, match=r"Cannot tell the input format of .*'\.txt'.*--input-format"
    ):
        predict_file(loaded, tmp_path / "in.txt", tmp_path / "out.csv")
    with pytest.raises(CairnError, match=r"Cannot tell the output format .*--output-format"):
        predict_file(loaded, tmp_path / "in.csv", tmp_path / "out")


def test_format_given_overrides_the_extension(
    loaded: Any, iris: tuple[Any, pd.DataFrame], tmp_path: Path
) -> None:
    model, X = iris
    source = tmp_path / "in.txt"
    X.to_csv(source, index=False)
    predict_file(loaded, source, tmp_path / "out.data", input_format="csv", output_format="json")
    out = pd.read_json(tmp_path / "out.data", lines=True)
    np.testing.assert_array_equal(out["prediction"], model.predict(X))


def test_missing_input_and_missing_output_directory(loaded: Any, tmp_path: Path) -> None:
    with pytest.raises(CairnError, match=r"Input file not found: .*nope\.csv"):
        predict_file(loaded, tmp_path / "nope.csv", tmp_path / "out.csv")
    write(pd.DataFrame({"a": [1]}), tmp_path / "in.csv")
    with pytest.raises(CairnError, match="output's directory does not exist"):
        predict_file(loaded, tmp_path / "in.csv", tmp_path / "no" / "out.csv")


def test_output_must_not_be_the_input(
    loaded: Any, iris: tuple[Any, pd.DataFrame], tmp_path: Path
) -> None:
    source = write(iris[1], tmp_path / "in.csv")
    before = source.read_bytes()
    with pytest.raises(CairnError, match="is the input file"):
        predict_file(loaded, source, source)
    assert source.read_bytes() == before


def test_parquet_needs_a_file(loaded: Any, tmp_path: Path) -> None:
    with pytest.raises(CairnError, match="Parquet cannot be read from stdin"):
        predict_file(loaded, "-", tmp_path / "out.csv", input_format="parquet")


def test_empty_csv_gives_an_empty_output_with_the_columns(loaded: Any, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(",".join(COLUMNS) + "\n")
    result = predict_file(loaded, source, tmp_path / "out.csv")
    assert result.rows == 0
    assert (tmp_path / "out.csv").read_text().strip() == ",".join(f'"{c}"' for c in COLUMNS)


@pytest.mark.parametrize("key", ["dataframe_split", "dataframe_records", "inputs"])
def test_a_json_file_in_mlflows_scoring_format(
    loaded: Any, iris: tuple[Any, pd.DataFrame], tmp_path: Path, key: str
) -> None:
    """The input files ``mlflow models predict -t json`` reads work here unchanged."""
    import json

    model, X = iris
    orient = {"dataframe_split": "split", "dataframe_records": "records", "inputs": "records"}
    body = {key: json.loads(X.to_json(orient=orient[key], index=False))}
    source = tmp_path / "input.json"
    source.write_text(json.dumps(body, indent=2))  # pretty-printed: not JSON lines
    target = tmp_path / "out.csv"

    result = predict_file(loaded, source, target, chunk_rows=64)

    assert (result.rows, result.chunks) == (150, 3)
    np.testing.assert_array_equal(read(target)["prediction"], model.predict(X))


def test_a_scoring_payload_that_is_not_a_table(loaded: Any, tmp_path: Path) -> None:
    source = tmp_path / "input.json"
    source.write_text('{"inputs": [[1.0, 2.0, 3.0, 4.0]]}')
    with pytest.raises(CairnError, match="not a table"):
        predict_file(loaded, source, tmp_path / "out.csv")
    assert leftovers(tmp_path, source) == []
