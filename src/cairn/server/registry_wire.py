"""The model registry's REST JSON, both directions: MLflow's messages and cairn's own.

MLflow's registry protobufs as its server writes them: versions are strings, tags are
``[{"key", "value"}]``, a registered model's aliases ``[{"alias", "version"}]`` and a version's
aliases a list of names; empty lists are left out, while a version's ``description``,
``run_id`` and ``run_link`` are always written (``""`` when unset), as MLflow's server does.
The server answers with the ``*_to_json`` functions and the REST registry store reads the
answers back with the ``*_from_json`` functions, so each message's shape is written down once.

Requests are read into the message structs below by the routes (every JSON type checked by
:mod:`cairn.server.wire`), then :func:`check_required`: a required string that is empty counts
as missing, as in MLflow (protobuf JSON cannot tell the two apart).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from cairn.entities import PagedList
from cairn.entities.registry import (
    ModelVersion,
    ModelVersionLineage,
    ModelVersionStatus,
    RegisteredModel,
    RegistryEvent,
)
from cairn.errors import CairnError
from cairn.server.wire import Int64, KeyValue, Message, key_values_from_json, parse_message

M = TypeVar("M", bound=msgspec.Struct)

# Protobuf enums travel as their names or their numbers (MLflow's ModelVersionStatus enum).
_STATUS_NUMBERS = {
    1: ModelVersionStatus.PENDING_REGISTRATION,
    2: ModelVersionStatus.FAILED_REGISTRATION,
    3: ModelVersionStatus.READY,
}


# ------------------------------------------------------------------ requests


class NameRef(Message):
    """GetRegisteredModel, DeleteRegisteredModel."""

    name: str


class CreateRegisteredModel(NameRef):
    tags: list[KeyValue] = []
    description: str | None = None


class RenameRegisteredModel(NameRef, kw_only=True):
    new_name: str


class UpdateRegisteredModel(NameRef):
    description: str | None = None


class SearchRegistry(Message):
    """SearchRegisteredModels and SearchModelVersions."""

    filter: str = ""
    max_results: Int64 | None = None
    order_by: list[str] = []
    page_token: str = ""


class GetLatestVersions(NameRef):
    stages: list[str] = []


class SetRegisteredModelTag(NameRef, kw_only=True):
    key: str
    value: str = ""


class DeleteRegisteredModelTag(NameRef, kw_only=True):
    key: str


class AliasRef(NameRef, kw_only=True):
    """GetModelVersionByAlias, DeleteRegisteredModelAlias."""

    alias: str


class SetRegisteredModelAlias(AliasRef, kw_only=True):
    version: str


class CreateModelVersion(NameRef, kw_only=True):
    source: str
    run_id: str = ""
    tags: list[KeyValue] = []
    run_link: str = ""
    description: str | None = None
    model_id: str = ""


class VersionRef(NameRef, kw_only=True):
    """GetModelVersion, DeleteModelVersion, GetModelVersionDownloadUri, and lineage."""

    version: str


class UpdateModelVersion(VersionRef, kw_only=True):
    description: str | None = None


class TransitionModelVersionStage(VersionRef, kw_only=True):
    stage: str
    # Required in MLflow's proto, but its client leaves ``false`` out (the proto default).
    archive_existing_versions: bool = False


class SetModelVersionTag(VersionRef, kw_only=True):
    key: str
    value: str = ""


class DeleteModelVersionTag(VersionRef, kw_only=True):
    key: str


class RegistryHistory(Message):
    """cairn's audit-trail reads: every event, a model's, or one version's."""

    name: str = ""
    version: str = ""
    max_results: Int64 | None = None
    page_token: str = ""


@functools.cache
def _required_strings(message_type: type[msgspec.Struct]) -> tuple[str, ...]:
    return tuple(
        f.encode_name for f in msgspec.structs.fields(message_type) if f.required and f.type is str
    )


def check_required(message: M) -> M:
    """An empty required string is a missing one, as MLflow's server reports it."""
    for field in _required_strings(type(message)):
        if getattr(message, field) == "":
            raise CairnError.invalid(f"Missing value for required parameter '{field}'.")
    return message


# ------------------------------------------------------------------ entities to JSON


def model_version_to_json(version: ModelVersion) -> dict[str, Any]:
    """A ModelVersion message, fields in the order MLflow's server writes them."""
    out: dict[str, Any] = {
        "name": version.name,
        "version": str(version.version),
        "creation_timestamp": version.creation_timestamp,
        "last_updated_timestamp": version.last_updated_timestamp,
    }
    if version.user_id:
        out["user_id"] = version.user_id
    out["current_stage"] = version.current_stage
    out["description"] = version.description or ""
    out["source"] = version.source
    out["run_id"] = version.run_id or ""
    out["status"] = version.status
    if version.status_message:
        out["status_message"] = version.status_message
    if version.tags:
        out["tags"] = [{"key": k, "value": v} for k, v in version.tags.items()]
    out["run_link"] = version.run_link or ""
    if version.aliases:
        out["aliases"] = list(version.aliases)
    if version.model_id:
        out["model_id"] = version.model_id
    return out


