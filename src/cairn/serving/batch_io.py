"""Reading and writing the files ``cairn models predict`` scores: CSV, Parquet, JSON lines.

Readers stream: each yields Arrow tables of ``chunk_rows`` rows (the last may be shorter) and
never holds more than a chunk plus one of pyarrow's read blocks, so a file larger than memory
can be scored. CSV and JSON lines go through pyarrow's streaming readers, whose column types
are decided by the first block (the model's signature pins the types of the columns it names,
so a column of whole numbers that later holds ``2.5`` still reads as double); Parquet through
``ParquetFile.iter_batches``. Writers append a chunk at a time to an open file.

``-`` names stdin or stdout, for CSV and JSON lines (Parquet needs a seekable file). A JSON
file in MLflow's scoring format (``{"dataframe_split": ...}``) is read whole, as ``mlflow models
predict`` reads it.
pyarrow is imported inside functions: ``import cairn`` stays light.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from cairn.errors import CairnError

if TYPE_CHECKING:
    import pyarrow as pa

    from cairn.models.signature import Schema

CSV = "csv"
PARQUET = "parquet"
JSON = "json"
FORMATS = (CSV, PARQUET, JSON)
STDIO = "-"

EXTENSIONS = {
    ".csv": CSV,
    ".parquet": PARQUET,
    ".pq": PARQUET,
    ".jsonl": JSON,
    ".json": JSON,
    ".ndjson": JSON,
}

# pyarrow reads CSV and JSON in blocks of this many bytes; the first decides the column types.
BLOCK_BYTES = 4 << 20


def resolve_format(path: str, given: str | None, role: str) -> str:
    """The file's format: ``given`` (``--input-format``/``--output-format``) or its extension."""
    if given is not None:
        fmt = given.lower()
        if fmt not in FORMATS:
            raise CairnError.invalid(
                f"Unknown {role} format {given!r}: use one of {', '.join(FORMATS)}."
            )
    elif path == STDIO:
        raise CairnError.invalid(
            f"The {role} is {'stdin' if role == 'input' else 'stdout'} ('-'): give its format "
            f"with --{role}-format ({CSV} or {JSON})."
        )
    else:
        suffix = Path(path).suffix.lower()
        if suffix not in EXTENSIONS:
            known = ", ".join(EXTENSIONS)
            raise CairnError.invalid(
                f"Cannot tell the {role} format of {path!r} from its extension "
                f"{suffix or '(none)'!r}: name a {known} file or give --{role}-format "
                f"({', '.join(FORMATS)})."
            )
        fmt = EXTENSIONS[suffix]
    if path == STDIO and fmt == PARQUET:
        raise CairnError.invalid(
            f"Parquet cannot be read from stdin or written to stdout; give a file path for the "
            f"{role}."
        )
    return fmt


# ----------------------------------------------------------------------------- reading


class Reader(Protocol):
    """A streaming source of Arrow tables of at most ``chunk_rows`` rows."""

    total_rows: int | None  # known up front for Parquet
    total_bytes: int | None  # the file size; None for stdin
    schema: pa.Schema  # the columns as read

    def bytes_read(self) -> int | None: ...

    def chunks(self) -> Iterator[pa.Table]: ...

    def close(self) -> None: ...


def open_reader(path: str, fmt: str, chunk_rows: int, schema: Schema | None) -> Reader:
    """A reader of ``path``, or a clear error when it is missing or not readable as ``fmt``."""
    check_input(path)
    if fmt == PARQUET:
        return _ParquetReader(path, chunk_rows)
    if fmt == JSON and path != STDIO:
        first = _first_json_line(path)
        if _is_scoring_payload(first):
            return _PayloadReader(path, chunk_rows)
        if schema is not None:  # pin the types of the fields the file has, and only those
            fields = set(first) if isinstance(first, dict) else set()
            schema = _only_columns(schema, fields)
    elif fmt == JSON:
        schema = None  # stdin cannot be peeked: absent fields must not come back as nulls
    return _StreamReader(path, fmt, chunk_rows, schema)


def _first_json_line(path: str) -> Any:
    """The first line of a JSON file, decoded; None if it is not a JSON value by itself."""
    import msgspec

    with open(path, "rb") as file:
        line = file.readline(BLOCK_BYTES)
    try:
        return msgspec.json.decode(line)
    except msgspec.DecodeError:
        return None


