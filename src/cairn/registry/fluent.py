"""``cairn.register_model``: make a logged or saved model a new version of a registered model.

As in MLflow, the registered model is created on first use, and the version records where it
came from: for ``runs:/<run>/<name>`` the run's logged model of that name (else the files in
the run's artifacts), for ``models:/<model_id>`` that logged model and its run, for
``models:/<name>/<version>`` (or ``@alias``, ``/latest``) the same lineage as that version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cairn.errors import CairnError
from cairn.registry.client import DEFAULT_AWAIT_REGISTRATION_S
from cairn.store.registry.copying import ensure_registered_model

if TYPE_CHECKING:
    from cairn.entities.registry import ModelVersion
    from cairn.tracking.client import TrackingClient


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = DEFAULT_AWAIT_REGISTRATION_S,
    *,
    tags: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """Register the model at ``model_uri`` as a new version of ``name``; returns the version."""
    from cairn.tracking.client import TrackingClient

    return register_with(TrackingClient(), model_uri, name, await_registration_for, tags)


def register_with(
    client: TrackingClient,
    model_uri: str,
    name: str,
    await_registration_for: int = DEFAULT_AWAIT_REGISTRATION_S,
    tags: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """:func:`register_model` through ``client`` (its tracking and registry stores)."""
    if not isinstance(model_uri, str) or not model_uri:
        raise CairnError.invalid(f"Invalid model URI {model_uri!r}: expected a non-empty string.")
    source, run_id, model_id = _lineage(client, model_uri)
    ensure_registered_model(client.registry_store, name)
    return client.create_model_version(
        name,
        source,
        run_id=run_id,
        tags=tags,
        await_creation_for=await_registration_for,
        model_id=model_id,
    )


def _lineage(client: TrackingClient, model_uri: str) -> tuple[str, str | None, str | None]:
    """(source, run_id, model_id) to register ``model_uri`` with: the ids the URI itself
    names; the store finds the rest (a run's logged model, a logged model's run) from the
    source, by the one rule every store shares."""
    from cairn.models.uri import parse_runs_uri
    from cairn.registry.uri import parse_model_uri, resolve_model_version

    if model_uri.startswith("runs:"):
        return model_uri, parse_runs_uri(model_uri)[0], None
    if model_uri.startswith("models:"):
        parsed = parse_model_uri(model_uri)
        if parsed.model_id is not None:
            return model_uri, None, parsed.model_id
        if parsed.version is not None:  # the store takes models:/<name>/<N> as it is
            return model_uri, None, None
        # An alias, stage or 'latest' moves: register the version it names right now.
        version = resolve_model_version(client.registry_store, model_uri)
        return version.model_uri, version.run_id, version.model_id
    return model_uri, None, None
