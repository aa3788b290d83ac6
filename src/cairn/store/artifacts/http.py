"""The artifact proxy's client: artifacts behind a cairn or MLflow server's
``/api/2.0/mlflow-artifacts/artifacts/...``, for ``mlflow-artifacts:/`` and ``http(s)://`` URIs.

Uploads stream from disk and downloads to disk, so files of any size pass in bounded memory.
Names the server lists are confined like any user path before they become local file names: a
hostile server cannot make a download write outside its destination.
"""

from __future__ import annotations

import mimetypes
import os
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, unquote, urlparse, urlunparse

import httpx

from cairn.errors import (
    BAD_REQUEST,
    HTTP_STATUS,
    INTERNAL_ERROR,
    NOT_IMPLEMENTED,
    PERMISSION_DENIED,
    REQUEST_LIMIT_EXCEEDED,
    RESOURCE_CONFLICT,
    RESOURCE_DOES_NOT_EXIST,
    UNAUTHENTICATED,
    CairnError,
)
from cairn.store.artifacts.local import require_local_file, walk_files
from cairn.store.artifacts.paths import safe_relative_path
from cairn.store.artifacts.protocol import (
    FileInfo,
    child_path,
    chunk_reader,
    download_tree,
)

SERVICE_PATH = "/api/2.0/mlflow-artifacts/artifacts"
_SERVICE_MARKER = "/mlflow-artifacts/artifacts"  # also under /ajax-api or a path prefix
_TIMEOUT = httpx.Timeout(300.0, connect=30.0)
_CONNECT_RETRIES = 3
_CODE_BY_STATUS = {
    400: BAD_REQUEST,
    401: UNAUTHENTICATED,
    403: PERMISSION_DENIED,
    404: RESOURCE_DOES_NOT_EXIST,
    409: RESOURCE_CONFLICT,
    429: REQUEST_LIMIT_EXCEEDED,
    501: NOT_IMPLEMENTED,
}


def resolve_artifact_uri(uri: str, tracking_uri: str | None = None) -> str:
    """The ``http(s)://`` URL of an artifact root, as MLflow resolves it.

    ``mlflow-artifacts:/<path>`` becomes ``<tracking URI>/api/2.0/mlflow-artifacts/artifacts/
    <path>``; ``mlflow-artifacts://host:port/<path>`` takes that host with the tracking URI's
    scheme and path prefix. The tracking URI (default: cairn's) must then be http(s).
    """
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https"):
        if _SERVICE_MARKER not in parsed.path:
            raise CairnError.invalid(
                f"Artifact URI {uri!r} is not an artifact proxy URL: its path must contain "
                f"{SERVICE_PATH!r}."
            )
        return uri.rstrip("/")
    if parsed.scheme != "mlflow-artifacts":
        raise CairnError.invalid(f"Not an mlflow-artifacts or http(s) URI: {uri!r}.")
    if parsed.hostname and parsed.hostname.replace(".", "").isdigit() and not parsed.port:
        raise CairnError.invalid(
            f"The mlflow-artifacts URI {uri!r} names a port ({parsed.hostname}) but no host."
        )
    if tracking_uri is None:
        from cairn.tracking.config import get_tracking_uri

        tracking_uri = get_tracking_uri()
    tracking = urlparse(tracking_uri)
    if tracking.scheme not in ("http", "https"):
        raise CairnError.invalid(
            f"The artifact URI {uri!r} is served by a tracking server, but the tracking URI is "
            f"a {tracking.scheme or 'local'!r} URI. Set it to the server's http(s) address "
            "(CAIRN_TRACKING_URI or cairn.set_tracking_uri)."
        )
    path = re.sub(r"//+", "/", f"{tracking.path}/{SERVICE_PATH}/{parsed.path}")
    netloc = parsed.netloc or tracking.netloc
    return urlunparse((tracking.scheme, netloc, path, "", "", "")).rstrip("/")


def _client_options() -> dict[str, Any]:
    """Credentials and TLS settings from the environment variables MLflow's client reads."""
    options: dict[str, Any] = {}
    if token := os.environ.get("MLFLOW_TRACKING_TOKEN"):
        options["headers"] = {"Authorization": f"Bearer {token}"}
    elif user := os.environ.get("MLFLOW_TRACKING_USERNAME"):
        options["auth"] = (user, os.environ.get("MLFLOW_TRACKING_PASSWORD", ""))
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        options["verify"] = False
    elif server_cert := os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH"):
        options["verify"] = server_cert
    return options


def raise_for_error(response: httpx.Response, what: str) -> None:
    """A failed response as CairnError, keeping the server's MLflow error code if it sent one."""
    if response.is_success:
        return
    response.read()
    code, message = "", response.text.strip()
    try:
        body = response.json()
        code, message = str(body.get("error_code", "")), str(body.get("message", message))
    except (ValueError, AttributeError):
        pass
    if code not in HTTP_STATUS:
        code = _CODE_BY_STATUS.get(response.status_code, INTERNAL_ERROR)
    raise CairnError(f"{what}: HTTP {response.status_code}: {message}", code)


