"""MLflow's scoring protocol: request bodies to model input, predictions to response bodies.

A JSON body names its format with one key: ``dataframe_split``, ``dataframe_records``,
``instances`` or ``inputs``, optionally beside ``params``. ``text/csv`` and
``application/vnd.apache.parquet`` bodies are DataFrames. The answer is
``{"predictions": ...}``: a DataFrame as records, a Series as records of its one column
(MLflow's shape), arrays as nested lists.

Rows from ``dataframe_split`` and ``dataframe_records`` stay plain lists here (:class:`Rows`),
so the micro-batcher can join many requests into one DataFrame with one construction.
Signature checks are not done here: ``PyFuncModel.predict`` enforces the signature.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import Any

import msgspec

from cairn.errors import BAD_REQUEST, CairnError

JSON = "application/json"
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = (JSON, CSV, PARQUET)
FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")

_decoder = msgspec.json.Decoder()


class UnsupportedMediaType(CairnError):
    """A body the server cannot read at all (HTTP 415, as MLflow answers)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, BAD_REQUEST)

    @property
    def http_status(self) -> int:
        return 415


@dataclass(frozen=True)
class Rows:
    """Table rows not yet made a DataFrame: lists (``dataframe_split``) or dicts with the same
    keys (``dataframe_records``); ``columns`` names them either way."""

    columns: tuple[str, ...]
    data: list[Any]
    records: bool = False

    def __len__(self) -> int:
        return len(self.data)

    def joins(self, other: Rows) -> bool:
        return self.columns == other.columns and self.records == other.records

    def frame(self) -> Any:
        return rows_frame([self])


def rows_frame(parts: list[Rows]) -> Any:
    """One DataFrame of all ``parts`` (which all join the first), in order."""
    import pandas as pd

    data = parts[0].data if len(parts) == 1 else [row for part in parts for row in part.data]
    columns = _column_index(parts[0].columns)
    try:
        if parts[0].records:
            return pd.DataFrame.from_records(data, columns=columns)
        if _all_floats(data):  # the common case: one float64 block, built in one step
            import numpy as np

            return pd.DataFrame(np.array(data, dtype=np.float64), columns=columns, copy=False)
        return pd.DataFrame(data, columns=columns)
    except (ValueError, TypeError) as exc:
        raise CairnError.invalid(f"The rows do not form a table: {exc}") from None


@functools.lru_cache(maxsize=256)
def _column_index(columns: tuple[str, ...]) -> Any:
    """The columns as a pandas Index, made once per column list: building an Index of
    strings costs more than the rest of a one-row DataFrame (Indexes are immutable)."""
    import pandas as pd

    return pd.Index(list(columns))


def _all_floats(rows: list[Any]) -> bool:
    """Whether every cell is a float: then numpy makes the same float64 columns pandas would."""
    return bool(rows) and all(type(cell) is float for row in rows for cell in row)


@dataclass(frozen=True)
class ScoringRequest:
    """One request's model input and params."""

    data: Any
    params: dict[str, Any] | None = None

    @property
    def batchable(self) -> bool:
        return isinstance(self.data, Rows)


def parse_request(body: bytes, content_type: str | None) -> ScoringRequest:
    """The model input a request body carries, or a CairnError saying what is wrong with it."""
    mime, charset = _media_type(content_type)
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"The scoring server reads UTF-8 only, not {charset!r}.")
    if mime == JSON:
        return parse_json(body)
    if mime == CSV:
        return ScoringRequest(parse_csv(body))
    if mime == PARQUET:
        return ScoringRequest(parse_parquet(body))
    raise UnsupportedMediaType(
        f"Unsupported content type {content_type or '(none)'!r}; send one of "
        f"{', '.join(CONTENT_TYPES)}."
    )


def _media_type(content_type: str | None) -> tuple[str, str]:
    if not content_type:
        return "", "utf-8"
    mime, *parameters = (part.strip() for part in content_type.split(";"))
    charset = "utf-8"
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
        elif key.strip():
            raise UnsupportedMediaType(
                f"Unrecognized content type parameter {key.strip()!r} in {content_type!r}."
            )
    return mime.lower(), charset


def parse_json(body: bytes) -> ScoringRequest:
    try:
        payload = _decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise CairnError(f"The body is not valid JSON: {exc}", BAD_REQUEST) from None
    if not isinstance(payload, dict):
        raise CairnError(
            f"The body must be a JSON object with one of the keys {', '.join(FORMATS)}; "
            f"got a {_kind(payload)}.",
            BAD_REQUEST,
        )
    found = [key for key in FORMATS if key in payload]
    unknown = sorted(set(payload) - set(FORMATS) - {"params"})
    if len(found) != 1 or unknown:
        raise CairnError(
            f"The body must have exactly one of the keys {', '.join(FORMATS)} (and optionally "
            f"'params'); got {sorted(payload)}.",
            BAD_REQUEST,
        )
    params = payload.get("params")
    if params is not None and not isinstance(params, dict):
        raise CairnError(f"'params' must be a JSON object, got a {_kind(params)}.", BAD_REQUEST)
    key = found[0]
    value = payload[key]
    if key == "dataframe_split":
        data: Any = _split(value)
    elif key == "dataframe_records":
        data = _records(value)
    else:
        data = _tensor_input(key, value)
    return ScoringRequest(data, params or None)


