"""Artifacts in S3 or any S3-compatible store (MinIO, Ceph, moto) under ``s3://bucket/prefix``.

boto3 is an optional dependency (``pip install 'cairn[s3]'``), imported on first use. The
endpoint comes from ``CAIRN_S3_ENDPOINT_URL``, ``MLFLOW_S3_ENDPOINT_URL`` (as MLflow reads it),
``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``; credentials and region from boto3's usual chain.
Keys are ``prefix/<path>`` with every path confined by :func:`safe_relative_path`, so no key
outside the prefix is ever read, written or deleted through this repository.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlparse

from cairn.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    PERMISSION_DENIED,
    RESOURCE_DOES_NOT_EXIST,
    CairnError,
)
from cairn.store.artifacts.local import require_local_file
from cairn.store.artifacts.paths import safe_relative_path
from cairn.store.artifacts.protocol import (
    FileInfo,
    MultipartUpload,
    PartCredential,
    PresignedDownload,
    UploadedPart,
    child_path,
    chunk_reader,
)
from cairn.store.artifacts.transfer import download_tree, upload_tree

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig

ENDPOINT_ENV_VARS = (
    "CAIRN_S3_ENDPOINT_URL",
    "MLFLOW_S3_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
)
# Parts of 8 MiB, at most 4 in flight and 4 buffered: a streamed upload of any size costs
# ~64 MiB at worst. Reads of a streamed download come in blocks of 1 MiB.
PART_SIZE = 8 * 1024 * 1024
_CONCURRENCY = 4
_READ_BLOCK = 1024 * 1024
PRESIGNED_URL_TTL = 3600  # seconds
MAX_PARTS = 10_000  # S3's limit per multipart upload
DELETE_BATCH = 1000  # S3's limit per delete_objects call

_ERROR_CODES = {
    "404": RESOURCE_DOES_NOT_EXIST,
    "NoSuchKey": RESOURCE_DOES_NOT_EXIST,
    "NoSuchBucket": RESOURCE_DOES_NOT_EXIST,
    "NoSuchUpload": RESOURCE_DOES_NOT_EXIST,
    "403": PERMISSION_DENIED,
    "AccessDenied": PERMISSION_DENIED,
    "InvalidPart": INVALID_PARAMETER_VALUE,
    "InvalidPartOrder": INVALID_PARAMETER_VALUE,
    "EntityTooSmall": INVALID_PARAMETER_VALUE,
    "InvalidArgument": INVALID_PARAMETER_VALUE,
}


def endpoint_url() -> str | None:
    for name in ENDPOINT_ENV_VARS:
        if value := os.environ.get(name):
            return value
    return None


@contextlib.contextmanager
def _s3_errors(what: str) -> Iterator[None]:
    """boto3's exceptions as CairnError with the closest MLflow code; others pass through."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = error.get("Message") or code
        raise CairnError(
            f"{what}: {message} ({code})", _ERROR_CODES.get(code, INTERNAL_ERROR)
        ) from exc
    except (BotoCoreError, Boto3Error) as exc:
        raise CairnError(f"{what}: {exc}", INTERNAL_ERROR) from exc


def _join(base: str, name: str) -> str:
    return posixpath.join(base, name) if base and name else base or name


