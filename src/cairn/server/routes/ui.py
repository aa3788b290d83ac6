"""The web UI: ``/`` (the single page) and ``/static/...`` (its modules, styles, libraries).

The page is sent with a Content-Security-Policy that allows scripts from this server only, plus
the one inline script of the page, its import map, by hash. Anything user-controlled that slips
into the DOM as markup therefore cannot run.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from cairn.server.context import ServerContext
from cairn.ui import STATIC_DIR

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S)


def content_security_policy(page: str) -> str:
    """The policy for ``page``: its inline scripts allowed by their sha256, nothing else inline."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(page)
    )
    return (
        "default-src 'self'; "
        f"script-src 'self' {hashes}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; "
        "frame-src 'self'; "
        "object-src 'none'; "
        "base-uri 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'self'"
    )


def routes(ctx: ServerContext) -> list[BaseRoute]:
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    headers = {
        "Content-Security-Policy": content_security_policy(page),
        "Cache-Control": "no-cache",
    }

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers=headers)

    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
