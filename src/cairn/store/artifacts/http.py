"""The artifact proxy's client: artifacts behind a cairn or MLflow server's
``/api/2.0/mlflow-artifacts/artifacts/...``, for ``mlflow-artifacts:/`` and ``http(s)://`` URIs.

Uploads stream from disk and downloads to disk, so files of any size pass in bounded memory.
Names the server lists are confined like any user path before they become local file names: a
hostile server cannot make a download write outside its destination. Credentials, TLS, retries
and error codes are the tracking store's (:mod:`cairn.store.http`): reads, deletes and uploads
that can be sent again (bytes, files re-opened from disk) are retried; streamed uploads are not
once their first chunk is read.
"""

from __future__ import annotations

import functools
import mimetypes
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, unquote, urlparse, urlunparse

import httpx

from cairn.errors import RESOURCE_DOES_NOT_EXIST, CairnError
from cairn.store.artifacts.local import require_local_file
from cairn.store.artifacts.paths import safe_relative_path
from cairn.store.artifacts.protocol import (
    FileInfo,
    child_path,
    chunk_reader,
)
from cairn.store.artifacts.transfer import download_tree, upload_tree
from cairn.store.http import Content, HttpSettings, HttpTransport

SERVICE_PATH = "/api/2.0/mlflow-artifacts/artifacts"
_SERVICE_MARKER = "/mlflow-artifacts/artifacts"  # also under /ajax-api or a path prefix
# A 404 without MLflow's error JSON here is a missing file, not a missing endpoint.
_STATUS_CODES = {404: RESOURCE_DOES_NOT_EXIST}


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
        settings: HttpSettings | None = None,
    ) -> None:
        self.root_uri = root_uri
        self.artifact_uri = resolve_artifact_uri(root_uri, tracking_uri)
        parsed = urlparse(self.artifact_uri)
        before, _, root = parsed.path.partition(_SERVICE_MARKER)
        self._service = urlunparse(
            (parsed.scheme, parsed.netloc, before + _SERVICE_MARKER, "", "", "")
        )
        self.root = safe_relative_path(unquote(root.strip("/")))
        # Requests go to absolute URLs; the server's address only names it in messages.
        self._http = HttpTransport(
            urlunparse((parsed.scheme, parsed.netloc, before, "", "", "")),
            settings,
            prefix="",
            status_codes=_STATUS_CODES,
            client=http_client,
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

    def _put(self, artifact_file: str, content: Content) -> None:
        """A whole file, so repeating the PUT is harmless when ``content`` can be sent again."""
        if not safe_relative_path(artifact_file):
            raise CairnError.invalid("An artifact file needs a name; got the root path.")
        media_type = mimetypes.guess_type(artifact_file)[0] or "application/octet-stream"
        self._http.send(
            "PUT",
            self._url(artifact_file),
            content=content,
            headers={"Content-Type": media_type},
            idempotent=True,
            what=f"Cannot upload {artifact_file!r} to {self.artifact_uri}",
        )

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        self._put(artifact_file, data)

    def write_stream(self, artifact_file: str, chunks: Iterable[bytes]) -> None:
        """Sent with chunked transfer encoding, as the chunks come (so never sent twice)."""
        self._put(artifact_file, iter(chunks))

    def _upload(self, local_file: str, artifact_file: str) -> None:
        # Opened anew for each attempt; httpx reads a file object in 64 KiB blocks and sends
        # its size as Content-Length.
        self._put(artifact_file, functools.partial(open, local_file, "rb"))

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        source = require_local_file(local_file)
        self._upload(str(source), _join(safe_relative_path(artifact_path), source.name))

    def log_artifacts(
        self, local_dir: str, artifact_path: str | None = None, *, progress: Any = None
    ) -> None:
        """Files go up in parallel (see :mod:`cairn.store.artifacts.transfer`)."""
        upload_tree(local_dir, artifact_path, self._upload, progress=progress)

    # -- reading --------------------------------------------------------------------------

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Entries whose names are not one safe path component are dropped."""
        base = safe_relative_path(path)
        response = self._http.send(
            "GET",
            self._service,
            params={"path": self._remote(base)},
            idempotent=True,
            what=f"Cannot list {base!r} under {self.artifact_uri}",
        )
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

    def download_artifacts(
        self, artifact_path: str, dst_path: str | None = None, *, progress: Any = None
    ) -> str:
        return download_tree(self, artifact_path, dst_path, self._download_file, progress=progress)

    def _download_file(self, path: str, dest: Path) -> None:
        response = self._get_stream(path, f"Cannot download {path!r} from {self.artifact_uri}")
        try:
            with open(dest, "wb") as f:
                for chunk in response.iter_bytes():
                    f.write(chunk)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        finally:
            response.close()

    def open_artifact(self, path: str) -> BinaryIO:
        """The response body as a stream; the connection is released on close."""
        response = self._get_stream(path, f"No artifact file at {path!r} under {self.artifact_uri}")
        return chunk_reader(response.iter_bytes(), response.close)

    def _get_stream(self, path: str, what: str) -> httpx.Response:
        """A file's response with the body unread: the caller closes it."""
        return self._http.send("GET", self._url(path), idempotent=True, stream=True, what=what)

    # -- deleting -------------------------------------------------------------------------

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        what = f"Cannot delete {artifact_path!r} under {self.artifact_uri}"
        self._http.send("DELETE", self._url(artifact_path), idempotent=True, what=what)
