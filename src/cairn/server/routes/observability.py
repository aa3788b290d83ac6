"""Prometheus /metrics and the OpenAPI document of the API."""

from __future__ import annotations

from starlette.routing import BaseRoute

from cairn.server.context import ServerContext


def routes(ctx: ServerContext) -> list[BaseRoute]:
    return []
