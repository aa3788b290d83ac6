"""The options of commands that can run in a model's own environment (``serve``, ``predict``):
``--env-manager local|virtualenv|uv``, ``--env-dir`` and ``--python``, written once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def environment_options(doing: str) -> Callable[[F], F]:
    """Add the three options to a command that does ``doing`` ("serve", "predict")."""

    def decorate(func: F) -> F:
        func = click.option(
            "--python", metavar="PATH", help="Interpreter to build the environment with."
        )(func)
        func = click.option(
            "--env-dir",
            type=click.Path(file_okay=False),
            envvar="CAIRN_ENV_ROOT",
            help="Where environments are cached. "
            "[env: CAIRN_ENV_ROOT; default: ~/.cache/cairn/envs]",
        )(func)
        return click.option(
            "--env-manager",
            type=click.Choice(["local", "virtualenv", "uv"]),
            default="local",
            show_default=True,
            help=f"local: {doing} in this Python; virtualenv/uv: in the model's own "
            "environment, rebuilt from its python_env.yaml (cached by its hash).",
        )(func)

    return decorate
