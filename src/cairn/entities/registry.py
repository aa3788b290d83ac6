"""The model registry: registered models, their versions, and the audit trail of changes."""

from __future__ import annotations

from typing import Any

import msgspec

from cairn.errors import CairnError


class ModelVersionStatus:
    """A version's registration state. cairn registers synchronously: versions are READY."""

    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"
    ALL = (PENDING_REGISTRATION, FAILED_REGISTRATION, READY)


class Stage:
    """MLflow's legacy stages, kept for compatibility; aliases are the way forward.

    Input is matched case-insensitively (``"production"`` is ``Production``), as MLflow does.
    """

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"
    ALL = (NONE, STAGING, PRODUCTION, ARCHIVED)
    _BY_LOWER = {s.lower(): s for s in ALL}

    @classmethod
    def validate(cls, value: object) -> str:
        stage = cls._BY_LOWER.get(value.lower()) if isinstance(value, str) else None
        if stage is None:
            raise CairnError.invalid(
                f"Invalid model version stage {value!r}; expected one of {', '.join(cls.ALL)}."
            )
        return stage


class ModelVersion(msgspec.Struct, frozen=True):
    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: str
    source: str
    status: str
    user_id: str | None = None
    description: str | None = None
    run_id: str | None = None
    model_id: str | None = None
    run_link: str | None = None
    status_message: str | None = None
    tags: dict[str, str] = {}
    aliases: list[str] = []

    @property
    def model_uri(self) -> str:
        """The URI that loads this version: ``models:/<name>/<version>``."""
        return f"models:/{self.name}/{self.version}"


class RegisteredModel(msgspec.Struct, frozen=True):
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str | None = None
    description: str | None = None
    tags: dict[str, str] = {}
    aliases: dict[str, int] = {}  # alias -> version
    # The newest version in each stage (MLflow's ``latest_versions``).
    latest_versions: list[ModelVersion] = []


class RegistryEvent(msgspec.Struct, frozen=True):
    """One change to a registered model or version: who, when, what, and the fields before and
    after (``None`` for a creation's before and a deletion's after).

    ``event`` names use MLflow's webhook vocabulary, ``<entity>.<action>``: see
    :data:`REGISTRY_EVENTS`.
    """

    event_id: int
    timestamp: int
    user_id: str
    event: str
    name: str
    version: int | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


# Every event the registry records. The ones MLflow's webhooks know are a subset; the rest are
# cairn's (rename, delete, description and stage changes, registered-model tags).
REGISTRY_EVENTS = (
    "registered_model.created",
    "registered_model.updated",  # description
    "registered_model.renamed",
    "registered_model.deleted",
    "registered_model_tag.set",
    "registered_model_tag.deleted",
    "model_version.created",
    "model_version.updated",  # description
    "model_version.stage_changed",
    "model_version.deleted",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
)


class ModelVersionLineage(msgspec.Struct, frozen=True):
    """Where a version came from: its run (and that run's experiment, datasets and git
    commit) and its logged model. Parts the store no longer has are None or empty."""

    name: str
    version: int
    source: str
    run_id: str | None = None
    run_name: str | None = None
    experiment_id: str | None = None
    git_commit: str | None = None
    model_id: str | None = None
    model_name: str | None = None
    datasets: list[dict[str, str]] = []  # {"name", "digest", "context"}
