"""Who is changing the registry, for the audit trail and a version's ``user_id``.

Embedded, it is the operating-system user. The server sets it per request
(:func:`acting_as`) from what the request says: the HTTP basic-auth user name, else the
``X-Cairn-User`` header the cairn client sends. Like a run's ``user_id``, it is what the client
declares, not an authenticated identity, until the server has authentication.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from cairn.tracking.context import current_user

_ACTOR: contextvars.ContextVar[str | None] = contextvars.ContextVar("cairn_actor", default=None)


def current_actor() -> str:
    return _ACTOR.get() or current_user()


@contextlib.contextmanager
def acting_as(user: str | None) -> Iterator[None]:
    token = _ACTOR.set(user)
    try:
        yield
    finally:
        _ACTOR.reset(token)
