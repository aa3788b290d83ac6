"""Batch prediction over files: ``cairn models predict`` and :func:`predict_file`.

The input streams through the model a chunk of rows at a time (see :mod:`batch_io`), so memory
stays bounded by the chunk size whatever the file size. Each chunk goes through
:meth:`PyFuncModel.predict`, so the model's signature is checked per chunk, and a chunk that
fails is reported by its row range. The output is the input columns plus the prediction
column(s), or only the predictions.

The first chunk's output schema decides the file's: later chunks are cast to it (an int column
that the first chunk predicted as int stays int), and a chunk that cannot be cast is an error
naming its rows. The output is written to a temporary file next to the target and renamed at
the end, so a failure never leaves a partial file behind (stdout, of course, cannot be undone).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from cairn.errors import CairnError
from cairn.serving import batch_io
from cairn.serving.batch_io import STDIO

if TYPE_CHECKING:
    import pyarrow as pa

    from cairn.pyfunc import PyFuncModel

DEFAULT_CHUNK_ROWS = 100_000
DEFAULT_PREDICTION_COLUMN = "prediction"


class Progress(Protocol):
    """Told the sizes once and then after each chunk (the CLI draws a bar from it)."""

    def start(self, total_rows: int | None, total_bytes: int | None) -> None: ...

    def update(self, rows: int, bytes_read: int | None) -> None: ...


@dataclass(frozen=True)
class BatchResult:
    """What a batch prediction did."""

    rows: int
    chunks: int
    output: str
    output_format: str
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def predict_file(
    model: str | PyFuncModel,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    input_format: str | None = None,
    output_format: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    predictions_only: bool = False,
    prediction_column: str = DEFAULT_PREDICTION_COLUMN,
    progress: Progress | None = None,
) -> BatchResult:
    """Score ``input_path`` with ``model`` (a loaded model or a model URI) into ``output_path``.

    Formats come from the extensions (``.csv``, ``.parquet``/``.pq``, ``.jsonl``/``.json``/
    ``.ndjson``) unless given; ``-`` is stdin/stdout (CSV or JSON lines, format required).
    Raises :class:`CairnError` for anything wrong with the files, the data or the model's
    answer, naming the rows concerned; the output file then does not exist.
    """
    _require_pyarrow()
    source, target = os.fspath(input_path), os.fspath(output_path)
    in_fmt = batch_io.resolve_format(source, input_format, "input")
    out_fmt = batch_io.resolve_format(target, output_format, "output")
    _check_options(source, target, chunk_rows, prediction_column)
    if isinstance(model, str):
        import cairn.pyfunc

        model = cairn.pyfunc.load_model(model)
    signature = model.metadata.signature
    reader = batch_io.open_reader(
        source, in_fmt, chunk_rows, signature.inputs if signature is not None else None
    )
    started = time.perf_counter()
    try:
        if progress is not None:
            progress.start(reader.total_rows, reader.total_bytes)
        with _atomic_output(target) as sink:
            rows, chunks = _score(
                model, reader, sink, out_fmt, predictions_only, prediction_column, progress
            )
    finally:
        reader.close()
    return BatchResult(rows, chunks, target, out_fmt, time.perf_counter() - started)


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise CairnError.invalid(
            "Batch prediction streams files with pyarrow, which is not installed here: "
            "pip install pyarrow (or predict with --env-manager virtualenv|uv)."
        ) from None


def _check_options(source: str, target: str, chunk_rows: int, prediction_column: str) -> None:
    if chunk_rows < 1:
        raise CairnError.invalid(f"The chunk size must be at least 1 row, got {chunk_rows}.")
    if not prediction_column:
        raise CairnError.invalid("The prediction column name must not be empty.")
    batch_io.check_input(source)
    if target == STDIO:
        return
    if source != STDIO and os.path.exists(target) and os.path.samefile(source, target):
        raise CairnError.invalid(f"The output {target} is the input file; name another file.")
    parent = Path(target).parent
    if not parent.is_dir():
        raise CairnError.not_found(f"The output's directory does not exist: {parent}")


@contextlib.contextmanager
def _atomic_output(target: str) -> Iterator[IO[bytes]]:
    """A binary sink for ``target``: a temp file beside it, renamed into place on success and
    removed on any failure (Ctrl-C included); stdout for ``-``."""
    if target == STDIO:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    path = Path(target)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as sink:
            yield sink
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _score(
    model: PyFuncModel,
    reader: batch_io.Reader,
    sink: IO[bytes],
    out_fmt: str,
    predictions_only: bool,
    prediction_column: str,
    progress: Progress | None,
) -> tuple[int, int]:
    """Predict every chunk and append it to ``sink``; returns (rows, chunks).

    A chunk is written on a second thread while the next one is read and scored (pyarrow
    writes without the GIL); at most one write is pending, so memory stays at two chunks.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    writer: batch_io.Writer | None = None
    schema: pa.Schema | None = None
    rows = chunks = 0
    pending: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cairn-batch-write") as pool:
        try:
            for table in reader.chunks():
                first, last = rows + 1, rows + table.num_rows
                out = scored_table(model, table, predictions_only, prediction_column, (first, last))
                if schema is None:
                    schema = out.schema
                    writer = batch_io.open_writer(sink, out_fmt, schema)
                else:
                    out = conform(out, schema, (first, last))
                if pending is not None:
                    pending.result()
                assert writer is not None
                pending = pool.submit(writer.write, out)
                rows, chunks = last, chunks + 1
                if progress is not None:
                    progress.update(rows, reader.bytes_read())
            if pending is not None:
                pending.result()
            if writer is None and not predictions_only:
                # No rows: an empty file that still names the input's columns.
                writer = batch_io.open_writer(sink, out_fmt, reader.schema)
        finally:
            if pending is not None:
                pending.exception()  # wait: the file is closed (or removed) after the write
            if writer is not None:
                writer.close()
    return rows, chunks


