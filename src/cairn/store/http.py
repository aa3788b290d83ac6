"""HTTP to a tracking server, for the REST tracking store and the artifact proxy's client alike.

:class:`HttpSettings` reads the environment variables MLflow's client reads; :class:`HttpTransport`
sends requests over one pooled client with those credentials, retries what is safe to repeat and
turns failed answers into :class:`~cairn.errors.CairnError` with the server's error code.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from cairn import errors
from cairn.errors import CairnError
from cairn.tracking.context import current_user
from cairn.version import __version__

M = TypeVar("M", bound=msgspec.Struct)

API_PREFIX = "/api/2.0/mlflow/"
CAIRN_PREFIX = "/api/2.0/cairn/"  # cairn's own endpoints, which MLflow servers lack
USER_HEADER = "X-Cairn-User"

# Error codes for answers without MLflow's error JSON (a proxy's HTML page, say).
CODE_BY_STATUS = {
    400: errors.BAD_REQUEST,
    401: errors.UNAUTHENTICATED,
    403: errors.PERMISSION_DENIED,
    404: errors.ENDPOINT_NOT_FOUND,
    409: errors.RESOURCE_CONFLICT,
    429: errors.REQUEST_LIMIT_EXCEEDED,
    501: errors.NOT_IMPLEMENTED,
    503: errors.TEMPORARILY_UNAVAILABLE,
}

# A request body: bytes (sent again as they are), a function opening a file (opened again for
# each attempt) or chunks (sent once: no retry once the first chunk has been read).
Content = bytes | Callable[[], IO[bytes]] | Iterable[bytes] | None


# ---------------------------------------------------------------------------- settings


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise CairnError.invalid(f"{name}={text!r} is not a number.") from None


@dataclass(frozen=True)
class HttpSettings:
    """How to reach the server: credentials, TLS, timeouts and retries.

    ``from_env`` reads the variables MLflow users already set, so pointing cairn at an existing
    MLflow deployment needs no new configuration.
    """

    token: str | None = None
    username: str | None = None
    password: str | None = None
    verify: bool | str = True
    timeout_s: float = 120.0
    connect_timeout_s: float = 10.0
    max_retries: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 10.0

    @classmethod
    def from_env(cls) -> HttpSettings:
        verify: bool | str = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or True
        if _env_flag("MLFLOW_TRACKING_INSECURE_TLS"):
            verify = False
        return cls(
            token=os.environ.get("CAIRN_TRACKING_TOKEN")
            or os.environ.get("MLFLOW_TRACKING_TOKEN")
            or None,
            username=os.environ.get("MLFLOW_TRACKING_USERNAME") or None,
            password=os.environ.get("MLFLOW_TRACKING_PASSWORD") or None,
            verify=verify,
            timeout_s=_env_number("MLFLOW_HTTP_REQUEST_TIMEOUT", cls.timeout_s),
            max_retries=int(_env_number("MLFLOW_HTTP_REQUEST_MAX_RETRIES", cls.max_retries)),
            backoff_s=_env_number("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", cls.backoff_s),
        )

    def auth(self) -> httpx.Auth | None:
        if self.username is not None and self.password is not None:
            return httpx.BasicAuth(self.username, self.password)
        return None

    def headers(self) -> dict[str, str]:
        """A bearer token only without basic credentials, which win as in MLflow's client.

        ``X-Cairn-User`` names the user (percent-encoded UTF-8) for a cairn server's registry
        audit trail; MLflow servers ignore it.
        """
        headers = {
            "User-Agent": f"cairn/{__version__}",
            USER_HEADER: quote(current_user(), safe=""),
        }
        if self.token and self.auth() is None:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers


# ---------------------------------------------------------------------------- transport


class _Chunks:
    """A streamed body; ``started`` says whether any of it may have been sent."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.started = False

    def __iter__(self) -> Iterator[bytes]:
        self.started = True
        yield from self._chunks


