"""``cairn models predict``: score a CSV, Parquet or JSON-lines file with a model, streaming.

The work is :func:`cairn.serving.batch.predict_file`; this module adds the options, the
progress bar (rich, on stderr, only on a terminal) and the summary line.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING

import click

from cairn.cli import output
from cairn.cli.env_options import environment_options
from cairn.errors import CairnError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

FORMAT_CHOICE = click.Choice(["csv", "parquet", "json"], case_sensitive=False)


@click.command("predict")
@click.option("-m", "--model-uri", required=True, help="Path, runs:/ or models:/ URI of the model.")
@click.option(
    "-i",
    "--input-path",
    required=True,
    help="CSV, Parquet or JSON-lines file to score; '-' reads stdin (CSV or JSON lines).",
)
@click.option(
    "-o",
    "--output-path",
    required=True,
    help="Where to write the scored rows; '-' writes stdout (CSV or JSON lines).",
)
@click.option(
    "--input-format",
    type=FORMAT_CHOICE,
    help="csv, parquet or json (lines). [default: from the extension: .csv, .parquet/.pq, "
    ".jsonl/.json/.ndjson]",
)
@click.option("--output-format", type=FORMAT_CHOICE, help="As --input-format, for the output file.")
@click.option(
    "--chunk-rows",
    type=click.IntRange(1),
    default=100_000,
    show_default=True,
    help="Rows read, scored and written at a time: memory grows with it, the per-chunk "
    "overhead shrinks.",
)
@click.option(
    "--predictions-only",
    is_flag=True,
    help="Write only the prediction column(s), not the input columns.",
)
@click.option(
    "--prediction-column",
    default="prediction",
    show_default=True,
    help="Name of the prediction column (a 2-D prediction gives NAME_0, NAME_1, ...; a "
    "DataFrame prediction keeps its own column names).",
)
@environment_options("predict")
@click.option("--no-progress", is_flag=True, help="No progress bar (none is drawn off a TTY).")
def predict(
    model_uri: str,
    input_path: str,
    output_path: str,
    input_format: str | None,
    output_format: str | None,
    chunk_rows: int,
    predictions_only: bool,
    prediction_column: str,
    env_manager: str,
    env_dir: str | None,
    python: str | None,
    no_progress: bool,
) -> None:
    """Score INPUT with MODEL_URI into OUTPUT, a chunk of rows at a time.

    The output holds the input columns plus the prediction column(s). Rows go through the
    model's signature chunk by chunk; a failure names the rows and leaves no output file.

    \b
    cairn models predict -m models:/churn/3 -i data.parquet -o scored.parquet
    cairn models predict -m ./model -i - --input-format csv -o - --output-format json < x.csv
    """
    try:
        if env_manager != "local":
            _predict_in_env(
                model_uri,
                env_manager,
                env_dir,
                python,
                [
                    *("-i", input_path, "-o", output_path, "--chunk-rows", str(chunk_rows)),
                    *(["--input-format", input_format] if input_format else []),
                    *(["--output-format", output_format] if output_format else []),
                    *(["--predictions-only"] if predictions_only else []),
                    *("--prediction-column", prediction_column),
                    *(["--no-progress"] if no_progress else []),
                ],
            )
            return
        from cairn.serving.batch import predict_file

        show = not no_progress and sys.stderr.isatty()
        with ProgressBar(enabled=show) as bar:
            result = predict_file(
                model_uri,
                input_path,
                output_path,
                input_format=input_format,
                output_format=output_format,
                chunk_rows=chunk_rows,
                predictions_only=predictions_only,
                prediction_column=prediction_column,
                progress=bar,
            )
    except CairnError as exc:  # also when the command is used outside a CairnGroup
        raise click.ClickException(exc.message) from None
    where = "stdout" if result.output == "-" else result.output
    output.note(
        f"Scored {result.rows:,} rows in {result.chunks:,} chunk(s) in {result.seconds:.1f}s "
        f"({result.rows_per_second:,.0f} rows/s) -> {where}"
    )


def _predict_in_env(
    model_uri: str, env_manager: str, env_dir: str | None, python: str | None, args: list[str]
) -> None:
    from cairn.serving.batch_env import predict_in_env

    code = predict_in_env(
        model_uri,
        env_manager=env_manager,
        env_root=env_dir,
        python=python,
        predict_args=args,
        log=output.note,
    )
    if code:
        sys.exit(code)


class ProgressBar:
    """Rows scored, rows/s and bytes of input read (or rows of a known total) on stderr.

    Implements :class:`cairn.serving.batch.Progress`; does nothing when disabled.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._by_bytes = False
        self._started = time.perf_counter()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, total_rows: int | None, total_bytes: int | None) -> None:
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        # Rows known up front (Parquet): the bar counts rows; else it counts bytes read.
        self._by_bytes = total_rows is None and total_bytes is not None
        columns = [
            TextColumn("Scoring"),
            BarColumn(),
            *([DownloadColumn()] if self._by_bytes else []),
            TextColumn("{task.fields[rows]:,} rows  {task.fields[rate]:,.0f} rows/s"),
            TimeElapsedColumn(),
        ]
        self._progress = Progress(*columns, console=Console(stderr=True), transient=False)
        self._task = self._progress.add_task(
            "score", total=total_bytes if self._by_bytes else total_rows, rows=0, rate=0.0
        )
        self._started = time.perf_counter()
        self._progress.start()

    def update(self, rows: int, bytes_read: int | None) -> None:
        if self._progress is None or self._task is None:
            return
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        done = bytes_read if self._by_bytes else rows
        self._progress.update(self._task, completed=done, rows=rows, rate=rows / elapsed)


COMMANDS = [predict]
