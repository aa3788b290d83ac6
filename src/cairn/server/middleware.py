"""Hardening middleware: Host allow list, CORS for the server's own origin, security headers.

One pure ASGI class does all three, so a request pays for a single wrapper and a single scan of
its headers; everything that can be worked out from the configuration is worked out once, in
``__init__``. (``BaseHTTPMiddleware`` would cost a task per request and buffer streamed files.)

Decisions worth knowing:

* **Host check** (against DNS rebinding: a page on ``evil.example`` that re-resolves to
  127.0.0.1 sends ``Host: evil.example``). ``allowed_hosts=None`` (or empty) allows loopback,
  private and link-local addresses and this machine's hostname; a list *replaces* those
  defaults. Entries may carry a port (``name:5000`` matches that port only; without one, any
  port), a leading wildcard (``*.example.com``: subdomains, not the bare domain), a CIDR
  (``10.1.0.0/16``) or be ``*`` (no check). A request without a Host header is refused.
* ``/health`` skips the Host check: load balancers and orchestrators probe it by pod IP or by
  names nobody lists, and it discloses nothing.
* **CORS**: a browser request is same-origin when its Origin's ``host[:port]`` equals the Host
  header (the scheme is ignored so TLS-terminating proxies work). Other origins need to be in
  ``cors_allowed_origins`` (``*`` allows any). A non-allowed cross-origin POST/PUT/PATCH/DELETE
  is refused with 403 before it reaches a handler (a CSRF defence: a form post needs no
  preflight); a non-allowed cross-origin GET is served without CORS headers, so the browser
  hides the answer. Requests without Origin (the MLflow client, curl) are not browser requests.
* ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: SAMEORIGIN`` go on every response,
  including this middleware's own refusals, unless the handler set them itself.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterable
from typing import Any

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cairn.errors import PERMISSION_DENIED
from cairn.server.config import ServerConfig
from cairn.server.routes.observability import metrics_middleware

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Headers = list[tuple[bytes, bytes]]

DEFAULT_HOST_NAMES = ("localhost", "127.0.0.1", "::1")
DEFAULT_NETWORKS = (
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
)
HOST_CHECK_EXEMPT_PATHS = frozenset({"/health"})
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SECURITY_HEADERS: Headers = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
]
CORS_ALLOW_METHODS = b"DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
CORS_MAX_AGE = b"600"
_DEFAULT_PORTS = (":80", ":443")
_HOST_CACHE_SIZE = 1024


def split_host(value: str) -> tuple[str, str | None]:
    """``host[:port]`` as (lower-case name without brackets or trailing dot, port or None)."""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return value.lower(), None
        name, rest = value[1:end], value[end + 1 :]
        port = rest[1:] if rest.startswith(":") else None
    elif value.count(":") > 1:  # a bare IPv6 address
        name, port = value, None
    else:
        name, _, port_text = value.partition(":")
        port = port_text if port_text else None
    return name.rstrip(".").lower(), port


class HostPolicy:
    """Which Host header values are allowed; built once from the configured list."""

    def __init__(self, allowed: Iterable[str] | None) -> None:
        entries = list(allowed or ())
        self.allow_all = "*" in entries
        self.names: set[str] = set()  # any port
        self.names_with_port: set[str] = set()  # "name:port"
        self.suffixes: list[tuple[str, str | None]] = []  # (".example.com", port or None)
        self.networks: list[Network] = []
        if not entries:
            self.names.update(DEFAULT_HOST_NAMES)
            self.names.add(socket.gethostname().rstrip(".").lower())
            self.networks.extend(ipaddress.ip_network(net) for net in DEFAULT_NETWORKS)
        for entry in entries:
            self._add(entry.strip())
        self._allowed_cache: set[str] = set()

    def _add(self, entry: str) -> None:
        if not entry or entry == "*":
            return
        if "/" in entry:
            self.networks.append(ipaddress.ip_network(entry, strict=False))
            return
        name, port = split_host(entry)
        if name.startswith("*."):
            self.suffixes.append((name[1:], port))
        elif port is None:
            self.names.add(name)
        else:
            self.names_with_port.add(f"{name}:{port}")

    def allows(self, host: str) -> bool:
        if self.allow_all or host in self._allowed_cache:
            return True
        allowed = self._allows(host)
        # Only allowed values are cached (bounded): refused ones are attacker-chosen.
        if allowed and len(self._allowed_cache) < _HOST_CACHE_SIZE:
            self._allowed_cache.add(host)
        return allowed

    def _allows(self, host: str) -> bool:
        name, port = split_host(host)
        if name in self.names or f"{name}:{port}" in self.names_with_port:
            return True
        for suffix, suffix_port in self.suffixes:
            if name.endswith(suffix) and (suffix_port is None or suffix_port == port):
                return True
        if not self.networks:
            return False
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


def _strip_default_port(netloc: str) -> str:
    for suffix in _DEFAULT_PORTS:
        if netloc.endswith(suffix):
            return netloc[: -len(suffix)]
    return netloc


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, default port and trailing slash dropped."""
    origin = origin.strip().rstrip("/").lower()
    scheme, sep, netloc = origin.partition("://")
    if not sep:
        return origin
    default = {"http": ":80", "https": ":443"}.get(scheme)
    if default and netloc.endswith(default):
        netloc = netloc[: -len(default)]
    return f"{scheme}://{netloc}"


