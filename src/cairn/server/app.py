"""The ASGI application: stores, route modules, error handlers, middleware. Nothing else.

``create_app(config)`` is what ``cairn server`` runs in each worker and what the tests drive
through a real ASGI client.
"""

from __future__ import annotations

import importlib

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Router

from cairn.server.config import ServerConfig
from cairn.server.context import ServerContext
from cairn.server.http import EXCEPTION_HANDLERS
from cairn.server.middleware import build_middleware
from cairn.server.routes import API_PREFIXES, API_ROUTE_MODULES, ROOT_ROUTE_MODULES
from cairn.server.routing import ExactPathRouter
from cairn.store.registry import get_registry_store
from cairn.store.tracking import get_tracking_store


def create_app(config: ServerConfig | None = None) -> Starlette:
    config = config or ServerConfig()
    store = get_tracking_store(config.backend_store_uri, config.experiment_artifact_root)
    registry = get_registry_store(config.backend_store_uri)  # the same database
    ctx = ServerContext(config=config, tracking=store, registry=registry)
    api: list[BaseRoute] = []
    for name in API_ROUTE_MODULES:
        api.extend(importlib.import_module(name).routes(ctx))
    # Root routes first: some live under an API prefix (the OpenAPI document) and a mount
    # would otherwise claim every path below it.
    routes: list[BaseRoute] = []
    for name in ROOT_ROUTE_MODULES:
        routes.extend(importlib.import_module(name).routes(ctx))
    routes.extend(Mount(prefix, app=Router(api)) for prefix in API_PREFIXES)
    app = Starlette(
        middleware=build_middleware(config),
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )
    app.router = ExactPathRouter(routes)
    app.state.context = ctx
    return app