def registered_model_to_json(model: RegisteredModel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": model.name,
        "creation_timestamp": model.creation_timestamp,
        "last_updated_timestamp": model.last_updated_timestamp,
    }
    if model.user_id:
        out["user_id"] = model.user_id
    if model.description:
        out["description"] = model.description
    if model.latest_versions:
        out["latest_versions"] = [model_version_to_json(v) for v in model.latest_versions]
    if model.tags:
        out["tags"] = [{"key": k, "value": v} for k, v in model.tags.items()]
    if model.aliases:
        out["aliases"] = [{"alias": a, "version": str(v)} for a, v in model.aliases.items()]
    return out


def registry_event_to_json(event: RegistryEvent) -> dict[str, Any]:
    """cairn's own message: every field, ``null`` where there is nothing (version of a model's
    event, ``before`` of a creation, ``after`` of a deletion)."""
    return msgspec.structs.asdict(event)


def lineage_to_json(lineage: ModelVersionLineage) -> dict[str, Any]:
    return msgspec.structs.asdict(lineage)


# ------------------------------------------------------------------ JSON to entities


class ModelVersionMessage(Message):
    name: str
    version: str | int
    creation_timestamp: Int64 = 0
    last_updated_timestamp: Int64 = 0
    user_id: str = ""
    current_stage: str = "None"
    description: str = ""
    source: str = ""
    run_id: str = ""
    status: str | int = ModelVersionStatus.READY
    status_message: str = ""
    tags: list[KeyValue] = []
    run_link: str = ""
    aliases: list[str] = []
    model_id: str = ""


class AliasMessage(Message):
    alias: str
    version: str | int


class RegisteredModelMessage(Message):
    name: str
    creation_timestamp: Int64 = 0
    last_updated_timestamp: Int64 = 0
    user_id: str = ""
    description: str = ""
    latest_versions: list[ModelVersionMessage] = []
    tags: list[KeyValue] = []
    aliases: list[AliasMessage] = []


def _version_number(value: str | int) -> int:
    try:
        return int(value)
    except ValueError:
        raise CairnError(
            f"The server answered with a model version that is not a number: {value!r}."
        ) from None


def _model_version(msg: ModelVersionMessage) -> ModelVersion:
    status = msg.status
    if type(status) is int:
        status = _STATUS_NUMBERS.get(status, str(status))
    return ModelVersion(
        name=msg.name,
        version=_version_number(msg.version),
        creation_timestamp=msg.creation_timestamp,
        last_updated_timestamp=msg.last_updated_timestamp,
        current_stage=msg.current_stage,
        source=msg.source,
        status=str(status),
        user_id=msg.user_id or None,
        description=msg.description or None,
        run_id=msg.run_id or None,
        model_id=msg.model_id or None,
        run_link=msg.run_link or None,
        status_message=msg.status_message or None,
        tags=key_values_from_json(msg.tags),
        aliases=list(msg.aliases),
    )


def model_version_from_json(data: Mapping[str, Any]) -> ModelVersion:
    return _model_version(parse_message(data, ModelVersionMessage))


def registered_model_from_json(data: Mapping[str, Any]) -> RegisteredModel:
    msg = parse_message(data, RegisteredModelMessage)
    return RegisteredModel(
        name=msg.name,
        creation_timestamp=msg.creation_timestamp,
        last_updated_timestamp=msg.last_updated_timestamp,
        user_id=msg.user_id or None,
        description=msg.description or None,
        tags=key_values_from_json(msg.tags),
        aliases={a.alias: _version_number(a.version) for a in msg.aliases},
        latest_versions=[_model_version(v) for v in msg.latest_versions],
    )


def model_versions_from_json(items: list[Any]) -> list[ModelVersion]:
    return [model_version_from_json(v) for v in items]


def registry_events_from_json(data: Mapping[str, Any]) -> PagedList[RegistryEvent]:
    try:
        events = msgspec.convert(data.get("events") or [], list[RegistryEvent])
    except msgspec.ValidationError as exc:
        raise CairnError(f"The server answered with unexpected registry events: {exc}") from None
    return PagedList(events, data.get("next_page_token") or None)


def lineage_from_json(data: Mapping[str, Any]) -> ModelVersionLineage:
    try:
        return msgspec.convert(data, ModelVersionLineage)
    except msgspec.ValidationError as exc:
        raise CairnError(f"The server answered with an unexpected lineage: {exc}") from None