class CorsPolicy:
    """Which browser origins may call the API: the server's own, plus configured extras."""

    def __init__(self, extra_origins: Iterable[str]) -> None:
        origins = [origin.strip() for origin in extra_origins if origin.strip()]
        self.allow_any = "*" in origins
        self.origins = frozenset(normalize_origin(origin) for origin in origins if origin != "*")

    def allows(self, origin: str, host: str | None) -> bool:
        """Same-origin or listed. ``host`` is the request's Host header."""
        if host is not None and self.same_origin(origin, host):
            return True
        return self.allow_any or normalize_origin(origin) in self.origins

    @staticmethod
    def same_origin(origin: str, host: str) -> bool:
        netloc = origin.partition("://")[2].lower()
        host = host.lower()
        return netloc == host or _strip_default_port(netloc) == _strip_default_port(host)


def _denied(message: str) -> tuple[bytes, Headers]:
    body = json.dumps({"error_code": PERMISSION_DENIED, "message": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
    ]
    return body, headers


class SecurityMiddleware:
    """Host allow list, CORS and security headers for every HTTP request (see module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Iterable[str] | None = None,
        cors_allowed_origins: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.hosts = HostPolicy(allowed_hosts)
        self.cors = CorsPolicy(cors_allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "websocket" and not self.hosts.allows(_host_of(scope) or ""):
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return

        host = origin = preflight_method = None
        for key, value in scope["headers"]:
            if key == b"host":
                host = value.decode("latin-1")
            elif key == b"origin":
                origin = value.decode("latin-1")
            elif key == b"access-control-request-method":
                preflight_method = value

        if scope["path"] not in HOST_CHECK_EXEMPT_PATHS and (
            host is None or not self.hosts.allows(host)
        ):
            shown = "(none)" if host is None else repr(host)
            await _send_denied(
                send,
                f"Invalid Host header {shown}: not an allowed host of this server "
                "(see --allowed-hosts). This guards against DNS rebinding.",
            )
            return

        if origin is None:
            await self.app(scope, receive, self._with_headers(send, []))
            return

        allowed = self.cors.allows(origin, host)
        method = scope["method"]
        if method == "OPTIONS" and preflight_method is not None:
            if not allowed:
                await _send_denied(send, f"Cross-origin requests from {origin!r} are not allowed.")
                return
            await self._preflight(scope, send, origin)
            return
        if not allowed:
            if method in STATE_CHANGING_METHODS:
                await _send_denied(
                    send,
                    f"Cross-origin {method} from {origin!r} refused: the origin is not allowed "
                    "(see --cors-allowed-origins).",
                )
                return
            await self.app(scope, receive, self._with_headers(send, []))
            return
        if host is not None and self.cors.same_origin(origin, host):
            extra: Headers = []
        else:
            extra = [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"vary", b"Origin"),
            ]
        await self.app(scope, receive, self._with_headers(send, extra))

    @staticmethod
    def _with_headers(send: Send, extra: Headers) -> Send:
        additions = [*SECURITY_HEADERS, *extra] if extra else SECURITY_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {key.lower() for key, _ in headers}
                headers.extend(item for item in additions if item[0] not in present)
                message["headers"] = headers
            await send(message)

        return send_with_headers

    @staticmethod
    async def _preflight(scope: Scope, send: Send, origin: str) -> None:
        headers: Headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", CORS_ALLOW_METHODS),
            (b"access-control-max-age", CORS_MAX_AGE),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
            *SECURITY_HEADERS,
        ]
        for key, value in scope["headers"]:
            if key == b"access-control-request-headers":
                headers.append((b"access-control-allow-headers", value))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _host_of(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"host":
            return value.decode("latin-1")
    return None


async def _send_denied(send: Send, message: str) -> None:
    body, headers = _denied(message)
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def build_middleware(config: ServerConfig) -> list[Middleware]:
    """Outermost first: metrics see every request, refused ones included."""
    security: dict[str, Any] = {
        "allowed_hosts": config.allowed_hosts,
        "cors_allowed_origins": config.cors_allowed_origins,
    }
    return [metrics_middleware(), Middleware(SecurityMiddleware, **security)]
