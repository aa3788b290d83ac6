"""``cairn runs``: list, describe, delete and restore runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import click

from cairn.cli import output
from cairn.cli.experiments import (
    VIEWS,
    all_experiments,
    filter_option,
    order_by_option,
    resolve_experiment,
    view_option,
)
from cairn.cli.projects import ENV_MANAGERS
from cairn.entities import Run, ViewType
from cairn.errors import CairnError
from cairn.tracking.client import TrackingClient

DEFAULT_EXPERIMENT_ID = "0"
# How many metrics and params the table shows when --columns does not choose.
DEFAULT_KEYS_SHOWN = 5

_PREFIXES = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
}
_ATTRIBUTES = (
    "run_id",
    "run_name",
    "experiment_id",
    "user_id",
    "status",
    "start_time",
    "end_time",
    "artifact_uri",
    "lifecycle_stage",
)
_TIME_ATTRIBUTES = ("start_time", "end_time")


def _parse_columns(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[tuple[str, str]]:
    """``metrics.loss,params.lr`` (repeatable) as (kind, key) pairs; bare names are attributes."""
    columns: list[tuple[str, str]] = []
    for item in (part.strip() for value in values for part in value.split(",")):
        if not item:
            continue
        prefix, dot, key = item.partition(".")
        if dot and prefix in _PREFIXES and key:
            kind = _PREFIXES[prefix]
        elif not dot:
            kind, key = "attributes", item
        else:
            raise click.BadParameter(
                f"{item!r}: use metrics.KEY, params.KEY, tags.KEY or an attribute name.", ctx, param
            )
        if kind == "attributes" and key not in _ATTRIBUTES:
            raise click.BadParameter(
                f"{item!r}: unknown attribute; known: {', '.join(_ATTRIBUTES)}.", ctx, param
            )
        columns.append((kind, key))
    return columns


def run_json(run: Run) -> dict[str, Any]:
    """A run with stable keys; times are epoch milliseconds as in MLflow's REST API."""
    info = run.info
    return {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "user_id": info.user_id,
        "status": info.status,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage,
        "metrics": dict(sorted(run.data.metrics.items())),
        "params": dict(sorted(run.data.params.items())),
        "tags": dict(sorted(run.data.tags.items())),
    }


def _datasets_json(run: Run) -> list[dict[str, Any]]:
    return [
        {
            "name": di.dataset.name,
            "digest": di.dataset.digest,
            "source_type": di.dataset.source_type,
            "source": di.dataset.source,
            "schema": di.dataset.schema,
            "profile": di.dataset.profile,
            "tags": {tag.key: tag.value for tag in di.tags},
        }
        for di in run.inputs.dataset_inputs
    ]


def _cell(run: Run, kind: str, key: str) -> str:
    if kind == "metrics":
        return output.format_number(run.data.metrics.get(key))
    if kind == "params":
        return run.data.params.get(key, "")
    if kind == "tags":
        return run.data.tags.get(key, "")
    value = getattr(run.info, key)
    if key in _TIME_ATTRIBUTES:
        return output.format_time(value)
    return "" if value is None else str(value)


def _most_used(runs: Sequence[Run], kind: str) -> tuple[list[str], int]:
    """The keys most runs have (at most DEFAULT_KEYS_SHOWN, sorted) and how many were left out."""
    counts: Counter[str] = Counter()
    for run in runs:
        counts.update(getattr(run.data, kind).keys())
    ranked = sorted(counts, key=lambda key: (-counts[key], key))
    return sorted(ranked[:DEFAULT_KEYS_SHOWN]), max(len(ranked) - DEFAULT_KEYS_SHOWN, 0)


