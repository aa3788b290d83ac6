"""The ``cairn`` command line.

Each subcommand lives in its own module, imported only when that subcommand runs, and the
help text below is shown without importing any of them: ``cairn --help`` stays instant and
never loads SQLAlchemy, pandas or rich.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

from cairn.cli.output import CairnGroup
from cairn.version import __version__

__all__ = ["LazyGroup", "main"]

# name -> (module, attribute, one-line help for `cairn --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "artifacts": ("cairn.cli.artifacts", "artifacts", "List and download the files of a run."),
    "db": ("cairn.cli.db", "db", "Create and migrate tracking databases."),
    "experiments": (
        "cairn.cli.experiments",
        "experiments",
        "Create, list, rename, delete and restore experiments.",
    ),
    "gc": ("cairn.cli.gc", "gc", "Permanently remove deleted runs and experiments."),
    "init": (
        "cairn.cli.init",
        "init",
        "Write a starter project (classification or regression) to run with `cairn run`.",
    ),
    "import": (
        "cairn.cli.importer",
        "import_",
        "Copy experiments and runs from an MLflow store or server.",
    ),
    "models": (
        "cairn.cli.models",
        "models",
        "Registered models, versions and aliases; inspect a model, build its environment.",
    ),
    "run": (
        "cairn.cli.projects",
        "run_",
        "Run a project (directory, git repository or archive) as a tracked run.",
    ),
    "runs": (
        "cairn.cli.runs",
        "runs",
        "List, describe, delete, restore, reproduce and cancel runs; show their logs.",
    ),
    "server": (
        "cairn.cli.server",
        "server",
        "Run the tracking server (MLflow-compatible REST API).",
    ),
    "sweep": (
        "cairn.cli.sweep",
        "sweep",
        "Run a hyperparameter sweep over a project: grid, random or Bayesian search.",
    ),
    "ui": ("cairn.cli.server", "ui", "Serve the web UI over the embedded store."),
    "webhooks": ("cairn.cli.webhooks", "webhooks", "Registry webhooks and their deliveries."),
}


class LazyGroup(CairnGroup):
    """A group that imports a subcommand's module the first time the subcommand is needed."""

    def __init__(
        self,
        *args: Any,
        lazy_commands: Mapping[str, tuple[str, str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        module_name, attribute, _ = self.lazy_commands[cmd_name]
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}.{attribute} is not a click command")
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy_commands and name not in self.commands:
                rows.append((name, self.lazy_commands[name][2]))
            else:
                command = self.commands[name]
                if not command.hidden:
                    rows.append((name, command.get_short_help_str(formatter.width)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _set_tracking_uri(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        from cairn.tracking import config

        config.set_tracking_uri(value)


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="cairn", message="%(prog)s %(version)s")
@click.option(
    "--tracking-uri",
    envvar="CAIRN_TRACKING_URI",
    metavar="URI",
    expose_value=False,
    callback=_set_tracking_uri,
    help="Tracking store: sqlite:///path.db, postgresql://... or a path to a SQLite file. "
    "[env: CAIRN_TRACKING_URI; default: sqlite:///cairn.db]",
)
def main() -> None:
    """cairn: track experiments, runs, metrics and artifacts (MLflow-compatible)."""
