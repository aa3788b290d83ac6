"""The artifact proxy: /api/2.0/mlflow-artifacts/... upload, download, list, delete, multipart."""

from __future__ import annotations

from starlette.routing import BaseRoute

from cairn.server.context import ServerContext


def routes(ctx: ServerContext) -> list[BaseRoute]:
    return []