def _split(value: Any) -> Any:
    if not isinstance(value, dict):
        raise CairnError(
            f"'dataframe_split' must be an object with 'columns' and 'data'; got a {_kind(value)}.",
            BAD_REQUEST,
        )
    unknown = sorted(set(value) - {"columns", "data", "index"})
    if unknown:
        raise CairnError(
            f"'dataframe_split' has unknown keys {unknown}; expected columns, data, index.",
            BAD_REQUEST,
        )
    data = value.get("data")
    if not isinstance(data, list):
        raise CairnError("'dataframe_split' needs 'data': a list of rows.", BAD_REQUEST)
    columns = value.get("columns")
    if columns is not None and (
        not isinstance(columns, list) or not all(isinstance(c, str | int) for c in columns)
    ):
        raise CairnError("'dataframe_split.columns' must be a list of names.", BAD_REQUEST)
    width = len(columns) if columns is not None else None
    for number, row in enumerate(data):
        if not isinstance(row, list):
            if width == 1 and not isinstance(row, dict):
                continue  # one column: rows may be bare values
            raise CairnError(
                f"'dataframe_split.data' row {number} is a {_kind(row)}, not a list.", BAD_REQUEST
            )
        if width is not None and len(row) != width:
            raise CairnError(
                f"'dataframe_split.data' row {number} has {len(row)} values for {width} columns.",
                BAD_REQUEST,
            )
    if width == 1 and data and not all(isinstance(row, list) for row in data):
        data = [row if isinstance(row, list) else [row] for row in data]
    index = value.get("index")
    if index is not None or columns is None:
        import pandas as pd

        if index is not None and (not isinstance(index, list) or len(index) != len(data)):
            raise CairnError(
                "'dataframe_split.index' must be a list as long as 'data'.", BAD_REQUEST
            )
        try:
            return pd.DataFrame(data, columns=columns, index=index)
        except (ValueError, TypeError) as exc:
            raise CairnError(f"'dataframe_split' is not a table: {exc}", BAD_REQUEST) from None
    return Rows(tuple(str(c) for c in columns), data)


def _records(value: Any) -> Any:
    if not isinstance(value, list):
        raise CairnError(
            f"'dataframe_records' must be a list of records; got a {_kind(value)}.", BAD_REQUEST
        )
    keys: set[str] | None = None
    uniform = True
    for number, record in enumerate(value):
        if not isinstance(record, dict):
            raise CairnError(
                f"'dataframe_records' item {number} is a {_kind(record)}, not an object.",
                BAD_REQUEST,
            )
        if keys is None:
            keys = set(record)
        elif uniform and keys != record.keys():
            uniform = False
    if value and uniform:
        return Rows(tuple(value[0]), value, records=True)
    import pandas as pd

    return pd.DataFrame.from_records(value)  # fields differ per record: missing ones are NaN


def _tensor_input(key: str, value: Any) -> Any:
    """TF-serving style input: records become columns of arrays, lists become arrays."""
    import numpy as np

    if key == "instances" and isinstance(value, list) and value and isinstance(value[0], dict):
        if not all(isinstance(item, dict) for item in value):
            raise CairnError("'instances' mixes objects with other values.", BAD_REQUEST)
        fields = value[0].keys()
        if not all(item.keys() == fields for item in value):
            raise CairnError(
                "'instances' items do not all have the same fields; every instance needs a "
                "value for every input.",
                BAD_REQUEST,
            )
        columns = {name: [item[name] for item in value] for name in fields}
        return {name: _array(cells, f"instances.{name}") for name, cells in columns.items()}
    if isinstance(value, dict):
        return {name: _array(cells, f"{key}.{name}") for name, cells in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            return value  # records: the signature decides (a table, or objects)
        return _array(value, key)
    if value is None:
        raise CairnError(f"'{key}' is null.", BAD_REQUEST)
    return np.asarray(value)


def _array(values: Any, label: str) -> Any:
    import numpy as np

    if not isinstance(values, list):
        return values
    try:
        array = np.asarray(values)
    except ValueError as exc:  # ragged nested lists
        raise CairnError(f"'{label}' is not a regular array: {exc}", BAD_REQUEST) from None
    return array


def parse_csv(body: bytes) -> Any:
    import pandas as pd

    if not body.strip():
        raise CairnError("The CSV body is empty; send a header row and data rows.", BAD_REQUEST)
    try:
        return pd.read_csv(io.BytesIO(body), encoding="utf-8")
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise CairnError(f"The body is not readable CSV: {exc}", BAD_REQUEST) from None


def parse_parquet(body: bytes) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(pa.BufferReader(body)).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CairnError(f"The body is not a readable Parquet file: {exc}", BAD_REQUEST) from None


def _kind(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


# ------------------------------------------------------------------ predictions


def jsonable(predictions: Any) -> Any:
    """Predictions shaped as MLflow's scoring server answers (the encoder does the scalars)."""
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        return predictions.to_dict(orient="records")
    if isinstance(predictions, pd.Series):
        return predictions.to_frame().to_dict(orient="records")
    if isinstance(predictions, np.ndarray):
        return predictions.tolist()
    return predictions


def _encode_other(value: Any) -> Any:
    """What msgspec cannot encode itself: numpy and pandas values (NaN and inf become null)."""
    import numpy as np
    import pandas as pd

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, pd.DataFrame | pd.Series):
        return jsonable(value)
    raise CairnError(
        f"The model returned a {type(value).__name__}, which cannot be sent as JSON.",
        BAD_REQUEST,
    )


_encoder = msgspec.json.Encoder(enc_hook=_encode_other)


def predictions_body(predictions: Any) -> bytes:
    return _encoder.encode({"predictions": jsonable(predictions)})


def encode(value: Any) -> bytes:
    return _encoder.encode(value)
