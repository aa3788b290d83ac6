"""Harness for the import tests (tests/importer): ``cairn import`` in-process, and its summary."""

from __future__ import annotations

from click.testing import CliRunner, Result

from cairn.cli import main


def cairn_import(*args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(main, ["import", *args])
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def summary(result: Result) -> dict[str, str]:
    """The summary table's rows: label -> text."""
    rows = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows
