"""``cairn experiments``: create, list, rename, delete and restore experiments.

Wherever one experiment is meant, an id or a name is accepted (see :func:`resolve_experiment`);
the lookups here are shared with ``cairn runs`` and ``cairn gc``.
"""

from __future__ import annotations

from typing import Any

import click

from cairn.cli import output
from cairn.entities import Experiment, ViewType
from cairn.errors import RESOURCE_DOES_NOT_EXIST, CairnError
from cairn.tracking.client import TrackingClient
from cairn.validation import MAX_RESULTS_SEARCH_EXPERIMENTS

VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}


def view_option(what: str) -> Any:
    return click.option(
        "--view",
        type=click.Choice(list(VIEWS), case_sensitive=False),
        default="active",
        show_default=True,
        help=f"Which {what} to include, by lifecycle stage.",
    )


def filter_option(what: str) -> Any:
    return click.option(
        "--filter",
        "filter_string",
        metavar="FILTER",
        help=f"Search filter over {what}, e.g. \"tags.team = 'nlp'\".",
    )


def order_by_option(example: str) -> Any:
    return click.option(
        "--order-by",
        multiple=True,
        metavar="CLAUSE",
        help=f"Sort clause like {example!r}; repeat for tie-breakers.",
    )


def resolve_experiment(client: TrackingClient, id_or_name: str) -> Experiment:
    """The experiment with this id or, failing that, this name (names may be all digits)."""
    if id_or_name.isascii() and id_or_name.isdigit():
        try:
            return client.get_experiment(id_or_name)
        except CairnError as exc:
            if exc.error_code != RESOURCE_DOES_NOT_EXIST:
                raise
    experiment = client.get_experiment_by_name(id_or_name)
    if experiment is None:
        raise CairnError.not_found(f"No experiment with id or name {id_or_name!r}.")
    return experiment


def all_experiments(client: TrackingClient, view_type: str) -> list[Experiment]:
    """Every experiment in the view, however many pages that takes."""
    found: list[Experiment] = []
    token: str | None = None
    while True:
        page = client.search_experiments(
            view_type, max_results=MAX_RESULTS_SEARCH_EXPERIMENTS, page_token=token
        )
        found.extend(page)
        token = page.token
        if not token:
            return found


def _parse_tags(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE.", ctx, param)
        tags[key] = value
    return tags


def experiment_json(experiment: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "lifecycle_stage": experiment.lifecycle_stage,
        "artifact_location": experiment.artifact_location,
        "creation_time": experiment.creation_time,
        "last_update_time": experiment.last_update_time,
        "tags": dict(sorted(experiment.tags.items())),
    }


@click.group(cls=output.CairnGroup)
def experiments() -> None:
    """Create, list, rename, delete and restore experiments."""


@experiments.command("create")
@click.argument("name")
@click.option(
    "--artifact-location",
    metavar="URI",
    help="Where the experiment's runs store artifacts [default: under the artifact root].",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_parse_tags,
    help="Experiment tag; repeat for more.",
)
def create(name: str, artifact_location: str | None, tags: dict[str, str]) -> None:
    """Create experiment NAME and print its id."""
    output.echo(TrackingClient().create_experiment(name, artifact_location, tags))


@experiments.command("list")
@view_option("experiments")
@filter_option("experiments")
@order_by_option("name ASC")
@click.option(
    "--max-results",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="At most this many experiments.",
)
@output.output_option
def list_experiments(
    view: str, filter_string: str | None, order_by: tuple[str, ...], max_results: int, fmt: str
) -> None:
    """List experiments."""
    found = TrackingClient().search_experiments(
        VIEWS[view.lower()], max_results, filter_string or None, list(order_by) or None
    )
    if fmt == output.JSON:
        output.print_json([experiment_json(e) for e in found])
    elif not found:
        output.note("No experiments found.")
    else:
        output.print_table(
            ["ID", "Name", "Stage", "Created", "Artifact location"],
            (
                [
                    e.experiment_id,
                    e.name,
                    e.lifecycle_stage,
                    output.format_time(e.creation_time),
                    e.artifact_location,
                ]
                for e in found
            ),
            no_wrap=["ID", "Created"],
        )


@experiments.command("rename")
@click.argument("experiment", metavar="ID_OR_NAME")
@click.argument("new_name")
def rename(experiment: str, new_name: str) -> None:
    """Rename an experiment."""
    client = TrackingClient()
    found = resolve_experiment(client, experiment)
    client.rename_experiment(found.experiment_id, new_name)
    output.echo(f"Renamed experiment {found.experiment_id} from {found.name!r} to {new_name!r}.")


@experiments.command("delete")
@click.argument("experiment", metavar="ID_OR_NAME")
def delete(experiment: str) -> None:
    """Mark an experiment and its runs deleted (`cairn gc` removes them for good)."""
    client = TrackingClient()
    found = resolve_experiment(client, experiment)
    client.delete_experiment(found.experiment_id)
    output.echo(f"Deleted experiment {found.experiment_id} ({found.name!r}).")


@experiments.command("restore")
@click.argument("experiment", metavar="ID_OR_NAME")
def restore(experiment: str) -> None:
    """Restore a deleted experiment and the runs deleted with it."""
    client = TrackingClient()
    found = resolve_experiment(client, experiment)
    client.restore_experiment(found.experiment_id)
    output.echo(f"Restored experiment {found.experiment_id} ({found.name!r}).")
