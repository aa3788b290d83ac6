"""Tracking: experiments, runs, metrics, params, tags, batches, datasets, search."""

from __future__ import annotations

from starlette.routing import BaseRoute

from cairn.server.context import ServerContext


def routes(ctx: ServerContext) -> list[BaseRoute]:
    return []
