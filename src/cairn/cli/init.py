"""``cairn init``: write a starter project (MLproject, environment, train/evaluate steps,
bundled data and a README) that ``cairn run`` runs as it is."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from cairn.projects.init import DEFAULT_TEMPLATE, init_project, template_names


@click.command("init")
@click.argument("directory", default=".", type=click.Path(path_type=Path))
@click.option(
    "-t",
    "--template",
    type=click.Choice(template_names()),
    default=DEFAULT_TEMPLATE,
    show_default=True,
    help="What the project learns: a classifier or a regressor, on bundled example data.",
)
@click.option("--name", help="Project name (MLproject, README). Default: the directory's name.")
@click.option(
    "--force", is_flag=True, help="Overwrite files the template writes that exist already."
)
def init(directory: Path, template: str, name: str | None, force: bool) -> None:
    """Write a starter project into DIRECTORY (default: the current one; created if missing).

    \b
      cairn init my-churn                       # classification
      cairn init my-forecast --template regression
      cd my-churn && cairn run .                # train, then evaluate, as one tracked run
    """
    result = init_project(directory, template=template, name=name, force=force)
    where = click.format_filename(result.directory)
    click.echo(f"Created the {result.template} project {result.name!r} in {where}:")
    for rel in result.files:
        note = "  (overwritten)" if rel in result.overwritten else ""
        click.echo(f"  {rel}{note}")
    click.echo("\nNext (README.md says more):")
    if result.directory != Path.cwd().resolve():
        click.echo(f"  cd {shlex.quote(str(directory))}")
    click.echo("  cairn run .    # train, then evaluate, as one tracked run")
    click.echo("  cairn ui       # look at the run")
