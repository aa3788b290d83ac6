"""One delivery attempt: check the destination, POST the signed body, classify the answer.

Worth retrying: network errors (also a name that does not resolve), timeouts, 5xx and 429
(after ``Retry-After`` if the receiver sent one). Not worth it: any other answer that is not
2xx (a redirect is not followed: it could lead anywhere) and refused destinations.
"""

from __future__ import annotations

import email.utils
import os
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from cairn.version import __version__
from cairn.webhooks import rules, signing
from cairn.webhooks.settings import WebhookSettings

_client: httpx.Client | None = None
_client_pid = -1
_client_lock = threading.Lock()


@dataclass(frozen=True)
class Attempt:
    ok: bool
    retryable: bool = False
    response_status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None


def _http() -> httpx.Client:
    """One pooled client per process. Proxies from the environment are not used: the
    destination checked must be the one connected to."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        with _client_lock:
            if _client is None or _client_pid != os.getpid():
                _client = httpx.Client(
                    trust_env=False,
                    follow_redirects=False,
                    headers={"User-Agent": f"cairn-webhooks/{__version__}"},
                    limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
                )
                _client_pid = os.getpid()
    return _client


def send(
    url: str, secret: str | None, delivery_id: str, body: str, settings: WebhookSettings
) -> Attempt:
    """POST ``body`` to ``url`` once; never raises for anything the receiver does."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        refusal = rules.check_destination(
            parts.hostname or "", port, settings.allow_private, settings.timeout_s
        )
    except OSError as exc:
        return Attempt(False, retryable=True, error=f"Cannot resolve {parts.hostname}: {exc}")
    except Exception as exc:  # a bad literal that slipped past validation
        return Attempt(False, error=f"Refused destination: {exc}")
    if refusal:
        return Attempt(False, error=f"Refused destination: {refusal}")
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        signing.DELIVERY_ID_HEADER: delivery_id,
        signing.TIMESTAMP_HEADER: timestamp,
    }
    if secret:
        headers[signing.SIGNATURE_HEADER] = signing.sign(secret, delivery_id, timestamp, body)
    try:
        # Streamed and never read: a receiver's answer is its status, whatever its size.
        with _http().stream(
            "POST", url, content=body.encode(), headers=headers, timeout=settings.timeout_s
        ) as response:
            status = response.status_code
            reason = response.reason_phrase
            retry_after_header = response.headers.get("Retry-After")
    except httpx.TimeoutException:
        return Attempt(False, retryable=True, error=f"No answer within {settings.timeout_s:g} s.")
    except httpx.HTTPError as exc:
        return Attempt(False, retryable=True, error=f"{type(exc).__name__}: {exc}")
    if 200 <= status < 300:
        return Attempt(True, response_status=status)
    retryable = status == 429 or status >= 500
    error = f"HTTP {status} {reason}".rstrip()
    if 300 <= status < 400:
        error += " (redirects are not followed)"
    retry_after = _retry_after(retry_after_header) if retryable else None
    return Attempt(False, retryable, status, error, retry_after)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
