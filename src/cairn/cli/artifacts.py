"""``cairn artifacts``: look at and fetch the files a run logged."""

from __future__ import annotations

import os

import click

from cairn.cli import output
from cairn.tracking.client import TrackingClient

_run_id_option = click.option("--run-id", required=True, metavar="RUN_ID", help="The run.")


@click.group(cls=output.CairnGroup)
def artifacts() -> None:
    """List and download the files of a run."""


@artifacts.command("list")
@_run_id_option
@click.option("--path", default="", metavar="PATH", help="Directory to list [default: the root].")
@output.output_option
def list_artifacts(run_id: str, path: str, fmt: str) -> None:
    """List the entries of one artifact directory (not recursive)."""
    infos = TrackingClient().list_artifacts(run_id, path or None)
    if fmt == output.JSON:
        output.print_json(
            [{"path": i.path, "is_dir": i.is_dir, "file_size": i.file_size} for i in infos]
        )
    elif not infos:
        output.note("No artifacts found.")
    else:
        output.print_table(
            ["Path", "Type", "Size"],
            (
                [
                    i.path + ("/" if i.is_dir else ""),
                    "dir" if i.is_dir else "file",
                    output.format_size(i.file_size),
                ]
                for i in infos
            ),
        )


@artifacts.command("download")
@_run_id_option
@click.option(
    "--path", default="", metavar="PATH", help="File or directory to fetch [default: all]."
)
@click.option(
    "--dst",
    type=click.Path(file_okay=False, writable=True),
    help="Local directory to copy into [default: a new temporary directory].",
)
def download(run_id: str, path: str, dst: str | None) -> None:
    """Copy artifacts to a local directory and print the local path."""
    output.echo(os.path.abspath(TrackingClient().download_artifacts(run_id, path, dst)))
