"""What a webhook may be: its name, URL, events and status, and which addresses it may call.

Names follow MLflow's rule (so a webhook can move between the two servers). URLs are http or
https: a self-hosted registry's receivers (CI, chat bridges) often live on the same private
network, unlike MLflow's https-and-public-only default.

Addresses: link-local (cloud metadata at 169.254.169.254, fe80::/10), unspecified, multicast
and reserved addresses are always refused, also when wrapped in IPv6 transition formats.
Loopback and private networks are allowed unless ``CAIRN_WEBHOOK_ALLOW_PRIVATE_IPS=false``:
whoever may create webhooks on a server can then make it call its own network, so servers
exposed to untrusted users should set it. Literal addresses are checked when a webhook is
saved; host names are resolved and checked before every attempt (the connection resolves
again, so DNS rebinding within that gap is not prevented).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from cairn.entities.webhook import WEBHOOK_EVENTS, WebhookStatus
from cairn.errors import CairnError

MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 5000
MAX_SECRET_LENGTH = 1024
SCHEMES = ("http", "https")

_NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?", re.IGNORECASE)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def validate_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise CairnError.invalid(
            f"Invalid webhook name {name!r}: 1 to 63 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit."
        )
    return name


def validate_url(url: object, allow_private: bool) -> str:
    if not isinstance(url, str) or not url.strip():
        raise CairnError.invalid(f"Invalid webhook URL {url!r}: it must be a non-empty string.")
    if len(url) > MAX_URL_LENGTH:
        raise CairnError.invalid(
            f"Invalid webhook URL: {len(url)} characters, the limit is {MAX_URL_LENGTH}."
        )
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise CairnError.invalid(f"Invalid webhook URL {url!r}: it contains whitespace.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        raise CairnError.invalid(f"Invalid webhook URL {url!r}: {exc}.") from None
    if parts.scheme not in SCHEMES:
        raise CairnError.invalid(f"Invalid webhook URL {url!r}: the scheme must be http or https.")
    if not host:
        raise CairnError.invalid(f"Invalid webhook URL {url!r}: it has no host.")
    address = literal_address(host)
    if address is not None:
        refusal = address_refusal(address, allow_private)
        if refusal:
            raise CairnError.invalid(f"Invalid webhook URL {url!r}: {refusal}")
    elif host.lower().rstrip(".") == "localhost" and not allow_private:
        raise CairnError.invalid(
            f"Invalid webhook URL {url!r}: loopback addresses are not allowed "
            "(CAIRN_WEBHOOK_ALLOW_PRIVATE_IPS=false)."
        )
    return url


def validate_events(events: object) -> list[str]:
    """The events, each once, in the order given."""
    if isinstance(events, str) or not isinstance(events, Sequence) or not events:
        raise CairnError.invalid("A webhook needs a non-empty list of events.")
    unknown = [e for e in events if e not in WEBHOOK_EVENTS]
    if unknown:
        raise CairnError.invalid(
            f"Unknown webhook event(s) {', '.join(map(repr, unknown))}: "
            f"the events are {', '.join(WEBHOOK_EVENTS)}."
        )
    return list(dict.fromkeys(events))


def validate_event(event: object) -> str:
    return validate_events([event])[0]


def validate_status(status: object) -> str:
    if status not in WebhookStatus.ALL:
        raise CairnError.invalid(
            f"Invalid webhook status {status!r}: it must be ACTIVE or DISABLED."
        )
    return str(status)


def validate_description(description: object) -> str | None:
    """``None`` and "" both mean no description."""
    if description is None or description == "":
        return None
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
        raise CairnError.invalid(
            f"Invalid webhook description: a string of at most {MAX_DESCRIPTION_LENGTH} characters."
        )
    return description


def validate_secret(secret: object) -> str | None:
    """``None`` and "" both mean no secret (no signature header)."""
    if secret is None or secret == "":
        return None
    if not isinstance(secret, str) or len(secret) > MAX_SECRET_LENGTH:
        raise CairnError.invalid(
            f"Invalid webhook secret: a string of at most {MAX_SECRET_LENGTH} characters."
        )
    return secret


# ------------------------------------------------------------------ addresses


def literal_address(host: str) -> IPAddress | None:
    """The address a host that is an IP literal stands for; None for a host name.

    Numeric hosts that are not canonical literals (``127.1``, ``0177.0.0.1``) are refused:
    the resolver and the validator could read them differently.
    """
    if ":" not in host and not host.replace(".", "").isdigit():
        return None
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        raise CairnError.invalid(f"Webhook host {host!r} is not a canonical IP address.") from None


def _unwrap(address: IPAddress) -> IPAddress:
    """The IPv4 address inside IPv6 transition formats (mapped, 6to4, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return inner
    return address


def address_refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why a webhook may not call ``address``; None if it may."""
    ip = _unwrap(address)
    if ip.is_link_local:
        return f"{address} is link-local (cloud metadata lives there)."
    if ip.is_unspecified or ip.is_multicast:
        return f"{address} is not a unicast address."
    cgnat = isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT
    if ip.is_global and not cgnat:
        return None
    if not (ip.is_loopback or ip.is_private or cgnat):
        return f"{address} is a reserved address."
    if allow_private:
        return None
    return f"{address} is not a public address (CAIRN_WEBHOOK_ALLOW_PRIVATE_IPS=false)."


def check_destination(host: str, port: int, allow_private: bool, timeout_s: float) -> str | None:
    """Resolve ``host`` and say why it may not be called (None: it may).

    Raises OSError when the name does not resolve within ``timeout_s`` (a network error:
    worth retrying).
    """
    address = literal_address(host)
    if address is not None:
        return address_refusal(address, allow_private)
    for info in resolve(host, port, timeout_s):
        refusal = address_refusal(ipaddress.ip_address(info[4][0].split("%", 1)[0]), allow_private)
        if refusal:
            return f"{host} resolves to {refusal}"
    return None


def resolve(host: str, port: int, timeout_s: float) -> list[Any]:
    """``getaddrinfo`` with a time limit (it has none of its own, and a claim's lease must
    outlast the attempt). It runs on a daemon thread, left behind if it hangs: a hung
    resolver never keeps the process from exiting."""
    result: list[Any] = []
    failure: list[OSError] = []
    done = threading.Event()

    def run() -> None:
        try:
            result.extend(socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP))
        except OSError as exc:
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="cairn-webhook-dns", daemon=True).start()
    if not done.wait(timeout_s):
        raise TimeoutError(f"no answer within {timeout_s:g} s")
    if failure:
        raise failure[0]
    return result
