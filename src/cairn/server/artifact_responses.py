"""Artifact files as HTTP responses: streamed, typed safely, with the right errors.

Every route that sends an artifact's bytes (the artifact proxy's downloads, the UI's
``/get-artifact``, a logged model's files) goes through :func:`artifact_file_response`, so there
is one policy for what a browser may do with a file that a user uploaded:

* **Downloads** (the proxy, which clients read, never a browser page) are attachments, and any
  type that could run script is sent as ``text/plain``.
* **Previews** (the UI) keep inert types as they are (images, PDF, JSON, CSV, text), serve
  documents that may hold script (HTML, SVG, XML) as themselves but under
  ``Content-Security-Policy: sandbox`` (no script, an opaque origin), never send a script or
  style type (this origin's CSP would let a page load it), and sandbox anything unknown.

``X-Content-Type-Options: nosniff`` holds the browser to those types.
"""

from __future__ import annotations

import mimetypes
import posixpath
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response, StreamingResponse

from cairn.errors import RESOURCE_DOES_NOT_EXIST, CairnError
from cairn.store.artifacts import ArtifactRepository, LocalPaths

BLOCK_SIZE = 1024 * 1024

# Inert types a browser may show inline: the UI previews them.
_INLINE_TYPES = frozenset({
    "text/plain", "text/csv", "text/tab-separated-values", "text/markdown", "application/json",
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp",
    "image/avif", "image/x-icon", "image/vnd.microsoft.icon",
})  # fmt: skip
# Documents that may hold script: only ever inside a sandbox.
_SANDBOXED_TYPES = frozenset({
    "text/html", "application/xhtml+xml", "image/svg+xml", "application/xml", "text/xml",
})  # fmt: skip
# Text that MLflow artifacts come as and mimetypes does not know (MLmodel, conda.yaml, ...).
_TEXT_EXTENSIONS = frozenset({
    "txt", "log", "err", "out", "cfg", "conf", "ini", "toml", "yaml", "yml", "md", "rst", "py",
    "r", "sh", "mlmodel", "mlproject", "requirements", "jsonl", "ipynb",
})  # fmt: skip
_OCTET_STREAM = "application/octet-stream"


def preview_media_type(name: str) -> tuple[str, bool]:
    """``(content type, needs a sandbox)`` for showing artifact ``name`` in a browser."""
    stem, ext = posixpath.splitext(name.lower())
    guess = mimetypes.guess_type(name, strict=False)[0]
    if guess in _SANDBOXED_TYPES:
        return guess, True
    if guess in _INLINE_TYPES:
        return guess, False
    if (ext[1:] or stem) in _TEXT_EXTENSIONS or (guess or "").startswith("text/"):
        return "text/plain", False
    if guess is not None and guess.split("/")[0] in ("audio", "video"):
        return guess, False
    return _OCTET_STREAM, True


def download_media_type(name: str) -> str:
    """The content type of a download: the preview type, but never a document type."""
    media, sandboxed = preview_media_type(name)
    return "text/plain" if sandboxed and media != _OCTET_STREAM else media


def attachment(name: str) -> str:
    """A Content-Disposition for saving as ``name`` (RFC 6266's form for non-ASCII names)."""
    quoted = quote(name)
    if quoted == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename*=utf-8''{quoted}"


def iter_blocks(stream: BinaryIO, size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """A stream in blocks, closed at the end (Starlette iterates it in worker threads)."""
    with stream:
        while block := stream.read(size):
            yield block


async def artifact_file_response(
    repo: ArtifactRepository, rel: str, *, preview: bool, as_attachment: bool
) -> Response:
    """The file ``rel`` of ``repo``, sent from disk or streamed; 400 for a directory and 404
    for nothing there, in messages that never name the server's storage location."""
    name = posixpath.basename(rel)
    headers = {"X-Content-Type-Options": "nosniff"}
    if preview:
        media_type, sandboxed = preview_media_type(name)
        if sandboxed:
            headers["Content-Security-Policy"] = "sandbox"
    else:
        media_type = download_media_type(name)
    if as_attachment or not preview:
        headers["Content-Disposition"] = attachment(name)
    if isinstance(repo, LocalPaths):
        path = await _existing(repo, rel, repo.local_path)
        return FileResponse(path, media_type=media_type, headers=headers)
    stream = await _existing(repo, rel, repo.open_artifact)
    return StreamingResponse(iter_blocks(stream), media_type=media_type, headers=headers)


async def _existing(repo: ArtifactRepository, rel: str, open_file: Callable[[str], Any]) -> Any:
    try:
        return await run_in_threadpool(open_file, rel)
    except CairnError as exc:
        if exc.error_code != RESOURCE_DOES_NOT_EXIST:
            raise
        if await run_in_threadpool(repo.list_artifacts, rel):
            raise CairnError.invalid(
                f"Artifact path refers to a directory, not a file: {rel!r}"
            ) from None
        raise CairnError.not_found(f"No such artifact: {rel!r}") from None
