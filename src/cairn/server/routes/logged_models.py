"""MLflow 3 logged models: /logged-models create, get, search, finalize, params, tags, delete."""

from __future__ import annotations

from starlette.routing import BaseRoute

from cairn.server.context import ServerContext


def routes(ctx: ServerContext) -> list[BaseRoute]:
    return []
