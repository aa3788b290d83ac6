"""The registry commands of ``cairn models``: list, describe, versions, register, alias, tag,
stage, rename, delete and history of registered models.

They are plain click commands that :mod:`cairn.cli.models` adds to its group; every call goes
through :class:`~cairn.registry.client.RegistryClient`, so the rules (names, versions, stages,
aliases) and their error messages are the store's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from cairn.cli import output

if TYPE_CHECKING:
    from cairn.entities.registry import ModelVersion, RegisteredModel, RegistryEvent
    from cairn.registry.client import RegistryClient

_VERSION = click.option(
    "--version",
    "version",
    type=click.IntRange(min=1),
    metavar="N",
    help="A version of the model instead of the model itself.",
)


def _client() -> RegistryClient:
    from cairn.registry.client import RegistryClient

    return RegistryClient()


def name_filter(name: str) -> str:
    """``name = '<name>'`` in the search language, whatever quotes the name holds."""
    return "name = '" + name.replace("\\", "\\\\").replace("'", "''") + "'"


def all_versions(client: RegistryClient, name: str) -> list[ModelVersion]:
    """Every version of ``name``, newest first, however many pages that takes."""
    client.get_registered_model(name)  # a missing model is an error, not an empty list
    found: list[ModelVersion] = []
    token: str | None = None
    while True:
        page = client.search_model_versions(
            name_filter(name), order_by=["version_number DESC"], page_token=token
        )
        found.extend(page)
        token = page.token
        if not token or not page:
            return found


def _tags_text(tags: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(tags.items()))


def _aliases_of(model: RegisteredModel) -> str:
    return ", ".join(f"@{a} -> {v}" for a, v in sorted(model.aliases.items()))


# ----------------------------------------------------------------------------- list, describe


@click.command("list")
@click.option(
    "--filter",
    "filter_string",
    metavar="FILTER",
    help="Search filter, e.g. \"name LIKE 'churn%'\" or \"tags.team = 'risk'\".",
)
@click.option(
    "--order-by",
    multiple=True,
    metavar="CLAUSE",
    help="Sort clause like 'name ASC'; repeat for tie-breakers.",
)
@click.option(
    "--max-results",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="At most this many registered models.",
)
@output.output_option
def list_models(
    filter_string: str | None, order_by: tuple[str, ...], max_results: int, fmt: str
) -> None:
    """List registered models."""
    found = _client().search_registered_models(filter_string, max_results, list(order_by))
    if fmt == output.JSON:
        output.print_json(list(found))
    elif not found:
        output.note("No registered models found.")
    else:
        rows = []
        for model in found:
            latest = max((int(v.version) for v in model.latest_versions), default=None)
            rows.append(
                [
                    model.name,
                    "" if latest is None else str(latest),
                    _aliases_of(model),
                    output.format_time(model.last_updated_timestamp),
                    (model.description or "").split("\n", 1)[0],
                ]
            )
        output.print_table(
            ["Name", "Latest", "Aliases", "Updated", "Description"],
            rows,
            no_wrap=["Latest", "Updated"],
        )


@click.command("describe")
@click.argument("name")
@_VERSION
@output.output_option
def describe(name: str, version: int | None, fmt: str) -> None:
    """Show registered model NAME (description, tags, aliases, latest versions), or one version
    of it with --version. (`cairn models inspect` shows a model directory's MLmodel.)"""
    if "/" in name or ":" in name:  # never a registered model name: the old `describe URI`
        raise click.UsageError(
            f"{name!r} looks like a model URI or path; `cairn models inspect {name}` shows a "
            "model's MLmodel. `describe` takes a registered model NAME."
        )
    client = _client()
    if version is not None:
        found = client.get_model_version(name, version)
        if fmt == output.JSON:
            output.print_json(found)
        else:
            output.print_fields(_version_fields(found), title=f"{name} version {version}")
        return
    model = client.get_registered_model(name)
    if fmt == output.JSON:
        output.print_json(model)
        return
    output.print_fields(
        {
            "name": model.name,
            "description": model.description or "",
            "tags": _tags_text(model.tags),
            "aliases": _aliases_of(model),
            "created": output.format_time(model.creation_timestamp),
            "updated": output.format_time(model.last_updated_timestamp),
            "user": model.user_id or "",
        },
        title="Registered model",
    )
    latest = sorted(model.latest_versions, key=lambda v: int(v.version), reverse=True)
    if latest:
        _print_versions(latest, title="Latest version in each stage")
    else:
        output.note(f"{name!r} has no versions yet (`cairn models register MODEL_URI {name}`).")


def _version_fields(version: ModelVersion) -> dict[str, str]:
    return {
        "name": version.name,
        "version": str(version.version),
        "uri": version.model_uri,
        "stage": version.current_stage,
        "status": version.status,
        "aliases": ", ".join(f"@{a}" for a in sorted(version.aliases)),
        "source": version.source,
        "run_id": version.run_id or "",
        "model_id": version.model_id or "",
        "description": version.description or "",
        "tags": _tags_text(version.tags),
        "created": output.format_time(version.creation_timestamp),
        "updated": output.format_time(version.last_updated_timestamp),
        "user": version.user_id or "",
    }


def _print_versions(versions: Iterable[ModelVersion], *, title: str | None = None) -> None:
    output.print_table(
        ["Version", "Stage", "Aliases", "Created", "Run", "Source"],
        (
            [
                str(v.version),
                v.current_stage,
                ", ".join(f"@{a}" for a in sorted(v.aliases)),
                output.format_time(v.creation_timestamp),
                v.run_id or "",
                v.source,
            ]
            for v in versions
        ),
        title=title,
        no_wrap=["Version", "Created", "Run"],
    )


@click.command("versions")
@click.argument("name")
@output.output_option
def versions(name: str, fmt: str) -> None:
    """List the versions of registered model NAME, newest first."""
    found = all_versions(_client(), name)
    if fmt == output.JSON:
        output.print_json(found)
    elif not found:
        output.note(f"{name!r} has no versions yet.")
    else:
        _print_versions(found)


# ----------------------------------------------------------------------------- changes


@click.command("register")
@click.argument("model_uri")
@click.argument("name")
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="KEY=VALUE",
    help="A tag of the new version; repeat for more.",
)
@output.output_option
def register(model_uri: str, name: str, tags: tuple[str, ...], fmt: str) -> None:
    """Register MODEL_URI (models:/<model_id>, runs:/<run>/<name>, ...) as a new version of
    NAME, creating NAME on first use."""
    from cairn.registry.fluent import register_with
    from cairn.tracking.client import TrackingClient

    version_tags = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE.", param_hint="'--tag'")
        version_tags[key] = value
    found = register_with(TrackingClient(), model_uri, name, tags=version_tags or None)
    if fmt == output.JSON:
        output.print_json(found)
    else:
        output.echo(f"Registered {model_uri} as version {found.version} of {name!r}.")
        output.echo(f"Load it with: {found.model_uri}")


