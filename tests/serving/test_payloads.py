"""The scoring protocol's request bodies and response bodies, format by format."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from cairn.errors import CairnError
from cairn.serving.payloads import (
    Rows,
    UnsupportedMediaType,
    parse_request,
    predictions_body,
    rows_frame,
)

JSON = "application/json"


def parse(payload: object, content_type: str = JSON):  # type: ignore[no-untyped-def]
    return parse_request(json.dumps(payload).encode(), content_type)


def test_dataframe_split_stays_rows_until_scored() -> None:
    request = parse({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.5], [3, 4.5]]}})
    assert request.batchable and request.params is None
    frame = request.data.frame()
    assert list(frame.columns) == ["a", "b"]
    assert frame["a"].tolist() == [1, 3] and frame["b"].tolist() == [2.5, 4.5]


def test_dataframe_split_with_an_index_is_a_frame_at_once() -> None:
    request = parse({"dataframe_split": {"columns": ["a"], "data": [[1], [2]], "index": [7, 9]}})
    assert not request.batchable
    assert request.data.index.tolist() == [7, 9]


def test_single_column_rows_may_be_bare_values() -> None:
    request = parse({"dataframe_split": {"columns": ["a"], "data": [1, 2]}})
    assert request.data.frame()["a"].tolist() == [1, 2]


def test_dataframe_records_and_params() -> None:
    request = parse({"dataframe_records": [{"a": 1, "b": "x"}], "params": {"k": 3}})
    assert request.params == {"k": 3}
    assert request.data.frame().to_dict(orient="records") == [{"a": 1, "b": "x"}]


def test_records_with_differing_fields_are_not_joined_with_others() -> None:
    request = parse({"dataframe_records": [{"a": 1}, {"b": 2}]})
    assert not request.batchable
    assert request.data.shape == (2, 2)


def test_rows_join_only_with_the_same_columns() -> None:
    a = Rows(("x", "y"), [[1, 2]])
    b = Rows(("x", "y"), [[3, 4]])
    c = Rows(("y", "x"), [[5, 6]])
    records = Rows(("x", "y"), [{"x": 7, "y": 8}], records=True)
    assert a.joins(b) and not a.joins(c) and not a.joins(records)
    assert rows_frame([a, b])["x"].tolist() == [1, 3]


def test_instances_of_objects_become_columns() -> None:
    request = parse({"instances": [{"a": 1, "b": [1, 2]}, {"a": 2, "b": [3, 4]}]})
    assert request.data["a"].tolist() == [1, 2]
    assert request.data["b"].shape == (2, 2)


def test_instances_and_inputs_of_lists_become_arrays() -> None:
    assert parse({"instances": [[1, 2], [3, 4]]}).data.shape == (2, 2)
    assert parse({"inputs": {"t": [[1.0, 2.0]]}}).data["t"].shape == (1, 2)
    records = parse({"inputs": [{"a": 1}, {"a": 2}]}).data
    assert records == [{"a": 1}, {"a": 2}]  # the signature decides what they become


def test_csv_and_parquet_bodies() -> None:
    frame = parse_request(b"a,b\n1,x\n2,y\n", "text/csv; charset=utf-8").data
    assert frame.to_dict(orient="list") == {"a": [1, 2], "b": ["x", "y"]}
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1.5, 2.5]}).to_parquet(buffer)
    frame = parse_request(buffer.getvalue(), "application/vnd.apache.parquet").data
    assert frame["a"].tolist() == [1.5, 2.5]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "got a list"),
        (b'{"dataframe_split": {}, "instances": []}', "exactly one of the keys"),
        (b'{"dataframe_records": [], "extra": 1}', "exactly one of the keys"),
        (b"{}", "exactly one of the keys"),
        (b'{"dataframe_split": [[1]]}', "must be an object with 'columns' and 'data'"),
        (b'{"dataframe_split": {"columns": ["a"]}}', "needs 'data'"),
        (b'{"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}', "row 0 has 1 values"),
        (b'{"dataframe_split": {"columns": ["a"], "data": [[1]], "bad": 1}}', "unknown keys"),
        (b'{"dataframe_split": {"columns": "a", "data": [[1]]}}', "list of names"),
        (b'{"dataframe_records": {"a": 1}}', "must be a list of records"),
        (b'{"dataframe_records": [1]}', "item 0 is a int"),
        (b'{"instances": [{"a": 1}, {"b": 2}]}', "same fields"),
        (b'{"instances": [[1, 2], [3]]}', "not a regular array"),
        (b'{"inputs": null}', "is null"),
        (b'{"inputs": [1], "params": [1]}', "'params' must be a JSON object"),
    ],
)
def test_bad_json_bodies_say_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(CairnError) as info:
        parse_request(body, JSON)
    assert info.value.http_status == 400
    assert message in info.value.message


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", "text/csv", "empty"),
        (b'a,b\n1,2,3,4\n"x', "text/csv", "not readable CSV"),
        (b"not parquet", "application/vnd.apache.parquet", "not a readable Parquet"),
    ],
)
def test_bad_csv_and_parquet_bodies(body: bytes, content_type: str, message: str) -> None:
    with pytest.raises(CairnError, match=message) as info:
        parse_request(body, content_type)
    assert info.value.http_status == 400


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/json; charset=latin-1", "application/json; format=x"],
)
def test_unreadable_content_types_are_415(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        parse_request(b"{}", content_type)
    assert info.value.http_status == 415


def test_predictions_are_shaped_as_mlflow_answers() -> None:
    def decoded(value: object) -> object:
        return json.loads(predictions_body(value))["predictions"]

    assert decoded(np.array([1.5, np.nan, np.inf])) == [1.5, None, None]
    assert decoded(np.array([[1, 2]], dtype=np.int32)) == [[1, 2]]
    assert decoded(pd.Series([3, 4], name="y")) == [{"y": 3}, {"y": 4}]
    stamps = pd.DataFrame({"t": pd.to_datetime(["2024-01-02"]), "n": [np.float32(0.5)]})
    assert decoded(stamps) == [{"t": "2024-01-02T00:00:00", "n": 0.5}]
    assert decoded([np.int64(7), "x", None]) == [7, "x", None]


def test_a_prediction_json_cannot_carry_is_an_error() -> None:
    with pytest.raises(CairnError, match="cannot be sent as JSON"):
        predictions_body([object()])