def _is_scoring_payload(first: Any) -> bool:
    """A file in MLflow's scoring format (``{"dataframe_split": ...}``, as ``mlflow models
    predict -t json`` reads) rather than JSON lines: its first line is not a whole record, or
    is an object keyed by a scoring format."""
    from cairn.serving.payloads import FORMATS as PAYLOAD_FORMATS

    return first is None or (isinstance(first, dict) and bool(set(first) & set(PAYLOAD_FORMATS)))


def _only_columns(schema: Schema, names: set[str]) -> Schema | None:
    from cairn.models.signature import Schema as SchemaType

    kept = [spec for spec in schema.inputs if getattr(spec, "name", None) in names]
    return SchemaType(kept) if kept else None


def check_input(path: str) -> None:
    """A clear error for an input that is missing or a directory (before a model is loaded)."""
    if path == STDIO:
        return
    if not os.path.exists(path):
        raise CairnError.not_found(f"Input file not found: {path}")
    if os.path.isdir(path):
        raise CairnError.invalid(f"The input {path} is a directory, not a file.")


class _StreamReader:
    """CSV or JSON lines through pyarrow's streaming readers, re-cut into chunks of rows."""

    def __init__(self, path: str, fmt: str, chunk_rows: int, schema: Schema | None) -> None:
        self.path = path
        self.fmt = fmt
        self.chunk_rows = chunk_rows
        self.total_rows = None
        self.total_bytes = None if path == STDIO else os.path.getsize(path)
        self._rows_read = self._rows_out = 0
        try:
            self._file: Any = sys.stdin.buffer if path == STDIO else _os_file(path)
        except OSError as exc:
            raise unreadable(path, fmt, exc) from None
        try:
            self._batches = self._open(_arrow_types(schema))
            self.schema = self._batches.schema
        except BaseException:
            self.close()
            raise

    def _open(self, types: dict[str, Any]) -> Any:
        import pyarrow as pa

        try:
            if self.fmt == CSV:
                from pyarrow import csv

                return csv.open_csv(
                    self._file,
                    read_options=csv.ReadOptions(block_size=BLOCK_BYTES),
                    convert_options=csv.ConvertOptions(column_types=types),
                )
            from pyarrow import json

            return json.open_json(
                self._file,
                read_options=json.ReadOptions(block_size=BLOCK_BYTES),
                parse_options=json.ParseOptions(explicit_schema=pa.schema(types) or None),
            )
        except pa.ArrowException as exc:
            raise unreadable(self.path, self.fmt, exc) from None

    def bytes_read(self) -> int | None:
        """Bytes of input behind the rows handed out so far: pyarrow reads blocks ahead, so
        the file position is scaled by the share of the rows read that were handed out."""
        if self.path == STDIO or not self._rows_read:
            return None
        try:
            position = self._file.tell()
        except (OSError, ValueError):
            return None
        return int(position * min(self._rows_out / self._rows_read, 1.0))

    def chunks(self) -> Iterator[pa.Table]:
        import pyarrow as pa

        def batches() -> Iterator[pa.RecordBatch]:
            while True:
                try:
                    batch = self._batches.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowException as exc:  # a failing block starts after the rows read
                    raise unreadable(self.path, self.fmt, exc, after_row=self._rows_read) from None
                self._rows_read += batch.num_rows
                yield batch

        for table in rebatch(batches(), self._batches.schema, self.chunk_rows):
            self._rows_out += table.num_rows
            yield table

    def close(self) -> None:
        if self.path != STDIO:
            self._file.close()


def _os_file(path: str) -> Any:
    """pyarrow's own file: read without the GIL, and its position tells the bytes read."""
    import pyarrow as pa

    return pa.OSFile(path, "rb")


class _PayloadReader:
    """One JSON document in MLflow's scoring format, read whole (it is one value, not lines)
    and handed out in chunks like any table."""

    def __init__(self, path: str, chunk_rows: int) -> None:
        import pandas as pd
        import pyarrow as pa

        from cairn.serving.payloads import Rows, parse_json

        self.chunk_rows = chunk_rows
        self.total_bytes = os.path.getsize(path)
        with open(path, "rb") as file:
            body = file.read()
        try:
            request = parse_json(body)
        except CairnError as exc:
            raise CairnError.invalid(
                f"Could not read {path} as JSON lines (its first line is not a JSON value) nor "
                f"as one scoring payload: {exc.message}"
            ) from None
        data = request.data.frame() if isinstance(request.data, Rows) else request.data
        if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
            data = pd.DataFrame(data)
        if not isinstance(data, pd.DataFrame):
            raise CairnError.invalid(
                f"{path} holds a scoring payload that is not a table; batch prediction scores "
                "tables (dataframe_split, dataframe_records, or records under instances/inputs). "
                "Send tensors to `cairn models serve` instead."
            )
        try:
            self._table = pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise unreadable(path, JSON, exc) from None
        self.schema = self._table.schema
        self.total_rows = self._table.num_rows

    def bytes_read(self) -> int | None:
        return None

    def chunks(self) -> Iterator[pa.Table]:
        yield from rebatch(iter(self._table.to_batches()), self.schema, self.chunk_rows)

    def close(self) -> None:
        return None