def _print_runs(runs: Sequence[Run], columns: list[tuple[str, str]], many: bool) -> None:
    caption = None
    if not columns:
        metrics, hidden_metrics = _most_used(runs, "metrics")
        params, hidden_params = _most_used(runs, "params")
        columns = [("metrics", k) for k in metrics] + [("params", k) for k in params]
        hidden = [
            output.plural(count, noun)
            for count, noun in ((hidden_metrics, "metric"), (hidden_params, "param"))
            if count
        ]
        if hidden:
            caption = f"Not shown: {' and '.join(hidden)}; choose columns with --columns."
    fixed = ["Run ID", "Name", *(["Experiment"] if many else []), "Status", "Start", "Duration"]
    headers = [*fixed, *(key if kind == "attributes" else f"{kind}.{key}" for kind, key in columns)]
    rows = (
        [
            run.info.run_id[:8],
            run.info.run_name,
            *([run.info.experiment_id] if many else []),
            run.info.status,
            output.format_time(run.info.start_time),
            output.format_duration(run.info.start_time, run.info.end_time),
            *(_cell(run, kind, key) for kind, key in columns),
        ]
        for run in runs
    )
    output.print_table(headers, rows, caption=caption, no_wrap=["Run ID", "Start"])


@click.group(cls=output.CairnGroup)
def runs() -> None:
    """List, describe, delete and restore runs."""


@runs.command("list")
@click.option(
    "--experiment",
    "-e",
    "experiments",
    multiple=True,
    metavar="ID_OR_NAME",
    help='Experiment to search; repeat for more [default: the "Default" experiment, id 0].',
)
@click.option(
    "--all-experiments",
    "every_experiment",
    is_flag=True,
    help="Search every experiment (deleted ones too unless --view is active).",
)
@filter_option("runs")
@order_by_option("metrics.loss ASC")
@click.option(
    "--max-results",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="At most this many runs.",
)
@view_option("runs")
@click.option(
    "--columns",
    multiple=True,
    metavar="COLS",
    callback=_parse_columns,
    help="Extra table columns, comma-separated: metrics.loss,params.lr,tags.team,user_id "
    "[default: up to 5 metrics and 5 params].",
)
@output.output_option
def list_runs(
    experiments: tuple[str, ...],
    every_experiment: bool,
    filter_string: str | None,
    order_by: tuple[str, ...],
    max_results: int,
    view: str,
    columns: list[tuple[str, str]],
    fmt: str,
) -> None:
    """List runs, newest first unless --order-by says otherwise."""
    client = TrackingClient()
    run_view = VIEWS[view.lower()]
    if every_experiment and experiments:
        raise click.UsageError("Give --experiment or --all-experiments, not both.")
    if every_experiment:
        experiment_view = ViewType.ACTIVE_ONLY if run_view == ViewType.ACTIVE_ONLY else ViewType.ALL
        ids = [e.experiment_id for e in all_experiments(client, experiment_view)]
    elif experiments:
        ids = list(dict.fromkeys(resolve_experiment(client, e).experiment_id for e in experiments))
    else:
        ids = [DEFAULT_EXPERIMENT_ID]
    found = (
        client.search_runs(ids, filter_string or "", run_view, max_results, list(order_by) or None)
        if ids
        else []
    )
    if fmt == output.JSON:
        output.print_json([run_json(run) for run in found])
    elif not found:
        output.note("No runs found.")
    else:
        _print_runs(found, columns, many=len(ids) > 1)