def scored_table(
    model: PyFuncModel,
    table: pa.Table,
    predictions_only: bool,
    prediction_column: str,
    row_range: tuple[int, int],
) -> pa.Table:
    """One chunk's output: its input columns (unless ``predictions_only``) and predictions."""
    import pyarrow as pa

    frame = table.to_pandas()
    try:
        predictions = model.predict(frame)
    except CairnError as exc:
        raise CairnError(f"{_rows(row_range)}: {exc.message}", exc.error_code) from None
    except Exception as exc:
        raise CairnError.invalid(
            f"{_rows(row_range)}: the model failed to predict: {type(exc).__name__}: {exc}"
        ) from None
    predicted = prediction_table(predictions, prediction_column, table.num_rows, row_range)
    if predictions_only:
        return predicted
    clash = sorted(set(predicted.column_names) & set(table.column_names))
    if clash:
        raise CairnError.invalid(
            f"The prediction column(s) {', '.join(map(repr, clash))} are already input columns: "
            "choose another name with --prediction-column, or write --predictions-only."
        )
    columns = table.columns + predicted.columns
    return pa.Table.from_arrays(columns, names=table.column_names + predicted.column_names)


def prediction_table(
    predictions: Any, column: str, rows: int, row_range: tuple[int, int]
) -> pa.Table:
    """The model's answer as named Arrow columns: a DataFrame keeps its column names, one
    column is ``column``, a 2-D array is ``column_0`` .. ``column_n``."""
    import pandas as pd
    import pyarrow as pa

    from cairn.serving.predictions import predictions_frame

    frame = predictions_frame(predictions)
    if len(frame) != rows:
        raise CairnError.invalid(
            f"{_rows(row_range)}: the model returned {len(frame):,} predictions for {rows:,} rows."
        )
    named = isinstance(predictions, (pd.DataFrame, dict))
    if named:
        frame.columns = [str(c) for c in frame.columns]
    elif frame.shape[1] == 1:
        frame.columns = [column]
    else:
        frame.columns = [f"{column}_{i}" for i in range(frame.shape[1])]
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise CairnError.invalid(
            f"{_rows(row_range)}: the predictions cannot be written as table columns: {exc}"
        ) from None


def conform(table: pa.Table, schema: pa.Schema, row_range: tuple[int, int]) -> pa.Table:
    """``table`` in the first chunk's schema, or an error naming the rows that do not fit."""
    import pyarrow as pa

    if table.schema.equals(schema):
        return table
    if table.column_names != schema.names:
        raise CairnError.invalid(
            f"{_rows(row_range)}: the columns {table.column_names} differ from the first "
            f"chunk's {schema.names}."
        )
    try:
        return table.cast(schema)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        differ = [
            f"{field.name!r}: {field.type} (first chunk: {schema.field(field.name).type})"
            for field in table.schema
            if field.type != schema.field(field.name).type
        ]
        raise CairnError.invalid(
            f"{_rows(row_range)}: cannot be converted to the types of the first chunk "
            f"({'; '.join(differ)}): {exc}"
        ) from None


def _rows(row_range: tuple[int, int]) -> str:
    first, last = row_range
    return f"Rows {first:,}-{last:,}"
