"""Everything the CLI prints goes through here: rich tables for people, JSON for programs.

Errors are handled here too: :class:`CairnGroup` turns a :class:`~cairn.errors.CairnError`
raised anywhere below it into ``Error: <message>`` on stderr and exit code 1, so no command
needs its own try/except and users never see a traceback for a failure cairn can explain.

Only click is imported up front; rich and msgspec load when something is printed, which keeps
``cairn --help`` fast.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cairn.errors import CairnError

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])

TABLE = "table"
JSON = "json"


class CairnGroup(click.Group):
    """A click group whose commands report :class:`CairnError` as a one-line error."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CairnError as exc:
            raise click.ClickException(exc.message) from None


def output_option(func: F) -> F:
    """The ``--output table|json`` option every list and describe command takes."""
    return click.option(
        "--output",
        "-o",
        "fmt",
        type=click.Choice([TABLE, JSON], case_sensitive=False),
        default=TABLE,
        show_default=True,
        help="Table for reading, JSON (stable keys, times in epoch milliseconds) for scripts.",
    )(func)


# ----------------------------------------------------------------------------- printing


def print_json(data: Any) -> None:
    """Indented JSON on stdout; NaN and infinities become null, so the output always parses."""
    import msgspec

    click.echo(msgspec.json.format(msgspec.json.encode(data), indent=2).decode())


# Wide enough that tables piped to a file or grep keep one line per row.
_PIPE_WIDTH = 10_000


def _console() -> Console:
    """A new console per call, bound to the current stdout (tests swap it).

    On a terminal rich fits tables to the window; anywhere else rows are never wrapped.
    """
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=_PIPE_WIDTH)
    return console


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    title: str | None = None,
    caption: str | None = None,
    no_wrap: Sequence[str] = (),
) -> None:
    """A rich table; ``no_wrap`` names columns (ids, times) that must never be folded."""
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=title and Text(title),
        caption=caption and Text(caption),
        title_justify="left",
        caption_justify="left",
    )
    for name in columns:
        table.add_column(Text(name), no_wrap=name in no_wrap, overflow="fold")
    for row in rows:
        # Text, not str: user data like "[/x]" must not be read as rich markup.
        table.add_row(*(Text(cell) for cell in row))
    _console().print(table)


def print_fields(fields: Mapping[str, str], *, title: str | None = None) -> None:
    """Key/value pairs as a two-column table without a header (one record, described)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title and Text(title), title_justify="left", show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in fields.items():
        table.add_row(Text(key), Text(value))
    _console().print(table)


def echo(message: str) -> None:
    click.echo(message)


def note(message: str) -> None:
    """Something worth knowing that is not the result: stderr, so pipes only see results."""
    click.echo(message, err=True)


def warn(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


def error(message: str) -> None:
    """Report one failure and carry on (commands acting on many items); exit 1 at the end."""
    click.echo(f"Error: {message}", err=True)


# ----------------------------------------------------------------------------- formatting


def format_time(ms: int | None) -> str:
    """Epoch milliseconds as local wall-clock time, to the second."""
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(start_ms: int | None, end_ms: int | None) -> str:
    """``1h 02m``, ``3m 07s``, ``12.5s``; empty while the run has no end time."""
    if start_ms is None or end_ms is None:
        return ""
    seconds = max(end_ms - start_ms, 0) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def format_number(value: float | None) -> str:
    """Metric values to six significant digits: enough to compare runs, short enough to read."""
    if value is None:
        return ""
    if math.isnan(value):
        return "nan"
    return f"{value:.6g}"


def format_size(size: int | None) -> str:
    if size is None:
        return ""
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