class HttpTransport:
    """Requests to one server over a pooled keep-alive ``httpx.Client``.

    ``base_url`` is the server's address; relative endpoints are under ``prefix`` (MLflow's
    REST API unless told otherwise), absolute URLs are sent as they are.

    Retries, with exponential backoff and jitter (or the server's ``Retry-After``):

    * a request that never reached the server (connection refused, connect timeout): always;
    * 429 (the server refused the request before doing anything): always;
    * 503 and requests lost after sending: only ``idempotent`` calls, since a repeated
      ``log-batch`` would append its metric points twice;

    and never once a streamed body has begun to be read, since it cannot be read again.

    The client is recreated in a forked child: sockets shared with the parent would interleave.
    A ``client`` given ready-made is used as it is (and closed by :meth:`close`).
    """

    def __init__(
        self,
        base_url: str,
        settings: HttpSettings | None = None,
        *,
        prefix: str = API_PREFIX,
        status_codes: Mapping[int, str] | None = None,
        client: httpx.Client | None = None,
        **client_kw: Any,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.settings = settings or HttpSettings.from_env()
        self._prefix = prefix
        self._codes = {**CODE_BY_STATUS, **(status_codes or {})}
        self._given = client
        self._client_kw = client_kw
        self._lock = threading.Lock()
        self._pid = -1
        self._client: httpx.Client | None = None

    def _get_client(self) -> httpx.Client:
        if self._given is not None:
            return self._given
        client = self._client
        if client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    s = self.settings
                    self._client = httpx.Client(
                        base_url=self.base_url + self._prefix,
                        auth=s.auth(),
                        headers=s.headers(),
                        verify=s.verify,
                        timeout=httpx.Timeout(s.timeout_s, connect=s.connect_timeout_s),
                        limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
                        **self._client_kw,
                    )
                    self._pid = os.getpid()
                client = self._client
        return client  # type: ignore[return-value]

    def close(self) -> None:
        if self._given is not None:
            self._given.close()
        elif self._client is not None and self._pid == os.getpid():
            self._client.close()
        self._client = None

    def call(
        self,
        method: str,
        endpoint: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        idempotent: bool,
        into: type[M] | None = None,
    ) -> Any:
        """The JSON answer of ``method endpoint``, decoded (``into`` a wire message type, if
        given, in one typed pass); an error answer raises CairnError with the server's code."""
        from cairn.server import wire

        content = self.request(method, endpoint, body, params, idempotent)
        try:
            if into is not None:
                return wire.decode_message(content, into)
            return msgspec.json.decode(content)
        except msgspec.DecodeError:
            raise self._not_json(content, method, endpoint) from None
        except msgspec.ValidationError as exc:
            raise CairnError(
                f"{self.base_url} answered {method} {endpoint} with unexpected JSON: {exc}",
                errors.INTERNAL_ERROR,
            ) from None

    def call_cairn(self, method: str, endpoint: str, **kw: Any) -> Any:
        """:meth:`call` of one of cairn's own endpoints (``/api/2.0/cairn/<endpoint>``, always
        idempotent reads); a server without it (MLflow's) is NOT_IMPLEMENTED, saying so."""
        url = f"{self.base_url}{CAIRN_PREFIX}{endpoint}"
        try:
            return self.call(method, url, idempotent=True, **kw)
        except CairnError as exc:
            if exc.error_code == errors.ENDPOINT_NOT_FOUND:
                raise CairnError(
                    f"{self.base_url} does not serve cairn/{endpoint}: it needs a cairn server "
                    "(MLflow's servers have no such endpoint).",
                    errors.NOT_IMPLEMENTED,
                ) from None
            raise

    def request(
        self,
        method: str,
        endpoint: str,
        body: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None,
        idempotent: bool,
    ) -> bytes:
        """The raw body of a successful answer (``b"{}"`` when the server sent none)."""
        content = None if body is None else msgspec.json.encode(body)
        headers = None if body is None else {"Content-Type": "application/json"}
        response = self.send(
            method, endpoint, content=content, params=params, headers=headers, idempotent=idempotent
        )
        return response.content or b"{}"

    def send(
        self,
        method: str,
        url: str,
        *,
        content: Content = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
        stream: bool = False,
        what: str | None = None,
    ) -> httpx.Response:
        """The successful response to one request, retried as the class says.

        With ``stream`` the body is left unread: the caller closes the response. A failure
        raises CairnError; ``what`` (say, "Cannot upload 'x'") starts its message.
        """
        chunks = None
        if content is not None and not isinstance(content, bytes) and not callable(content):
            content = chunks = _Chunks(content)
        client = self._get_client()
        retries = self.settings.max_retries
        for attempt in range(retries + 1):
            opened = content() if callable(content) else None
            try:
                body = content if opened is None else opened
                request = client.build_request(
                    method, url, content=body, params=params, headers=headers
                )
                response = client.send(request, stream=stream)
            except httpx.TransportError as exc:
                never_sent = isinstance(
                    exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
                )
                if _may_repeat(attempt, retries, chunks) and (never_sent or idempotent):
                    self._sleep(attempt, None)
                    continue
                raise CairnError(
                    f"Could not reach the tracking server at {self.base_url} "
                    f"({method} {url}): {type(exc).__name__}: {exc}",
                    errors.TEMPORARILY_UNAVAILABLE,
                ) from None
            finally:
                if opened is not None:
                    opened.close()
            status = response.status_code
            if (status == 429 or (status == 503 and idempotent)) and _may_repeat(
                attempt, retries, chunks
            ):
                response.close()
                self._sleep(attempt, response.headers.get("Retry-After"))
                continue
            if status >= 300:
                try:
                    response.read()
                finally:
                    response.close()
                raise self.error(response, method, url, what)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        s = self.settings
        delay = s.backoff_s * (2**attempt) * random.uniform(0.5, 1.0)
        if retry_after is not None and retry_after.replace(".", "", 1).isdigit():
            delay = float(retry_after)
        time.sleep(min(delay, s.max_backoff_s))

    def _not_json(self, content: bytes, method: str, endpoint: str) -> CairnError:
        text = content[:200].decode(errors="replace")
        return CairnError(
            f"{self.base_url} answered {method} {endpoint} with something other than JSON "
            f"({text!r}): is it a cairn or MLflow tracking server?",
            errors.INTERNAL_ERROR,
        )

    def error(
        self, response: httpx.Response, method: str, url: str, what: str | None = None
    ) -> CairnError:
        """MLflow's ``{"error_code", "message"}`` as a CairnError with the server's code; other
        answers get a code from their HTTP status. ``what`` starts the message if given."""
        status = response.status_code
        try:
            data = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("error_code"), str):
            code = data["error_code"]
            message = str(data.get("message") or code)
            return CairnError(
                message if what is None else f"{what}: HTTP {status}: {message}", code
            )
        if 300 <= status < 400:
            where = response.headers.get("Location", "elsewhere")
            return CairnError.invalid(
                f"The tracking server at {self.base_url} redirected {method} {url} to "
                f"{where}: set the tracking URI to the redirected address."
            )
        text = response.text.strip().replace("\n", " ")[:300]
        detail = f"HTTP {status}: {text}"
        return CairnError(
            f"{what}: {detail}"
            if what
            else f"The tracking server answered {method} {url} with {detail}",
            self._codes.get(status, errors.INTERNAL_ERROR),
        )


def _may_repeat(attempt: int, retries: int, chunks: _Chunks | None) -> bool:
    """Whether a retry is left and the body can be sent again."""
    return attempt < retries and (chunks is None or not chunks.started)
