"""``cairn run``: run a project's entry point as a tracked run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from cairn.cli import output
from cairn.errors import CairnError

ENV_MANAGERS = ["local", "virtualenv", "uv", "conda", "docker"]
F = TypeVar("F", bound=Callable[..., Any])


def parse_parameters(pairs: tuple[str, ...], option: str = "-P") -> dict[str, str]:
    """``("alpha=0.5", "name=a=b")`` -> ``{"alpha": "0.5", "name": "a=b"}``; clear errors."""
    parameters: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CairnError.invalid(f"{option} {pair!r}: write it as {option} name=value.")
        if key in parameters:
            raise CairnError.invalid(f"{option} {key} is given twice.")
        parameters[key] = value
    return parameters


def project_run_options(func: F) -> F:
    """The options every command that starts project runs shares (`run`, `sweep`): where the
    runs go and which environment their command runs in."""
    options = [
        click.option("--experiment-name", help="Experiment to log into (created if missing)."),
        click.option("--experiment-id", help="Experiment id to log into."),
        click.option(
            "--env-manager",
            type=click.Choice(ENV_MANAGERS),
            default=None,
            help="Where the command runs. Default: what the MLproject declares (python_env: uv "
            "if installed, else virtualenv; conda_env: conda; docker_env: docker), else local.",
        ),
        click.option(
            "--python", metavar="PATH", help="Interpreter for virtualenv/uv environments."
        ),
        click.option(
            "--env-dir",
            type=click.Path(file_okay=False),
            envvar="CAIRN_ENV_ROOT",
            help="Where environments are cached. "
            "[env: CAIRN_ENV_ROOT; default: ~/.cache/cairn/envs]",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command("run")
@click.argument("uri", default=".")
@click.option("-e", "--entry-point", default="main", show_default=True, help="Entry point to run.")
@click.option("-v", "--version", "version", help="Git branch, tag or commit to run (git projects).")
@click.option(
    "-P", "--param", "params", multiple=True, metavar="NAME=VALUE", help="A parameter (repeat)."
)
@project_run_options
@click.option("--run-name", help="Name of the new run.")
@click.option(
    "--detach",
    is_flag=True,
    help="Start the run in the background and return; follow it with `cairn runs logs ID -f`, "
    "stop it with `cairn runs cancel ID`.",
)
def run_(
    uri: str,
    entry_point: str,
    version: str | None,
    params: tuple[str, ...],
    experiment_name: str | None,
    experiment_id: str | None,
    env_manager: str | None,
    run_name: str | None,
    detach: bool,
    python: str | None,
    env_dir: str | None,
) -> None:
    """Run ENTRY_POINT of the project at URI (a directory, git URI or archive; `#subdir`
    selects a directory inside it) as a tracked run.

    \b
    cairn run . -e train -P alpha=0.5 --experiment-name churn
    cairn run https://host/org/repo.git#models/churn --version v1.2 -P alpha=0.1
    """
    from cairn.projects.runner import run

    try:
        submitted = run(
            uri,
            entry_point,
            version=version,
            parameters=parse_parameters(params),
            experiment_name=experiment_name,
            experiment_id=experiment_id,
            env_manager=env_manager,
            detach=detach,
            run_name=run_name,
            python=python,
            env_root=env_dir,
        )
    except KeyboardInterrupt:
        output.note(
            "Interrupted: a command already started was stopped with every process it "
            "started, and its run recorded KILLED."
        )
        raise SystemExit(130) from None
    if detach:
        output.note(
            f"Run {submitted.run_id} started in the background.\n"
            f"  follow:  cairn runs logs {submitted.run_id} --follow\n"
            f"  cancel:  cairn runs cancel {submitted.run_id}"
        )
        output.echo(submitted.run_id)
        return
    status = submitted.get_status()
    output.note(f"Run {submitted.run_id} {status}.")
    output.note(f"  view: {run_page(submitted.tracking_uri, submitted.run_id)}")
    if status != "FINISHED":
        raise SystemExit(1)


def run_page(tracking_uri: str, run_id: str) -> str:
    """Where to see the run: its page on the server, or under `cairn ui` for a local store."""
    if tracking_uri.startswith(("http://", "https://")):
        return f"{tracking_uri.rstrip('/')}/#/runs/{run_id}"
    return f"`cairn ui`, then http://127.0.0.1:5000/#/runs/{run_id}"