@runs.command("describe")
@click.argument("run_id")
@output.output_option
def describe(run_id: str, fmt: str) -> None:
    """Show a run: info, params, latest metrics, tags and datasets."""
    client = TrackingClient()
    run = client.get_run(run_id)
    if fmt == output.JSON:
        output.print_json({**run_json(run), "datasets": _datasets_json(run)})
        return
    info = run.info
    try:
        experiment = f"{info.experiment_id} ({client.get_experiment(info.experiment_id).name})"
    except CairnError:
        experiment = info.experiment_id
    output.print_fields(
        {
            "Run ID": info.run_id,
            "Name": info.run_name,
            "Experiment": experiment,
            "Status": info.status,
            "Lifecycle stage": info.lifecycle_stage,
            "User": info.user_id,
            "Start": output.format_time(info.start_time),
            "End": output.format_time(info.end_time),
            "Duration": output.format_duration(info.start_time, info.end_time),
            "Artifact URI": info.artifact_uri,
        },
        title="Run",
    )
    data = run.data
    sections: list[tuple[str, list[str], list[list[str]]]] = [
        ("Params", ["Key", "Value"], [[k, v] for k, v in sorted(data.params.items())]),
        (
            "Metrics (latest)",
            ["Key", "Value"],
            [[k, output.format_number(v)] for k, v in sorted(data.metrics.items())],
        ),
        ("Tags", ["Key", "Value"], [[k, v] for k, v in sorted(data.tags.items())]),
        (
            "Datasets",
            ["Name", "Digest", "Source type", "Source", "Tags"],
            [
                [
                    d["name"],
                    d["digest"],
                    d["source_type"],
                    d["source"],
                    ", ".join(f"{k}={v}" for k, v in d["tags"].items()),
                ]
                for d in _datasets_json(run)
            ],
        ),
    ]
    for title, headers, rows in sections:
        if rows:
            output.print_table(headers, rows, title=title)


def _for_each(run_ids: tuple[str, ...], action: str, apply: Callable[[str], None]) -> None:
    """Apply to every run even if some fail; any failure makes the exit code 1."""
    failed = 0
    for run_id in run_ids:
        try:
            apply(run_id)
        except CairnError as exc:
            output.error(exc.message)
            failed += 1
        else:
            output.echo(f"{action} run {run_id}.")
    if failed:
        raise click.exceptions.Exit(1)


@runs.command("delete")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
def delete(run_ids: tuple[str, ...]) -> None:
    """Mark runs deleted (`cairn gc` removes them for good)."""
    _for_each(run_ids, "Deleted", TrackingClient().delete_run)


@runs.command("restore")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
def restore(run_ids: tuple[str, ...]) -> None:
    """Restore deleted runs."""
    _for_each(run_ids, "Restored", TrackingClient().restore_run)


@runs.command("reproduce")
@click.argument("run_id")
@click.option(
    "--env-manager",
    type=click.Choice(ENV_MANAGERS),
    help="Override the environment manager the original run used.",
)
def reproduce(run_id: str, env_manager: str | None) -> None:
    """Rerun a project run with its code version, environment and parameters, then compare
    its metrics with the original's."""
    from cairn.projects.reproduction import reproduce as rerun

    done = rerun(run_id, env_manager=env_manager, warn=output.warn)
    status = done.submitted.get_status()
    rows = [
        [
            row.key,
            output.format_number(row.original),
            output.format_number(row.reproduced),
            "" if row.difference is None else f"{row.difference:+.6g}",
            "same" if row.same else ("missing" if row.difference is None else "differs"),
        ]
        for row in done.comparison()
    ]
    if rows:
        output.print_table(
            [
                "Metric",
                f"Original {run_id[:8]}",
                f"Reproduced {done.submitted.run_id[:8]}",
                "Δ",
                "",
            ],
            rows,
            title="Metrics",
        )
    else:
        output.note("Neither run logged metrics.")
    output.note(f"Reproduction {done.submitted.run_id} {status}.")
    if status != "FINISHED":
        raise click.exceptions.Exit(1)


@runs.command("cancel")
@click.argument("run_id")
def cancel(run_id: str) -> None:
    """Cancel a detached project run (`cairn run --detach`): stop its command and every
    process it started; the run is recorded KILLED."""
    from cairn.projects.supervisor import cancel_run

    status = cancel_run(run_id)
    output.echo(f"Run {run_id} {status}.")


@runs.command("logs")
@click.argument("run_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing until the run ends.")
def logs(run_id: str, follow: bool) -> None:
    """Print a project run's output (what its command printed)."""
    from cairn.projects.logs import stream_logs

    stream_logs(run_id, follow=follow, write=lambda text: click.echo(text, nl=False))