def _join(base: str, name: str) -> str:
    return posixpath.join(base, name) if base and name else base or name


class HttpArtifactRepository:
    """An :class:`~cairn.store.artifacts.protocol.ArtifactRepository` behind an artifact proxy.

    Also :class:`StreamWritable`, so a cairn server can itself proxy to another server.
    """

    def __init__(
        self,
        root_uri: str,
        tracking_uri: str | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.root_uri = root_uri
        self.artifact_uri = resolve_artifact_uri(root_uri, tracking_uri)
        parsed = urlparse(self.artifact_uri)
        before, _, root = parsed.path.partition(_SERVICE_MARKER)
        self._service = urlunparse(
            (parsed.scheme, parsed.netloc, before + _SERVICE_MARKER, "", "", "")
        )
        self.root = safe_relative_path(unquote(root.strip("/")))
        self._http = http_client or httpx.Client(
            timeout=_TIMEOUT,
            transport=httpx.HTTPTransport(retries=_CONNECT_RETRIES),
            **_client_options(),
        )

    def __repr__(self) -> str:
        return f"HttpArtifactRepository({self.artifact_uri!r})"

    def close(self) -> None:
        self._http.close()

    def _remote(self, path: str | None) -> str:
        """The path under the server's artifact root; confined first."""
        return _join(self.root, safe_relative_path(path))

    def _url(self, path: str | None) -> str:
        # Percent-encode everything but '/': '+', spaces and non-ASCII arrive as written.
        return f"{self._service}/{quote(self._remote(path), safe='/')}"

    # -- writing --------------------------------------------------------------------------

    def _put(self, artifact_file: str, content: Any) -> None:
        if not safe_relative_path(artifact_file):
            raise CairnError.invalid("An artifact file needs a name; got the root path.")
        media_type = mimetypes.guess_type(artifact_file)[0] or "application/octet-stream"
        response = self._http.put(
            self._url(artifact_file), content=content, headers={"Content-Type": media_type}
        )
        raise_for_error(response, f"Cannot upload {artifact_file!r} to {self.artifact_uri}")

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        self._put(artifact_file, data)

    def write_stream(self, artifact_file: str, chunks: Iterable[bytes]) -> None:
        """Sent with chunked transfer encoding, as the chunks come."""
        self._put(artifact_file, iter(chunks))

    def _upload(self, local_file: str, artifact_file: str) -> None:
        # httpx reads a file object in 64 KiB blocks and sends its size as Content-Length.
        with open(local_file, "rb") as f:
            self._put(artifact_file, f)

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        source = require_local_file(local_file)
        self._upload(str(source), _join(safe_relative_path(artifact_path), source.name))

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        base = safe_relative_path(artifact_path)
        for source, rel in walk_files(local_dir):
            self._upload(source, _join(base, rel))

    # -- reading --------------------------------------------------------------------------

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Entries whose names are not one safe path component are dropped."""
        base = safe_relative_path(path)
        response = self._http.get(self._service, params={"path": self._remote(base)})
        raise_for_error(response, f"Cannot list {base!r} under {self.artifact_uri}")
        infos = []
        for entry in response.json().get("files", []):
            rel = child_path(base, entry.get("path"))
            if rel is None:
                continue
            is_dir = bool(entry.get("is_dir", False))
            size = None if is_dir or "file_size" not in entry else int(entry["file_size"])
            infos.append(FileInfo(rel, is_dir, size))
        infos.sort(key=lambda info: info.path)
        return infos

    def download_artifacts(self, artifact_path: str, dst_path: str | None = None) -> str:
        return download_tree(self, artifact_path, dst_path, self._download_file)

    def _download_file(self, path: str, dest: Path) -> None:
        with self._http.stream("GET", self._url(path)) as response:
            raise_for_error(response, f"Cannot download {path!r} from {self.artifact_uri}")
            try:
                with open(dest, "wb") as f:
                    for chunk in response.iter_bytes():
                        f.write(chunk)
            except BaseException:
                dest.unlink(missing_ok=True)
                raise

    def open_artifact(self, path: str) -> BinaryIO:
        """The response body as a stream; the connection is released on close."""
        request = self._http.build_request("GET", self._url(path))
        response = self._http.send(request, stream=True)
        try:
            raise_for_error(response, f"No artifact file at {path!r} under {self.artifact_uri}")
        except CairnError:
            response.close()
            raise
        return chunk_reader(response.iter_bytes(), response.close)

    # -- deleting -------------------------------------------------------------------------

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        response = self._http.delete(self._url(artifact_path))
        raise_for_error(response, f"Cannot delete {artifact_path!r} under {self.artifact_uri}")
