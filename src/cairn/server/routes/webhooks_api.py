"""cairn's own webhook endpoint: a webhook's delivery log (MLflow has none).

``GET /api/2.0/cairn/webhooks/deliveries?webhook_id=...&max_results=...&page_token=...``
(also under ``/ajax-api``) answers ``{"deliveries": [...], "next_page_token": ...}``, newest
first: every attempt's outcome, for seeing why a receiver got nothing.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cairn.server.actor import run_as_requester
from cairn.server.context import ServerContext
from cairn.server.http import json_response, optional, parse_int, read_json, require
from cairn.server.routes.ui_api import PREFIXES
from cairn.server.wire import page_to_json
from cairn.webhooks import wire


def routes(ctx: ServerContext) -> list[BaseRoute]:
    store = ctx.registry

    async def deliveries(request: Request) -> Response:
        data = await read_json(request)
        webhook_id = require(data, "webhook_id")
        max_results = parse_int(data.get("max_results") or 100, "max_results")
        page_token = optional(data, "page_token") or None

        def call() -> dict[str, Any]:
            page = store.list_webhook_deliveries(webhook_id, max_results, page_token)
            deliveries = [wire.delivery_to_json(d) for d in page]
            return page_to_json("deliveries", deliveries, page.token)

        return json_response(await run_as_requester(request, call))

    return [
        Route(f"{prefix}/webhooks/deliveries", deliveries, methods=["GET"]) for prefix in PREFIXES
    ]
