"""The artifact proxy: MLflow's ``/api/2.0/mlflow-artifacts/...`` over the server's destination.

Clients never learn where bytes live (``--artifacts-destination``: a directory or s3://); they
PUT, GET, list and delete paths relative to it. Bodies stream both ways (uploads into a temp
file renamed into place, or an S3 multipart upload; downloads by sendfile or chunk by chunk),
so a file of any size passes in bounded memory. Every path is confined by
:func:`safe_relative_path` before any store sees it. Multipart endpoints hand out presigned
URLs where the destination supports them and answer NOT_IMPLEMENTED with MLflow's exact message
otherwise (the MLflow client recognizes it and falls back to a plain PUT).
"""

from __future__ import annotations

import posixpath
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import anyio.to_thread
from anyio.from_thread import BlockingPortal
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cairn.errors import NOT_IMPLEMENTED, CairnError
from cairn.server.artifact_responses import artifact_file_response
from cairn.server.context import ServerContext
from cairn.server.http import json_response, parse_int, read_json, require
from cairn.store.artifacts import (
    ArtifactRepository,
    DirectTransfers,
    FileInfo,
    StreamWritable,
    get_artifact_repository,
    safe_relative_path,
)
from cairn.store.artifacts.protocol import UploadedPart

PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")
# Upload bodies reach the store in blocks of about this size (fewer thread hops than the
# server's 64 KiB reads); downloads are read in blocks of it too.
BLOCK_SIZE = 1024 * 1024
# The client matches these messages to fall back to plain transfers: keep them verbatim.
NO_MULTIPART_UPLOAD = "Multipart upload is not supported for the current artifact repository"
NO_MULTIPART_DOWNLOAD = "Multipart download is not supported for the current artifact repository"


def routes(ctx: ServerContext) -> list[BaseRoute]:
    if not ctx.config.serve_artifacts:
        return []
    proxy = ArtifactProxy(get_artifact_repository(ctx.config.artifacts_destination))
    table: list[tuple[str, Callable[[Request], Any], str]] = [
        ("/artifacts", proxy.list, "GET"),
        ("/artifacts/{path:path}", proxy.download, "GET"),
        ("/artifacts/{path:path}", proxy.upload, "PUT"),
        ("/artifacts/{path:path}", proxy.delete, "DELETE"),
        ("/mpu/create/{path:path}", proxy.create_multipart, "POST"),
        ("/mpu/complete/{path:path}", proxy.complete_multipart, "POST"),
        ("/mpu/abort/{path:path}", proxy.abort_multipart, "POST"),
        ("/presigned/{path:path}", proxy.presigned_download, "GET"),
    ]
    return [
        Route(prefix + path, endpoint, methods=[method])
        for prefix in PREFIXES
        for path, endpoint, method in table
    ]