class S3ArtifactRepository:
    """An :class:`~cairn.store.artifacts.protocol.ArtifactRepository` on an S3 bucket.

    Also :class:`StreamWritable` (the proxy streams uploads through boto3's multipart transfer)
    and :class:`DirectTransfers` (clients may upload parts to presigned URLs themselves).
    """

    def __init__(self, root_uri: str) -> None:
        parsed = urlparse(root_uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise CairnError.invalid(f"Not an S3 URI: {root_uri!r}; expected s3://bucket/prefix.")
        self.root_uri = root_uri
        self.bucket = parsed.netloc
        self.prefix = safe_relative_path(parsed.path.strip("/"))
        self._client: Any = None

    def __repr__(self) -> str:
        return f"S3ArtifactRepository({self.root_uri!r})"

    @property
    def client(self) -> Any:
        """One boto3 client per repository (thread-safe), made on first use."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            verify = os.environ.get("MLFLOW_S3_IGNORE_TLS", "").lower() not in ("1", "true")
            self._client = boto3.client(
                "s3",
                endpoint_url=endpoint_url(),
                verify=verify,
                config=Config(retries={"max_attempts": 5, "mode": "standard"}),
            )
        return self._client

    def _transfer_config(self) -> TransferConfig:
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=PART_SIZE,
            multipart_chunksize=PART_SIZE,
            max_concurrency=_CONCURRENCY,
        )
        config.max_in_memory_upload_chunks = _CONCURRENCY  # bounds streamed (unseekable) input
        return config

    def _key(self, path: str | None) -> str:
        return _join(self.prefix, safe_relative_path(path))

    def _file_key(self, path: str) -> str:
        rel = safe_relative_path(path)
        if not rel:
            raise CairnError.invalid("An artifact file needs a name; got the root path.")
        return _join(self.prefix, rel)

    def _dir_prefix(self, path: str | None) -> str:
        key = self._key(path)
        return f"{key}/" if key else ""

    # -- writing --------------------------------------------------------------------------

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        key = self._file_key(artifact_file)
        with _s3_errors(f"Cannot write {artifact_file!r}"):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def write_stream(self, artifact_file: str, chunks: Iterable[bytes]) -> None:
        """Small files go up in one PUT, larger ones as multipart; a failure aborts it."""
        key = self._file_key(artifact_file)
        with _s3_errors(f"Cannot write {artifact_file!r}"), chunk_reader(chunks) as stream:
            self.client.upload_fileobj(stream, self.bucket, key, Config=self._transfer_config())

    def _upload_file(self, source: str, artifact_file: str) -> None:
        """boto3 reads the file in parts (multipart above PART_SIZE), never whole."""
        key = self._file_key(artifact_file)
        with _s3_errors(f"Cannot upload {source!r}"):
            self.client.upload_file(source, self.bucket, key, Config=self._transfer_config())

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        source = require_local_file(local_file)
        self._upload_file(str(source), _join(safe_relative_path(artifact_path), source.name))

    def log_artifacts(
        self, local_dir: str, artifact_path: str | None = None, *, progress: Any = None
    ) -> None:
        """Files go up in parallel (see :mod:`cairn.store.artifacts.transfer`)."""
        upload_tree(local_dir, artifact_path, self._upload_file, progress=progress)

    # -- reading --------------------------------------------------------------------------

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Keys whose names cannot be artifact paths (``..``, ``a//b``) are left out."""
        base = safe_relative_path(path)
        prefix = self._dir_prefix(base)
        infos = []
        paginator = self.client.get_paginator("list_objects_v2")
        with _s3_errors(f"Cannot list {base!r}"):
            pages = list(paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"))
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                if rel := child_path(base, common["Prefix"][len(prefix) :].rstrip("/")):
                    infos.append(FileInfo(rel, True, None))
            for obj in page.get("Contents", []):
                if rel := child_path(base, obj["Key"][len(prefix) :]):
                    infos.append(FileInfo(rel, False, int(obj["Size"])))
        infos.sort(key=lambda info: info.path)
        return infos

    def download_artifacts(
        self, artifact_path: str, dst_path: str | None = None, *, progress: Any = None
    ) -> str:
        return download_tree(self, artifact_path, dst_path, self._download_file, progress=progress)

    def _download_file(self, path: str, dest: Path) -> None:
        key = self._file_key(path)
        with _s3_errors(f"Cannot download {path!r} from {self.root_uri}"):
            self.client.download_file(self.bucket, key, str(dest), Config=self._transfer_config())

    def open_artifact(self, path: str) -> BinaryIO:
        """The object's body as a stream; nothing is read before the caller reads."""
        key = self._file_key(path)
        with _s3_errors(f"No artifact file at {path!r} under {self.root_uri}"):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        return chunk_reader(body.iter_chunks(_READ_BLOCK), body.close)

    # -- deleting -------------------------------------------------------------------------

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """The object at the path and every object under ``path/``; missing paths are fine."""
        rel = safe_relative_path(artifact_path)
        keys = [self._key(rel)] if rel else []
        paginator = self.client.get_paginator("list_objects_v2")
        with _s3_errors(f"Cannot delete {rel!r}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._dir_prefix(rel)):
                keys.extend(obj["Key"] for obj in page.get("Contents", []))
            for start in range(0, len(keys), DELETE_BATCH):
                batch = [{"Key": key} for key in keys[start : start + DELETE_BATCH]]
                response = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
                if errors := response.get("Errors"):
                    raise CairnError(f"Cannot delete {rel!r}: {errors[0]}", INTERNAL_ERROR)

    # -- direct transfers (presigned URLs) ------------------------------------------------

    def _presign(self, method: str, params: dict[str, Any]) -> str:
        url: str = self.client.generate_presigned_url(
            method, Params={"Bucket": self.bucket, **params}, ExpiresIn=PRESIGNED_URL_TTL
        )
        return url

    def create_multipart_upload(self, artifact_file: str, num_parts: int) -> MultipartUpload:
        if not 1 <= num_parts <= MAX_PARTS:
            raise CairnError.invalid(f"num_parts must be between 1 and {MAX_PARTS}.")
        key = self._file_key(artifact_file)
        with _s3_errors(f"Cannot start an upload of {artifact_file!r}"):
            upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
            credentials = [
                PartCredential(
                    url=self._presign(
                        "upload_part", {"Key": key, "UploadId": upload_id, "PartNumber": number}
                    ),
                    part_number=number,
                )
                for number in range(1, num_parts + 1)
            ]
        return MultipartUpload(upload_id=upload_id, credentials=credentials)

    def complete_multipart_upload(
        self, artifact_file: str, upload_id: str, parts: list[UploadedPart]
    ) -> None:
        key = self._file_key(artifact_file)
        ordered = sorted(parts, key=lambda part: part.part_number)
        with _s3_errors(f"Cannot complete the upload of {artifact_file!r}"):
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": p.part_number, "ETag": p.etag} for p in ordered]
                },
            )

    def abort_multipart_upload(self, artifact_file: str, upload_id: str) -> None:
        key = self._file_key(artifact_file)
        with _s3_errors(f"Cannot abort the upload of {artifact_file!r}"):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def presigned_download(self, path: str) -> PresignedDownload:
        key = self._file_key(path)
        with _s3_errors(f"No artifact file at {path!r} under {self.root_uri}"):
            size = int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
            url = self._presign("get_object", {"Key": key})
        return PresignedDownload(url=url, file_size=size)
