"""Who a request says it comes from, for the registry's audit trail and ``user_id`` fields.

The server has no authentication of its own, so this is what the caller declares: the user
name of an ``Authorization: Basic`` header (what MLflow's client sends when
``MLFLOW_TRACKING_USERNAME`` is set, usually checked by a proxy in front), else the
``X-Cairn-User`` header cairn's client sends (percent-encoded UTF-8), else ``"anonymous"``.
The server's own OS user would be wrong for every remote caller.

A proxy that authenticates with basic auth but passes other headers through would let any
caller claim any name in ``X-Cairn-User``: ``cairn server --no-trust-user-header`` (or
``CAIRN_SERVER_TRUST_USER_HEADER=false``) ignores that header, so only basic auth names a user.
A declared name must be valid UTF-8 without control characters (it ends up in the audit
trail and in webhook payloads); anything else is refused with INVALID_PARAMETER_VALUE.

Route modules run their store calls through :func:`run_as_requester`, which sets the actor
(:func:`cairn.store.registry.actor.acting_as`) around the call in the worker thread.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from cairn.errors import CairnError
from cairn.store.http import USER_HEADER
from cairn.store.registry.actor import acting_as

T = TypeVar("T")

ANONYMOUS = "anonymous"
MAX_USER_LENGTH = 256  # the user_id columns of the registry tables


def request_actor(request: Request) -> str:
    """The user name the request declares (see the module doc); too long a name, or one with
    control characters, is refused."""
    user = _basic_auth_user(request.headers.get("Authorization"))
    if not user and _trusts_user_header(request):
        user = _header_user(request)
    if not user:
        return ANONYMOUS
    if len(user) > MAX_USER_LENGTH:
        raise CairnError.invalid(
            f"The declared user name is {len(user)} characters long; the limit is "
            f"{MAX_USER_LENGTH}."
        )
    if not user.isprintable():
        raise CairnError.invalid(
            f"The declared user name {user!r} holds control or non-printable characters."
        )
    return user


def _trusts_user_header(request: Request) -> bool:
    context = getattr(request.app.state, "context", None)
    return context is None or context.config.trust_user_header


def _basic_auth_user(header: str | None) -> str | None:
    """The user of ``Basic base64(user:password)``; anything else (a bearer token, a malformed
    value) declares no user."""
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, _ = decoded.partition(":")
    return user.strip() if sep else None


def _header_user(request: Request) -> str | None:
    value = request.headers.get(USER_HEADER)
    if not value:
        return None
    try:
        return unquote(value, errors="strict").strip()
    except UnicodeDecodeError:
        raise CairnError.invalid(
            f"The declared user ({USER_HEADER} header {value!r}) is not percent-encoded UTF-8."
        ) from None


async def run_as_requester(request: Request, func: Callable[..., T], *args: object) -> T:
    """``func(*args)`` in a worker thread, acting as the request's user."""
    with acting_as(request_actor(request)):
        # The worker thread runs in a copy of this context, so it sees the actor.
        return await run_in_threadpool(func, *args)