@click.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", required=False)
@click.option("--delete", is_flag=True, help="Remove ALIAS from the model.")
def alias(name: str, alias: str, version: str | None, delete: bool) -> None:
    """Point ALIAS of model NAME at VERSION (models:/NAME@ALIAS then loads it), or remove it
    with --delete."""
    client = _client()
    if delete:
        if version is not None:
            raise click.UsageError("Give either VERSION or --delete, not both.")
        client.delete_registered_model_alias(name, alias)
        output.echo(f"Removed alias @{alias} from {name!r}.")
        return
    if version is None:
        raise click.UsageError("Missing VERSION (or --delete to remove the alias).")
    client.set_registered_model_alias(name, alias, version)
    output.echo(f"@{alias} of {name!r} -> version {version} (models:/{name}@{alias}).")


@click.command("tag")
@click.argument("name")
@click.argument("key")
@click.argument("value", required=False)
@_VERSION
@click.option("--delete", is_flag=True, help="Remove the tag KEY.")
def tag(name: str, key: str, value: str | None, version: int | None, delete: bool) -> None:
    """Set tag KEY=VALUE on model NAME (or on one version with --version), or remove it with
    --delete."""
    client = _client()
    what = f"{name!r}" if version is None else f"version {version} of {name!r}"
    if delete:
        if value is not None:
            raise click.UsageError("Give either VALUE or --delete, not both.")
        if version is None:
            client.delete_registered_model_tag(name, key)
        else:
            client.delete_model_version_tag(name, version, key)
        output.echo(f"Removed tag {key!r} from {what}.")
        return
    if value is None:
        raise click.UsageError("Missing VALUE (or --delete to remove the tag).")
    if version is None:
        client.set_registered_model_tag(name, key, value)
    else:
        client.set_model_version_tag(name, version, key, value)
    output.echo(f"Set tag {key}={value} on {what}.")


