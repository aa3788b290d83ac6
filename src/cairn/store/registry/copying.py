"""Copying a model version into another registered model: the same steps for every store.

Also home of :func:`ensure_registered_model`, the create-if-missing step that copying and
``register_model`` share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn import validation
from cairn.errors import RESOURCE_ALREADY_EXISTS, CairnError

if TYPE_CHECKING:
    from cairn.entities.registry import ModelVersion, RegisteredModel
    from cairn.store.registry.protocol import RegistryStore


def ensure_registered_model(store: RegistryStore, name: str) -> RegisteredModel | None:
    """Create registered model ``name`` unless it exists (as MLflow's client does before a
    new version); the new model, or None when it was there already."""
    try:
        return store.create_registered_model(name)
    except CairnError as exc:
        if exc.error_code != RESOURCE_ALREADY_EXISTS:
            raise
        return None


def copy_model_version(
    store: RegistryStore, name: str, version: int | str, dst_name: str
) -> ModelVersion:
    """A new version of ``dst_name`` (created if missing) from ``models:/<name>/<version>``,
    with the source's files, run, logged model, tags, run link and description, as MLflow
    copies (promotion across environments: ``staging.churn`` to ``prod.churn``)."""
    src = store.get_model_version(name, version)
    dst_name = validation.validate_model_name(dst_name, "dst_name")
    ensure_registered_model(store, dst_name)
    return store.create_model_version(
        dst_name,
        f"models:/{src.name}/{src.version}",
        run_id=src.run_id,
        tags=src.tags,
        run_link=src.run_link,
        description=src.description,
        model_id=src.model_id,
    )
