"""How deliveries behave: attempts, backoff, timeouts, which addresses may be called.

Read from the environment on every use (:meth:`WebhookSettings.from_env`, the one place they
are parsed), so a test (or an operator restarting nothing) can change them. A bad value is an
operator's typo, not a user's error: it is logged once and its default used, everywhere alike
(the API never answers 400 for it, the dispatcher never stops over it).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass

_log = logging.getLogger("cairn.webhooks")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_warned: set[tuple[str, str]] = set()


def _ignored(name: str, text: str, why: str, default: object) -> None:
    if (name, text) not in _warned:  # once per value, not on every read
        _warned.add((name, text))
        _log.warning("Ignoring %s=%r (%s): using the default, %s.", name, text, why, default)


def _number(name: str, default: float, minimum: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        _ignored(name, text, "not a number", default)
        return default
    if not math.isfinite(value) or value < minimum:
        _ignored(name, text, f"it must be at least {minimum:g}", default)
        return default
    return value


def _flag(name: str, default: bool) -> bool:
    text = os.environ.get(name, "").strip().lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    _ignored(name, text, "not true or false", default)
    return default


@dataclass(frozen=True)
class WebhookSettings:
    max_attempts: int = 5  # then FAILED
    backoff_s: float = 2.0  # the first retry waits about this long, then doubling
    max_backoff_s: float = 300.0
    max_retry_after_s: float = 3600.0  # a receiver's Retry-After is honoured up to this
    timeout_s: float = 10.0  # per attempt (name resolution and the request, each)
    sweep_s: float = 30.0  # the longest the dispatcher goes without looking at the outbox
    workers: int = 4  # deliveries in flight at once per process and database
    exit_grace_s: float = 3.0  # what a process exiting gives its due deliveries
    allow_private: bool = True  # loopback and private networks (see rules.check_address)

    @property
    def lease_ms(self) -> int:
        """How long a claimed delivery stays claimed: one attempt (resolution and request)
        and a margin. A process that dies mid-attempt leaves the row PENDING; it is due again
        once this has passed."""
        return int((2 * self.timeout_s + 30.0) * 1000)

    @classmethod
    def from_env(cls) -> WebhookSettings:
        """The settings in effect; never raises (see the module's docstring)."""
        d = cls()
        return cls(
            max_attempts=int(_number("CAIRN_WEBHOOK_MAX_ATTEMPTS", d.max_attempts, 1)),
            backoff_s=_number("CAIRN_WEBHOOK_BACKOFF_S", d.backoff_s, 0),
            max_backoff_s=_number("CAIRN_WEBHOOK_MAX_BACKOFF_S", d.max_backoff_s, 0),
            max_retry_after_s=_number("CAIRN_WEBHOOK_MAX_RETRY_AFTER_S", d.max_retry_after_s, 0),
            timeout_s=_number("CAIRN_WEBHOOK_TIMEOUT_S", d.timeout_s, 0.1),
            sweep_s=_number("CAIRN_WEBHOOK_SWEEP_S", d.sweep_s, 0.01),
            workers=int(_number("CAIRN_WEBHOOK_WORKERS", d.workers, 1)),
            exit_grace_s=_number("CAIRN_WEBHOOK_EXIT_GRACE_S", d.exit_grace_s, 0),
            allow_private=_flag("CAIRN_WEBHOOK_ALLOW_PRIVATE_IPS", d.allow_private),
        )
