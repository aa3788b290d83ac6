"""MLflow's webhook endpoints: create, list, get, update, delete and test.

``POST /webhooks``, ``GET /webhooks``, ``GET|PATCH|DELETE /webhooks/{webhook_id}`` and
``POST /webhooks/{webhook_id}/test``, under both API prefixes (MLflow's protos put them at
2.0). Bodies are MLflow's JSON (:mod:`cairn.webhooks.wire`); the store decides every rule. A
test answers MLflow's ``{"result": ...}`` plus cairn's logged ``delivery``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cairn.errors import CairnError
from cairn.server.actor import run_as_requester
from cairn.server.context import ServerContext
from cairn.server.http import json_response, optional, parse_int, read_json, require
from cairn.server.wire import page_to_json
from cairn.store.registry.protocol import RegistryStore
from cairn.webhooks import wire

Handler = Callable[[RegistryStore, str | None, dict[str, Any]], dict[str, Any]]


def routes(ctx: ServerContext) -> list[BaseRoute]:
    store: RegistryStore = ctx.registry
    one = "/webhooks/{webhook_id}"
    return [
        Route("/webhooks", _endpoint(store, create), methods=["POST"]),
        Route("/webhooks", _endpoint(store, list_), methods=["GET"]),
        Route(one, _endpoint(store, get), methods=["GET"]),
        Route(one, _endpoint(store, update), methods=["PATCH"]),
        Route(one, _endpoint(store, delete), methods=["DELETE"]),
        Route(f"{one}/test", _endpoint(store, test), methods=["POST"]),
    ]


def _endpoint(store: RegistryStore, handler: Handler) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        data = await read_json(request)
        webhook_id = request.path_params.get("webhook_id")

        def call() -> dict[str, Any]:
            return handler(store, webhook_id, data)

        return json_response(await run_as_requester(request, call))

    return endpoint


# ------------------------------------------------------------------ handlers


def create(store: RegistryStore, _: str | None, data: dict[str, Any]) -> dict[str, Any]:
    webhook = store.create_webhook(
        name=require(data, "name"),
        url=require(data, "url"),
        events=_events(require(data, "events", list)),
        description=optional(data, "description"),
        secret=optional(data, "secret"),
        status=_status(data) or "ACTIVE",
    )
    return {"webhook": wire.webhook_to_json(webhook)}


def list_(store: RegistryStore, _: str | None, data: dict[str, Any]) -> dict[str, Any]:
    # Protobuf JSON cannot tell 0 from unset: both mean the default, as in MLflow.
    max_results = parse_int(data.get("max_results") or 100, "max_results")
    page = store.list_webhooks(max_results, optional(data, "page_token") or None)
    return page_to_json("webhooks", [wire.webhook_to_json(w) for w in page], page.token)


def get(store: RegistryStore, webhook_id: str | None, data: dict[str, Any]) -> dict[str, Any]:
    return {"webhook": wire.webhook_to_json(store.get_webhook(_id(webhook_id)))}


def update(store: RegistryStore, webhook_id: str | None, data: dict[str, Any]) -> dict[str, Any]:
    events = optional(data, "events", list)
    webhook = store.update_webhook(
        _id(webhook_id),
        name=optional(data, "name") or None,
        url=optional(data, "url") or None,
        events=_events(events) if events else None,  # an empty list leaves them, as in MLflow
        description=optional(data, "description"),
        secret=optional(data, "secret"),
        status=_status(data),
    )
    return {"webhook": wire.webhook_to_json(webhook)}


def delete(store: RegistryStore, webhook_id: str | None, data: dict[str, Any]) -> dict[str, Any]:
    store.delete_webhook(_id(webhook_id))
    return {}


def test(store: RegistryStore, webhook_id: str | None, data: dict[str, Any]) -> dict[str, Any]:
    event = data.get("event")
    delivery = store.test_webhook(_id(webhook_id), wire.event_from_json(event) if event else None)
    return {
        "result": wire.test_result_to_json(delivery),
        "delivery": wire.delivery_to_json(delivery),
    }


# ------------------------------------------------------------------ JSON in


def _id(webhook_id: str | None) -> str:
    if not webhook_id:
        raise CairnError.invalid("Missing value for required parameter 'webhook_id'.")
    return webhook_id


def _events(items: list[Any]) -> list[str]:
    return [wire.event_from_json(item) for item in items]


def _status(data: dict[str, Any]) -> str | None:
    """MLflow sends the enum's name; its number (protobuf JSON allows it) is read too."""
    status = data.get("status")
    if status in (None, "", "WEBHOOK_STATUS_UNSPECIFIED"):
        return None
    return {1: "ACTIVE", 2: "DISABLED"}.get(status, status) if isinstance(status, int) else status
