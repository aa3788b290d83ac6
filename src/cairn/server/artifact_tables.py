"""The first rows of a tabular artifact (.csv, .tsv, .parquet, .json), for the UI's previews.

A preview must cost the same whether the file holds a hundred rows or a billion: CSV and TSV
are read as a stream and parsed only as far as the rows shown (then counted on through a
bounded stretch of text, so small files get an exact total), parquet reads its footer and first row
group, and JSON, which has to be parsed whole, is refused past a size limit. Cells come back
as JSON values: text stays text (CSV has no types), non-finite floats travel as MLflow's
strings, and anything richer (dates, decimals, nested values) as its text.
"""

from __future__ import annotations

import csv
import io
import posixpath
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import msgspec

from cairn.errors import RESOURCE_DOES_NOT_EXIST, CairnError
from cairn.server.http import wire_float
from cairn.store.artifacts import ArtifactRepository, LocalPaths

TABLE_EXTENSIONS = (".csv", ".tsv", ".parquet", ".json")
MAX_TABLE_ROWS = 10_000
MAX_JSON_BYTES = 32 * 1024 * 1024
# Parquet needs random access: a remote file is copied to a temp file first, up to this size.
MAX_REMOTE_PARQUET_BYTES = 256 * 1024 * 1024
# After the rows shown, CSV rows are counted on through this much more text, then given up.
COUNT_CHARS = 8 * 1024 * 1024
MAX_LINE_CHARS = 4 * 1024 * 1024
MAX_CELL_CHARS = 10_000
_INT_RANGE = (-(2**63), 2**64 - 1)
_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[Any]]
    total_rows: int | None  # None: not counted (a large CSV)
    truncated: bool  # rows were left out

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "rows": self.rows,
            "total_rows": self.total_rows,
            "truncated": self.truncated,
        }


def read_table(repo: ArtifactRepository, path: str, max_rows: int) -> Table:
    """The first ``max_rows`` rows of artifact ``path`` (already confined) of ``repo``."""
    ext = posixpath.splitext(path)[1].lower()
    if ext not in TABLE_EXTENSIONS:
        raise CairnError.invalid(
            f"Cannot show {path!r} as a table: only {', '.join(TABLE_EXTENSIONS)} files can be."
        )
    if ext == ".parquet":
        return _read_parquet(repo, path, max_rows)
    with _open(repo, path) as stream:
        if ext == ".json":
            return _read_json(stream, path, max_rows)
        return _read_delimited(stream, path, max_rows, "\t" if ext == ".tsv" else ",")


def _open(repo: ArtifactRepository, path: str) -> BinaryIO:
    try:
        return repo.open_artifact(path)
    except CairnError as exc:
        if exc.error_code != RESOURCE_DOES_NOT_EXIST:
            raise
        raise _missing(repo, path) from None


def _missing(repo: ArtifactRepository, path: str) -> CairnError:
    """The store's not-found error names the server's own paths: say it without them."""
    if repo.list_artifacts(path):
        return CairnError.invalid(f"Artifact path {path!r} is a directory, not a file.")
    return CairnError.not_found(f"No artifact {path!r} in this run.")


def _unreadable(path: str, kind: str, exc: Exception) -> CairnError:
    return CairnError.invalid(f"Cannot read {path!r} as {kind}: {exc}")


# ------------------------------------------------------------------ CSV and TSV


def _read_delimited(stream: BinaryIO, path: str, max_rows: int, delimiter: str) -> Table:
    with io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="") as text:
        lines = _Lines(text, path)
        reader = csv.reader(lines, delimiter=delimiter)
        try:
            return _first_rows(reader, lines, max_rows)
        except csv.Error as exc:
            raise _unreadable(path, "TSV" if delimiter == "\t" else "CSV", exc) from None


def _first_rows(reader: Iterator[list[str]], lines: _Lines, max_rows: int) -> Table:
    """Header and ``max_rows`` rows; then rows are only counted, for a bounded stretch."""
    header = next(reader, None)
    rows: list[list[Any]] = []
    truncated = False
    for row in reader:
        if len(rows) == max_rows:
            truncated = True
            break
        rows.append([_text(cell) for cell in row])
    total: int | None = len(rows)
    if truncated:
        total = max_rows + 1
        budget = lines.consumed + COUNT_CHARS
        for _ in reader:
            total += 1
            if lines.consumed > budget:
                total = None
                break
    columns = [_text(c) for c in header] if header is not None else []
    return Table(columns, rows, total, truncated)


