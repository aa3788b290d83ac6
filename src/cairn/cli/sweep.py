"""``cairn sweep``: a hyperparameter sweep over a project's entry point (see
:mod:`cairn.projects.sweeps` for the search-space syntax and what is recorded)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cairn.cli import output
from cairn.cli.projects import project_run_options

if TYPE_CHECKING:
    from cairn.projects.sweeps import SweepResult, TrialResult


@click.command("sweep")
@click.argument("uri", default=".")
@click.option("-e", "--entry-point", default="main", show_default=True, help="Entry point to run.")
@click.option("-v", "--version", "version", help="Git branch, tag or commit to run (git projects).")
@click.option(
    "-P",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUES",
    help="A dimension of the search (repeat): a,b,c (choices); lo..hi (integers inclusive, "
    "or a continuous float range); lo..hi:step; log:lo..hi (log-uniform); one value (fixed).",
)
@click.option(
    "--strategy",
    type=click.Choice(["grid", "random", "bayes"]),
    default="grid",
    show_default=True,
    help="grid: every combination; random: uniform sampling; bayes: Optuna's TPE.",
)
@click.option("--trials", type=int, help="Number of trials for random and bayes. [default: 10]")
@click.option("--metric", default="loss", show_default=True, help="Metric that ranks the trials.")
@click.option(
    "--goal",
    type=click.Choice(["minimize", "maximize"]),
    default="minimize",
    show_default=True,
)
@click.option(
    "--max-parallel", type=int, default=1, show_default=True, help="Trials running at once."
)
@click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: trials run on this machine; ray: each trial is a task on a Ray cluster.",
)
@click.option(
    "--ray-address",
    envvar="RAY_ADDRESS",
    help="Ray cluster to use with --backend ray. [env: RAY_ADDRESS; default: start a local one]",
)
@click.option(
    "--seed",
    type=int,
    help="Seed for random and bayes: the same proposals again (bayes: with --max-parallel 1).",
)
@project_run_options
@click.option("--run-name", help="Name of the sweep's run (trials are NAME-0, NAME-1, ...).")
@output.output_option
def sweep(
    uri: str,
    entry_point: str,
    version: str | None,
    params: tuple[str, ...],
    strategy: str,
    trials: int | None,
    metric: str,
    goal: str,
    max_parallel: int,
    backend: str,
    ray_address: str | None,
    seed: int | None,
    experiment_name: str | None,
    experiment_id: str | None,
    env_manager: str | None,
    run_name: str | None,
    python: str | None,
    env_dir: str | None,
    fmt: str,
) -> None:
    """Run ENTRY_POINT of the project at URI once per point of a search space, each trial a
    child run of the sweep's run, and mark the trial with the best METRIC.

    \b
    cairn sweep . -e train -P alpha=0.01,0.1,1 -P depth=3..6 --max-parallel 4
    cairn sweep . -e train -P alpha=log:1e-4..1 -P depth=2..8 --strategy bayes --trials 30
    cairn sweep . -e train -P alpha=0..1:0.25 --backend ray --ray-address auto
    """
    from cairn.projects.sweeps import sweep as run_sweep

    def progress(trial: TrialResult) -> None:
        params = " ".join(f"{k}={v}" for k, v in trial.params.items())
        if trial.status == "SCHEDULED":
            output.note(f"trial {trial.index} started: {params}")
            return
        value = "" if trial.value is None else f" {metric}={output.format_number(trial.value)}"
        why = f" ({trial.error})" if trial.error else ""
        output.note(f"trial {trial.index} {trial.status}{value}{why}")

    try:
        result = run_sweep(
            uri,
            entry_point,
            space=list(params),
            strategy=strategy,
            trials=trials,
            metric=metric,
            goal=goal,
            max_parallel=max_parallel,
            backend=backend,
            version=version,
            experiment_name=experiment_name,
            experiment_id=experiment_id,
            env_manager=env_manager,
            python=python,
            env_root=env_dir,
            seed=seed,
            run_name=run_name,
            ray_address=ray_address,
            on_trial=progress,
        )
    except KeyboardInterrupt:
        output.note("Sweep interrupted: running trials were cancelled, the sweep run is KILLED.")
        raise SystemExit(130) from None
    if fmt == output.JSON:
        output.print_json(_as_json(result))
    else:
        _print_summary(result)
    if result.best is None:
        output.error(
            f"No trial finished with metric {metric!r} logged; see what each trial printed "
            "with `cairn runs logs RUN_ID`."
        )
        raise SystemExit(1)


def _as_json(result: SweepResult) -> dict[str, object]:
    return {
        "parent_run_id": result.parent_run_id,
        "experiment_id": result.experiment_id,
        "status": result.status,
        "metric": result.metric,
        "goal": result.goal,
        "best_run_id": result.best_run_id,
        "trials": [
            {
                "index": t.index,
                "run_id": t.run_id,
                "status": t.status,
                "params": t.params,
                "value": t.value,
                "best": t.best,
                "error": t.error,
            }
            for t in result.trials
        ],
    }


def _print_summary(result: SweepResult) -> None:
    """The trials as a table, the best row highlighted; then where the sweep is recorded."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    names = list(dict.fromkeys(k for t in result.trials for k in t.params))
    table = Table(
        title=Text(
            f"Sweep {result.parent_run_id} ({result.status}): {result.goal} {result.metric}"
        ),
        title_justify="left",
    )
    for column in ("trial", "run_id", "status", *names, result.metric):
        table.add_column(Text(column), no_wrap=column == "run_id", overflow="fold")
    for trial in result.trials:
        cells = [
            str(trial.index),
            trial.run_id or "",
            trial.status,
            *(trial.params.get(n, "") for n in names),
            output.format_number(trial.value),
        ]
        table.add_row(*(Text(c) for c in cells), style="bold green" if trial.best else None)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=10_000)
    console.print(table)
    best = result.best
    if best is not None:
        params = " ".join(f"{k}={v}" for k, v in best.params.items())
        output.echo(
            f"Best: trial {best.index}, run {best.run_id}, "
            f"{result.metric}={output.format_number(best.value)} ({params})"
        )