@click.command("stage")
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@click.argument("stage", metavar="STAGE")
@click.option(
    "--archive-existing",
    is_flag=True,
    help="Move the model's other versions in STAGE to Archived.",
)
def stage(name: str, version: int, stage: str, archive_existing: bool) -> None:
    """Move VERSION of model NAME to STAGE (None, Staging, Production, Archived). Stages are
    MLflow's legacy workflow; aliases are the way forward."""
    found = _client().transition_model_version_stage(name, version, stage, archive_existing)
    output.echo(f"Version {found.version} of {name!r} is now in stage {found.current_stage}.")


@click.command("rename")
@click.argument("name")
@click.argument("new_name")
def rename(name: str, new_name: str) -> None:
    """Rename registered model NAME (its versions and aliases move with it)."""
    _client().rename_registered_model(name, new_name)
    output.echo(f"Renamed registered model {name!r} to {new_name!r}.")


@click.command("delete")
@click.argument("name")
@_VERSION
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(name: str, version: int | None, yes: bool) -> None:
    """Delete registered model NAME with all its versions, or one version with --version.
    The files of logged models stay where they are."""
    client = _client()
    if version is None:
        client.get_registered_model(name)  # a missing model fails before the question
        what = f"registered model {name!r} and all its versions"
    else:
        client.get_model_version(name, version)
        what = f"version {version} of {name!r}"
    if not yes:
        click.confirm(f"Delete {what}?", abort=True, err=True)
    if version is None:
        client.delete_registered_model(name)
    else:
        client.delete_model_version(name, version)
    output.echo(f"Deleted {what}.")


# ----------------------------------------------------------------------------- history


def _change(event: RegistryEvent) -> str:
    """``before → after`` of the fields that changed (all of them for a creation/deletion)."""
    before, after = event.before or {}, event.after or {}
    keys = sorted({*before, *after})
    changed = [k for k in keys if before.get(k) != after.get(k)]
    parts = []
    for key in changed:
        old, new = before.get(key), after.get(key)
        if event.before is None:
            if new not in (None, "", [], {}):  # a creation: what it was created with
                parts.append(f"{key}: {_show(new)}")
        elif event.after is None:
            parts.append(f"{key}: {_show(old)} → (deleted)")
        else:
            parts.append(f"{key}: {_show(old)} → {_show(new)}")
    return "\n".join(parts)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


@click.command("history")
@click.argument("name")
@_VERSION
@click.option(
    "--max-results",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="At most this many events (newest first).",
)
@output.output_option
def history(name: str, version: int | None, max_results: int, fmt: str) -> None:
    """The audit trail of model NAME (or one version): when, who, what, before → after."""
    client = _client()
    events: list[RegistryEvent] = []
    token: str | None = None
    while len(events) < max_results:
        page = client.get_registry_history(
            name, version, max_results=min(max_results - len(events), 1000), page_token=token
        )
        events.extend(page)
        token = page.token
        if not token or not page:
            break
    if fmt == output.JSON:
        output.print_json(events)
    elif not events:
        output.note(
            f"No recorded changes of {name!r}" + (f" version {version}." if version else ".")
        )
    else:
        output.print_table(
            ["When", "Who", "Event", "Version", "Before → after"],
            (
                [
                    output.format_time(e.timestamp),
                    e.user_id,
                    e.event,
                    "" if e.version is None else str(e.version),
                    _change(e),
                ]
                for e in events
            ),
            no_wrap=["When", "Event"],
        )


COMMANDS = (list_models, describe, versions, register, alias, tag, stage, rename, delete, history)