def _file_json(info: FileInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": posixpath.basename(info.path), "is_dir": info.is_dir}
    if info.file_size is not None:
        entry["file_size"] = info.file_size
    return entry


async def _to_store(
    write: Callable[[str, Iterable[bytes]], None], rel: str, request: Request
) -> None:
    """Run the store's blocking ``write`` in a worker thread, fed from the request body.

    The store pulls each block from the event loop when it needs it (through a portal: boto3
    reads from threads of its own), so at most one block is in flight and a slow store slows
    the client down (TCP back-pressure) instead of filling memory. A client that disconnects
    makes the iterator raise, and the store discards the partial file.
    """
    body: AsyncIterator[bytes] = request.stream().__aiter__()

    async def next_block() -> bytes:
        block = bytearray()
        while len(block) < BLOCK_SIZE:
            try:
                block += await body.__anext__()
            except StopAsyncIteration:
                break
        return bytes(block)

    def blocks(portal: BlockingPortal) -> Iterator[bytes]:
        while block := portal.call(next_block):
            yield block

    failure: Exception | None = None
    async with BlockingPortal() as portal:
        try:
            await anyio.to_thread.run_sync(write, rel, blocks(portal))
        except Exception as exc:  # raised below: inside, a task group would wrap it in a group
            failure = exc
    if failure is not None:
        raise failure


class ArtifactProxy:
    """The endpoints over one destination repository, made once per server."""

    def __init__(self, repo: ArtifactRepository) -> None:
        if not isinstance(repo, StreamWritable):
            raise CairnError.invalid(f"{repo!r} cannot be an artifacts destination.")
        self.repo = repo
        self.writer: StreamWritable = repo

    @staticmethod
    def _file_path(request: Request) -> str:
        rel = safe_relative_path(request.path_params["path"])
        if not rel:
            raise CairnError.invalid("The artifact path is empty: it must name a file.")
        return rel

    async def list(self, request: Request) -> Response:
        """Direct children of ``?path=``; a file or a missing path lists as ``{}``."""
        rel = safe_relative_path(request.query_params.get("path"))
        infos = await run_in_threadpool(self.repo.list_artifacts, rel)
        return json_response({"files": [_file_json(info) for info in infos]} if infos else {})

    async def download(self, request: Request) -> Response:
        return await artifact_file_response(
            self.repo, self._file_path(request), preview=False, as_attachment=True
        )

    async def upload(self, request: Request) -> Response:
        await _to_store(self.writer.write_stream, self._file_path(request), request)
        return json_response()

    async def delete(self, request: Request) -> Response:
        rel = safe_relative_path(request.path_params["path"])
        if not rel:  # one request must not wipe every experiment's artifacts
            raise CairnError.invalid("Refusing to delete the root of the artifact store.")
        await run_in_threadpool(self.repo.delete_artifacts, rel)
        return json_response()

    # -- multipart uploads and presigned downloads ------------------------------------------

    async def _multipart_request(self, request: Request) -> tuple[dict[str, Any], str]:
        """The JSON body and the destination file: the URL's directory plus the base name of
        the client's local file (``path``), which may be a Windows path."""
        data = await read_json(request)
        local_name = require(data, "path").replace("\\", "/").rsplit("/", 1)[-1]
        rel = safe_relative_path(posixpath.join(request.path_params["path"], local_name))
        if not local_name or not rel:
            raise CairnError.invalid(f"Invalid value {data['path']!r} for parameter 'path'.")
        return data, rel

    def _direct(self, message: str) -> DirectTransfers:
        if not isinstance(self.repo, DirectTransfers):
            raise CairnError(message, NOT_IMPLEMENTED)
        return self.repo

    async def create_multipart(self, request: Request) -> Response:
        data, rel = await self._multipart_request(request)
        num_parts = parse_int(data.get("num_parts", 1), "num_parts")
        repo = self._direct(NO_MULTIPART_UPLOAD)
        upload = await run_in_threadpool(repo.create_multipart_upload, rel, num_parts)
        return json_response(upload)

    async def complete_multipart(self, request: Request) -> Response:
        data, rel = await self._multipart_request(request)
        repo = self._direct(NO_MULTIPART_UPLOAD)
        parts = []
        for part in require(data, "parts", list):
            if not isinstance(part, dict):
                raise CairnError.invalid(f"Invalid value {part!r} in parameter 'parts'.")
            number = parse_int(part.get("part_number"), "part_number")
            parts.append(UploadedPart(number, str(require(part, "etag"))))
        upload_id = require(data, "upload_id")
        await run_in_threadpool(repo.complete_multipart_upload, rel, upload_id, parts)
        return json_response()

    async def abort_multipart(self, request: Request) -> Response:
        data, rel = await self._multipart_request(request)
        repo = self._direct(NO_MULTIPART_UPLOAD)
        await run_in_threadpool(repo.abort_multipart_upload, rel, require(data, "upload_id"))
        return json_response()

    async def presigned_download(self, request: Request) -> Response:
        rel = self._file_path(request)
        repo = self._direct(NO_MULTIPART_DOWNLOAD)
        presigned = await run_in_threadpool(repo.presigned_download, rel)
        return json_response(presigned)
