"""Liveness and identity: ``/health``, ``/version``, ``/api/3.0/mlflow/server-info``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from cairn.server.context import ServerContext
from cairn.server.http import json_response
from cairn.version import __version__


def routes(ctx: ServerContext) -> list[BaseRoute]:
    async def health(request: Request) -> Response:
        return PlainTextResponse("OK")

    async def version(request: Request) -> Response:
        return PlainTextResponse(__version__)

    async def server_info(request: Request) -> Response:
        return json_response({"store_type": "SqlStore", "server": "cairn", "version": __version__})

    return [
        Route("/health", health, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/api/3.0/mlflow/server-info", server_info, methods=["GET"]),
    ]
