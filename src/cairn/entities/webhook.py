"""Webhooks: a URL subscribed to registry events, and the log of deliveries to it."""

from __future__ import annotations

import msgspec

from cairn.entities.registry import REGISTRY_EVENTS


class WebhookStatus:
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    ALL = (ACTIVE, DISABLED)


class DeliveryStatus:
    PENDING = "PENDING"  # waiting for its first or next attempt
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # out of attempts
    ALL = (PENDING, SUCCEEDED, FAILED)


# MLflow's prompt events: accepted so MLflow clients can create such webhooks; cairn has no
# prompts yet, so they never fire.
PROMPT_EVENTS = (
    "prompt.created",
    "prompt_version.created",
    "prompt_tag.set",
    "prompt_tag.deleted",
    "prompt_version_tag.set",
    "prompt_version_tag.deleted",
    "prompt_alias.created",
    "prompt_alias.deleted",
)

# What a webhook may subscribe to: every registry event, and the prompt events.
WEBHOOK_EVENTS = (*REGISTRY_EVENTS, *PROMPT_EVENTS)

# The events MLflow's webhooks know (its clients refuse any other in a webhook's answer).
MLFLOW_WEBHOOK_EVENTS = frozenset(
    {
        "registered_model.created",
        "model_version.created",
        "model_version_tag.set",
        "model_version_tag.deleted",
        "model_version_alias.created",
        "model_version_alias.deleted",
        *PROMPT_EVENTS,
    }
)


class Webhook(msgspec.Struct, frozen=True):
    webhook_id: str
    name: str
    url: str
    events: list[str]
    status: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    has_secret: bool = False  # the secret itself is never read back


class WebhookDelivery(msgspec.Struct, frozen=True):
    delivery_id: str
    webhook_id: str
    event: str
    status: str
    attempts: int
    creation_timestamp: int
    payload: str  # the JSON body sent
    event_id: int | None = None
    next_attempt_timestamp: int | None = None
    last_attempt_timestamp: int | None = None
    response_status: int | None = None
    error: str | None = None