class _ParquetReader:
    """Parquet through ``ParquetFile.iter_batches``; the row count is known up front."""

    def __init__(self, path: str, chunk_rows: int) -> None:
        import pyarrow as pa
        from pyarrow import parquet

        self.path = path
        self.chunk_rows = chunk_rows
        self.total_bytes = os.path.getsize(path)
        try:
            self._file = parquet.ParquetFile(path)
        except (OSError, pa.ArrowException) as exc:
            raise unreadable(path, PARQUET, exc) from None
        self.total_rows = self._file.metadata.num_rows
        self.schema = self._file.schema_arrow

    def bytes_read(self) -> int | None:
        return None

    def chunks(self) -> Iterator[pa.Table]:
        import pyarrow as pa

        def batches() -> Iterator[pa.RecordBatch]:
            read = 0
            source = self._file.iter_batches(batch_size=self.chunk_rows)
            while True:
                try:
                    batch = next(source)
                except StopIteration:
                    return
                except pa.ArrowException as exc:
                    raise unreadable(self.path, PARQUET, exc, after_row=read) from None
                read += batch.num_rows
                yield batch

        # Row groups may end mid-chunk: re-cut, so every chunk but the last is chunk_rows.
        yield from rebatch(batches(), self.schema, self.chunk_rows)

    def close(self) -> None:
        self._file.close()


def rebatch(
    batches: Iterator[pa.RecordBatch], schema: pa.Schema, chunk_rows: int
) -> Iterator[pa.Table]:
    """Tables of exactly ``chunk_rows`` rows (the last one shorter) from batches of any size."""
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        held += batch.num_rows
        while held >= chunk_rows:
            table = pa.Table.from_batches(pending, schema=schema)
            yield table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            pending = rest.to_batches()
            held = rest.num_rows
    if held:
        yield pa.Table.from_batches(pending, schema=schema)


def _arrow_types(schema: Schema | None) -> dict[str, Any]:
    """Arrow types for the signature's float and string columns: the reader then keeps them
    even when its first block holds only whole numbers (or only digits)."""
    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return {}
    import pyarrow as pa

    from cairn.models.signature import ColSpec, DataType

    wanted = {
        DataType.double: pa.float64(),
        DataType.float: pa.float64(),
        DataType.string: pa.string(),
    }
    return {
        str(spec.name): wanted[spec.type]
        for spec in schema
        if isinstance(spec, ColSpec) and isinstance(spec.type, DataType) and spec.type in wanted
    }


def unreadable(path: str, fmt: str, exc: Exception, after_row: int | None = None) -> CairnError:
    """A read failure as a message naming the file, the format and where it stopped."""
    name = "stdin" if path == STDIO else path
    kind = {CSV: "CSV", PARQUET: "Parquet", JSON: "JSON lines (one object per line)"}[fmt]
    where = f" after row {after_row:,}" if after_row else ""
    return CairnError.invalid(f"Could not read {name} as {kind}{where}: {exc}")


# ----------------------------------------------------------------------------- writing


class Writer(Protocol):
    """Appends Arrow tables of one schema to an open file."""

    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


def open_writer(sink: IO[bytes], fmt: str, schema: pa.Schema) -> Writer:
    """A writer of ``fmt`` into ``sink`` (an open binary file or stdout)."""
    if fmt == PARQUET:
        from pyarrow import parquet

        return parquet.ParquetWriter(sink, schema)
    if fmt == CSV:
        from pyarrow import csv

        return csv.CSVWriter(sink, schema)
    return _JsonLinesWriter(sink)


class _JsonLinesWriter:
    """One JSON object per row and line; NaN and infinities become null."""

    def __init__(self, sink: IO[bytes]) -> None:
        import msgspec

        self._sink = sink
        self._encoder = msgspec.json.Encoder()

    def write(self, table: pa.Table) -> None:
        self._sink.write(self._encoder.encode_lines(table.to_pylist()))

    def close(self) -> None:
        self._sink.flush()