class _Lines:
    """The lines of a text stream for ``csv.reader``, each bounded in length (a file without
    line breaks must not be read whole), counting the characters handed out."""

    def __init__(self, text: io.TextIOBase, path: str) -> None:
        self.text = text
        self.path = path
        self.consumed = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self.text.readline(MAX_LINE_CHARS)
        if not line:
            raise StopIteration
        if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            raise CairnError.invalid(
                f"Cannot preview {self.path!r} as a table: it has a line longer than "
                f"{MAX_LINE_CHARS} characters."
            )
        self.consumed += len(line)
        return line


# ------------------------------------------------------------------ JSON


def _read_json(stream: BinaryIO, path: str, max_rows: int) -> Table:
    """Records (``[{"a": 1}, ...]``), or pandas' split or table orient (``{"columns": [...],
    "data": [[...]]}``, ``{"data": [{...}]}``; MLflow's ``log_table`` writes split)."""
    data = stream.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise CairnError.invalid(
            f"Cannot preview {path!r} as a table: JSON files over {MAX_JSON_BYTES} bytes are "
            "not previewed."
        )
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise _unreadable(path, "JSON", exc) from None
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        if isinstance(doc.get("columns"), list):
            return _split_table(doc["columns"], doc["data"], path, max_rows)
        doc = doc["data"]
    if isinstance(doc, list) and all(isinstance(r, dict) for r in doc):
        return _records_table(doc, max_rows)
    raise CairnError.invalid(
        f"Cannot show {path!r} as a table: expected a list of records ([{{...}}, ...]) or "
        'pandas\' split orient ({"columns": [...], "data": [[...], ...]}).'
    )


def _records_table(records: list[dict[str, Any]], max_rows: int) -> Table:
    shown = records[:max_rows]
    columns = list(dict.fromkeys(key for record in shown for key in record))
    rows = [[_cell(record.get(c)) for c in columns] for record in shown]
    return Table(columns, rows, len(records), len(records) > len(shown))


def _split_table(columns: list[Any], data: list[Any], path: str, max_rows: int) -> Table:
    if not all(isinstance(row, list) for row in data):
        raise CairnError.invalid(f"Cannot show {path!r} as a table: 'data' must hold lists.")
    rows = [[_cell(v) for v in row] for row in data[:max_rows]]
    names = [c if isinstance(c, str) else _text(msgspec.json.encode(c).decode()) for c in columns]
    return Table(names, rows, len(data), len(data) > len(rows))


# ------------------------------------------------------------------ parquet


def _read_parquet(repo: ArtifactRepository, path: str, max_rows: int) -> Table:
    """Footer and first batch only: a file on disk is read in place, any other is copied to
    a temp file (up to a size limit), since parquet is read from its end."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise CairnError.invalid(
            f"Cannot show {path!r} as a table: reading parquet needs pyarrow "
            "(pip install pyarrow) on the server."
        ) from None
    with tempfile.TemporaryFile() as spool:
        if isinstance(repo, LocalPaths):
            try:
                source: Any = str(repo.local_path(path))
            except CairnError as exc:
                if exc.error_code != RESOURCE_DOES_NOT_EXIST:
                    raise
                raise _missing(repo, path) from None
        else:
            with _open(repo, path) as stream:
                _copy_bounded(stream, spool, path)
            spool.seek(0)
            source = spool
        try:
            with pq.ParquetFile(source) as parquet:
                total = parquet.metadata.num_rows
                columns = list(parquet.schema_arrow.names)
                batch = next(parquet.iter_batches(batch_size=max_rows), None)
                values = [c.to_pylist() for c in batch.columns] if batch is not None else []
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise _unreadable(path, "parquet", exc) from None
    rows = [[_cell(v) for v in row] for row in zip(*values, strict=True)][:max_rows]
    return Table([_text(c) for c in columns], rows, total, total > len(rows))


def _copy_bounded(stream: BinaryIO, out: BinaryIO, path: str) -> None:
    copied = 0
    while block := stream.read(_BLOCK):
        copied += len(block)
        if copied > MAX_REMOTE_PARQUET_BYTES:
            raise CairnError.invalid(
                f"Cannot preview {path!r}: parquet files over {MAX_REMOTE_PARQUET_BYTES} bytes "
                "are previewed only from local artifact stores."
            )
        out.write(block)


# ------------------------------------------------------------------ cells


def _text(value: str) -> str:
    return value if len(value) <= MAX_CELL_CHARS else value[:MAX_CELL_CHARS] + "…"


def _cell(value: Any) -> Any:
    """A value as JSON can carry it, bounded in size."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int):
        return value if _INT_RANGE[0] <= value <= _INT_RANGE[1] else str(value)
    if isinstance(value, float):
        return wire_float(value)
    if isinstance(value, list | dict):
        try:
            return _text(msgspec.json.encode(value, enc_hook=str).decode())
        except (TypeError, OverflowError, ValueError):
            return _text(str(value))
    return _text(str(value))
