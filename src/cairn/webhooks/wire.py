"""Webhooks as MLflow's JSON, both ways (the server's routes and the REST store share it).

MLflow sends an event as ``{"entity": "MODEL_VERSION", "action": "CREATED"}`` (protobuf enum
names) and a status as ``"ACTIVE"``. cairn's events beyond MLflow's (renames, deletions, stage
changes, ...) travel the same way on requests, but a response lists only MLflow's events under
``events`` (the mlflow client fails on actions it does not know) and all of them, as
``"entity.action"`` strings, under ``cairn_events``, with ``has_secret``: fields MLflow's
client ignores.
"""

from __future__ import annotations

from typing import Any

from cairn.entities.webhook import MLFLOW_WEBHOOK_EVENTS, Webhook, WebhookDelivery
from cairn.errors import CairnError
from cairn.webhooks.payloads import split_event


def event_to_json(event: str) -> dict[str, str]:
    entity, action = split_event(event)
    return {"entity": entity.upper(), "action": action.upper()}


def event_from_json(item: Any) -> str:
    """``{"entity": ..., "action": ...}`` as ``"entity.action"`` (validity is the store's)."""
    if isinstance(item, str):  # cairn's own clients may send the dotted name
        return item
    entity = item.get("entity") if isinstance(item, dict) else None
    action = item.get("action") if isinstance(item, dict) else None
    if not isinstance(entity, str) or not isinstance(action, str):
        raise CairnError.invalid(
            f"Invalid webhook event {item!r}: expected "
            '{"entity": "MODEL_VERSION", "action": "CREATED"} or the like.'
        )
    return f"{entity.lower()}.{action.lower()}"


def webhook_to_json(webhook: Webhook) -> dict[str, Any]:
    body: dict[str, Any] = {
        "webhook_id": webhook.webhook_id,
        "name": webhook.name,
        "url": webhook.url,
        "events": [event_to_json(e) for e in webhook.events if e in MLFLOW_WEBHOOK_EVENTS],
        "status": webhook.status,
        "creation_timestamp": webhook.creation_timestamp,
        "last_updated_timestamp": webhook.last_updated_timestamp,
        "cairn_events": list(webhook.events),
        "has_secret": webhook.has_secret,
    }
    if webhook.description:
        body["description"] = webhook.description
    return body


def webhook_from_json(body: dict[str, Any]) -> Webhook:
    events = body.get("cairn_events")
    if not isinstance(events, list):  # an MLflow server
        events = [event_from_json(e) for e in body.get("events") or []]
    return Webhook(
        webhook_id=body["webhook_id"],
        name=body.get("name", ""),
        url=body.get("url", ""),
        events=events,
        status=body.get("status") or "ACTIVE",
        creation_timestamp=int(body.get("creation_timestamp") or 0),
        last_updated_timestamp=int(body.get("last_updated_timestamp") or 0),
        description=body.get("description") or None,
        has_secret=bool(body.get("has_secret", False)),
    )


_DELIVERY_FIELDS = (
    "delivery_id",
    "webhook_id",
    "event",
    "status",
    "attempts",
    "creation_timestamp",
    "payload",
    "event_id",
    "next_attempt_timestamp",
    "last_attempt_timestamp",
    "response_status",
    "error",
)


def delivery_to_json(delivery: WebhookDelivery) -> dict[str, Any]:
    """Every field; unset ones are left out."""
    values = {f: getattr(delivery, f) for f in _DELIVERY_FIELDS}
    return {k: v for k, v in values.items() if v is not None}


def delivery_from_json(body: dict[str, Any]) -> WebhookDelivery:
    return WebhookDelivery(**{f: body[f] for f in _DELIVERY_FIELDS if f in body})


def test_result_to_json(delivery: WebhookDelivery) -> dict[str, Any]:
    """MLflow's ``WebhookTestResult`` for a test ping."""
    result: dict[str, Any] = {"success": delivery.status == "SUCCEEDED"}
    if delivery.response_status is not None:
        result["response_status"] = delivery.response_status
    if delivery.error:
        result["error_message"] = delivery.error
    return result
