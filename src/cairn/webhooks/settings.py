"""How deliveries behave: attempts, backoff, timeouts, which addresses may be called.

Read from the environment on every use, so a test (or an operator restarting nothing) can
change them; each is one ``os.environ`` lookup.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cairn.errors import CairnError


def _number(name: str, default: float, minimum: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise CairnError.invalid(f"{name}={text!r} is not a number.") from None
    if value < minimum:
        raise CairnError.invalid(f"{name}={text!r} must be at least {minimum:g}.")
    return value


def _flag(name: str, default: bool) -> bool:
    text = os.environ.get(name, "").strip().lower()
    if not text:
        return default
    return text in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class WebhookSettings:
    max_attempts: int = 5  # then FAILED
    backoff_s: float = 2.0  # the first retry waits about this long, then doubling
    max_backoff_s: float = 300.0
    max_retry_after_s: float = 3600.0  # a receiver's Retry-After is honoured up to this
    timeout_s: float = 10.0  # per attempt
    poll_s: float = 1.0  # how often the dispatcher looks for due retries
    workers: int = 4  # deliveries in flight at once per process and database
    exit_grace_s: float = 3.0  # what a process exiting gives its due deliveries
    allow_private: bool = True  # loopback and private networks (see rules.check_address)

    @property
    def lease_ms(self) -> int:
        """How long a claimed delivery stays claimed: one attempt and a margin. A process
        that dies mid-attempt leaves the row PENDING; it is due again once this has passed."""
        return int((self.timeout_s + 30.0) * 1000)

    @classmethod
    def from_env(cls) -> WebhookSettings:
        d = cls()
        return cls(
            max_attempts=int(_number("CAIRN_WEBHOOK_MAX_ATTEMPTS", d.max_attempts, 1)),
            backoff_s=_number("CAIRN_WEBHOOK_BACKOFF_S", d.backoff_s, 0),
            max_backoff_s=_number("CAIRN_WEBHOOK_MAX_BACKOFF_S", d.max_backoff_s, 0),
            max_retry_after_s=_number("CAIRN_WEBHOOK_MAX_RETRY_AFTER_S", d.max_retry_after_s, 0),
            timeout_s=_number("CAIRN_WEBHOOK_TIMEOUT_S", d.timeout_s, 0.1),
            poll_s=_number("CAIRN_WEBHOOK_POLL_S", d.poll_s, 0.01),
            workers=int(_number("CAIRN_WEBHOOK_WORKERS", d.workers, 1)),
            exit_grace_s=_number("CAIRN_WEBHOOK_EXIT_GRACE_S", d.exit_grace_s, 0),
            allow_private=_flag("CAIRN_WEBHOOK_ALLOW_PRIVATE_IPS", d.allow_private),
        )
