"""Hardening middleware: Host allow list, CORS for the server's own origin, security headers."""

from __future__ import annotations

from starlette.middleware import Middleware

from cairn.server.config import ServerConfig


def build_middleware(config: ServerConfig) -> list[Middleware]:
    return []
