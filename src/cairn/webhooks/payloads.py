"""The JSON a receiver gets: MLflow's envelope around the event's data.

``{"entity": "model_version", "action": "created", "timestamp": "<ISO 8601, UTC>",
"data": {...}}``; the data of MLflow's events has MLflow's fields (versions as strings).
The body is built once, when the event is queued, and sent unchanged on every attempt, so
its signature and the receiver's de-duplication (by ``X-MLflow-Delivery-Id``) hold.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from cairn.clock import now_ms


def split_event(event: str) -> tuple[str, str]:
    entity, _, action = event.rpartition(".")
    return entity, action


def envelope(event: str, data: dict[str, Any], timestamp_ms: int | None = None) -> str:
    """The request body for ``event`` (the time is when it happened: now unless given)."""
    entity, action = split_event(event)
    ms = now_ms() if timestamp_ms is None else timestamp_ms
    when = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    body = {
        "entity": entity,
        "action": action,
        "timestamp": when.isoformat(timespec="milliseconds"),
        "data": data,
    }
    return msgspec.json.encode(body).decode()


_MODEL = "example_model"
_TAGS = {"example_key": "example_value"}

# Test pings carry an example of the event's data, as MLflow's do.
_EXAMPLES: dict[str, dict[str, Any]] = {
    "registered_model.created": {
        "name": _MODEL,
        "tags": _TAGS,
        "description": "An example registered model",
    },
    "registered_model.updated": {"name": _MODEL, "description": "A new description"},
    "registered_model.renamed": {"name": "renamed_model", "old_name": _MODEL},
    "registered_model.deleted": {"name": _MODEL},
    "registered_model_tag.set": {"name": _MODEL, "key": "example_key", "value": "example_value"},
    "registered_model_tag.deleted": {"name": _MODEL, "key": "example_key"},
    "model_version.created": {
        "name": _MODEL,
        "version": "1",
        "source": "models:/m-0123456789abcdef0123456789abcdef",
        "run_id": "0123456789abcdef0123456789abcdef",
        "tags": _TAGS,
        "description": "An example model version",
    },
    "model_version.updated": {"name": _MODEL, "version": "1", "description": "New"},
    "model_version.stage_changed": {"name": _MODEL, "version": "1", "stage": "Production"},
    "model_version.deleted": {"name": _MODEL, "version": "1"},
    "model_version_tag.set": {
        "name": _MODEL,
        "version": "1",
        "key": "example_key",
        "value": "example_value",
    },
    "model_version_tag.deleted": {"name": _MODEL, "version": "1", "key": "example_key"},
    "model_version_alias.created": {"name": _MODEL, "alias": "champion", "version": "1"},
    "model_version_alias.deleted": {"name": _MODEL, "alias": "champion"},
    "prompt.created": {"name": "example_prompt", "tags": _TAGS, "description": "A prompt"},
    "prompt_version.created": {
        "name": "example_prompt",
        "version": "1",
        "template": "Hello {{name}}!",
        "tags": _TAGS,
        "description": "A prompt version",
    },
    "prompt_tag.set": {"name": "example_prompt", "key": "example_key", "value": "example_value"},
    "prompt_tag.deleted": {"name": "example_prompt", "key": "example_key"},
    "prompt_version_tag.set": {
        "name": "example_prompt",
        "version": "1",
        "key": "example_key",
        "value": "example_value",
    },
    "prompt_version_tag.deleted": {"name": "example_prompt", "version": "1", "key": "example_key"},
    "prompt_alias.created": {"name": "example_prompt", "alias": "production", "version": "1"},
    "prompt_alias.deleted": {"name": "example_prompt", "alias": "production"},
}


def example_data(event: str) -> dict[str, Any]:
    return dict(_EXAMPLES.get(event, {"name": _MODEL}))
