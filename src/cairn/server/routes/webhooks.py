"""MLflow's /webhooks endpoints (placeholder until the webhooks work fills it in)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from cairn.server.context import ServerContext


def routes(ctx: ServerContext) -> list[BaseRoute]:
    return []
