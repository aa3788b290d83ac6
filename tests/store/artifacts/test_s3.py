"""S3ArtifactRepository against a real S3-compatible server (moto's, over HTTP).

Every method, multipart transfers (20 MB), presigned URLs, and confinement: no key outside the
repository's prefix is ever read, written, listed or deleted, whatever path is asked for.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.errors import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, CairnError
from cairn.store.artifacts import (
    ArtifactRepository,
    DirectTransfers,
    FileInfo,
    StreamWritable,
    get_artifact_repository,
)
from cairn.store.artifacts import s3 as s3_module
from cairn.store.artifacts.protocol import UploadedPart
from cairn.store.artifacts.s3 import PART_SIZE, S3ArtifactRepository, endpoint_url
from s3_server import MotoS3Server, use_moto_env

PREFIX = "root/dir"
MB = 1024 * 1024
TRAVERSALS = ["../x", "a/../../x", "/abs", "a\\b", "%2e%2e/x", "a%2F..%2Fb", "a/%2E%2E/b"]


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoS3Server]:
    server = MotoS3Server().start()
    yield server
    server.stop()


@pytest.fixture
def bucket(moto: MotoS3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    use_moto_env(moto, monkeypatch)
    return moto.create_bucket()


@pytest.fixture
def repo(bucket: str) -> S3ArtifactRepository:
    return S3ArtifactRepository(f"s3://{bucket}/{PREFIX}")


@pytest.fixture
def s3(moto: MotoS3Server) -> Any:
    return moto.client()


def all_keys(s3: Any, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def random_file(path: Path, size: int) -> str:
    """A file of ``size`` random bytes, written in 1 MB blocks; returns its sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as f:
        remaining = size
        while remaining:
            block = os.urandom(min(MB, remaining))
            digest.update(block)
            f.write(block)
            remaining -= len(block)
    return digest.hexdigest()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(MB):
            digest.update(block)
    return digest.hexdigest()


def make_tree(base: Path) -> Path:
    src = base / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("bb")
    (src / "sub" / "deeper" / "c.bin").write_bytes(b"\x00" * 300)
    return src


# -- choosing and configuring -----------------------------------------------------------------


def test_s3_uris_get_an_s3_repository(bucket: str) -> None:
    repo = get_artifact_repository(f"s3://{bucket}/some/prefix/")
    assert isinstance(repo, S3ArtifactRepository)
    assert (repo.bucket, repo.prefix) == (bucket, "some/prefix")
    for capability in (ArtifactRepository, StreamWritable, DirectTransfers):
        assert isinstance(repo, capability)


@pytest.mark.parametrize("uri", ["s3://", "s3:///prefix", "s3://bucket/../up", "s3://b/%2e%2e/x"])
def test_bad_s3_uris_are_refused(uri: str) -> None:
    with pytest.raises(CairnError) as info:
        S3ArtifactRepository(uri)
    assert info.value.error_code == INVALID_PARAMETER_VALUE


def test_endpoint_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["CAIRN_S3_ENDPOINT_URL", "MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL"]
    for name in [*names, "AWS_ENDPOINT_URL_S3"]:
        monkeypatch.delenv(name, raising=False)
    assert endpoint_url() is None  # boto3's own default (AWS)
    for name in reversed(names):  # set lowest priority first: each new one wins
        monkeypatch.setenv(name, f"http://{name.lower()}:9000")
        assert endpoint_url() == f"http://{name.lower()}:9000"


# -- writing and reading ----------------------------------------------------------------------


def test_log_bytes_open_and_list(repo: S3ArtifactRepository, s3: Any, bucket: str) -> None:
    repo.log_bytes(b"hello", "a/b.txt")
    repo.log_bytes(b"top", "top.txt")
    assert all_keys(s3, bucket) == [f"{PREFIX}/a/b.txt", f"{PREFIX}/top.txt"]
    assert repo.list_artifacts() == [FileInfo("a", True, None), FileInfo("top.txt", False, 3)]
    assert repo.list_artifacts("a") == [FileInfo("a/b.txt", False, 5)]
    assert repo.list_artifacts("a/") == repo.list_artifacts("./a")
    assert repo.list_artifacts("a/b.txt") == []  # a file lists as nothing
    assert repo.list_artifacts("missing") == []
    with repo.open_artifact("a/b.txt") as f:
        assert f.read(2) == b"he"
        assert f.read() == b"llo"
    repo.log_bytes(b"new", "a/b.txt")  # overwrite
    with repo.open_artifact("a/b.txt") as f:
        assert f.read() == b"new"


def test_open_missing_artifact(repo: S3ArtifactRepository) -> None:
    repo.log_bytes(b"x", "d/f")
    for missing in ["nope", "d"]:
        with pytest.raises(CairnError) as info:
            repo.open_artifact(missing)
        assert info.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_root_is_not_a_file(repo: S3ArtifactRepository) -> None:
    for call in [lambda: repo.log_bytes(b"x", ""), lambda: repo.open_artifact("./")]:
        with pytest.raises(CairnError, match="needs a name"):
            call()


def test_log_artifact_and_log_artifacts(
    repo: S3ArtifactRepository, tmp_path: Path, s3: Any, bucket: str
) -> None:
    src = make_tree(tmp_path)
    repo.log_artifact(str(src / "a.txt"))
    repo.log_artifact(str(src / "a.txt"), "x/y")
    repo.log_artifacts(str(src), "tree")
    repo.log_artifacts(str(src / "sub"))
    assert all_keys(s3, bucket) == sorted(
        f"{PREFIX}/{key}"
        for key in [
            "a.txt",
            "x/y/a.txt",
            "tree/a.txt",
            "tree/sub/b.txt",
            "tree/sub/deeper/c.bin",
            "b.txt",
            "deeper/c.bin",
        ]
    )
    assert repo.list_artifacts("tree/sub/deeper") == [FileInfo("tree/sub/deeper/c.bin", False, 300)]
    with pytest.raises(CairnError) as info:
        repo.log_artifact(str(src / "missing.txt"))
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST
    with pytest.raises(CairnError) as info:
        repo.log_artifacts(str(src / "missing"))
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_20_mb_log_artifact_is_a_multipart_upload(
    repo: S3ArtifactRepository, tmp_path: Path, s3: Any, bucket: str
) -> None:
    big = tmp_path / "big.bin"
    digest = random_file(big, 20 * MB)
    repo.log_artifact(str(big), "models")
    head = s3.head_object(Bucket=bucket, Key=f"{PREFIX}/models/big.bin")
    assert head["ContentLength"] == 20 * MB
    assert head["ETag"].strip('"').endswith("-3")  # 8 + 8 + 4 MB parts
    local = repo.download_artifacts("models/big.bin", str(tmp_path / "dst"))
    assert local == str(tmp_path / "dst" / "models" / "big.bin")
    assert sha256(Path(local)) == digest


def test_write_stream_20_mb_in_small_chunks(
    repo: S3ArtifactRepository, s3: Any, bucket: str
) -> None:
    blocks = [os.urandom(64 * 1024) for _ in range(16)]  # 1 MB of distinct data, sent 20 times
    chunks = (blocks[i % 16] for i in range(20 * 16))
    repo.write_stream("streamed/big.bin", chunks)
    head = s3.head_object(Bucket=bucket, Key=f"{PREFIX}/streamed/big.bin")
    assert head["ContentLength"] == 20 * MB
    assert head["ETag"].strip('"').endswith("-3")  # full 8 MB parts despite 64 KB chunks
    expected = hashlib.sha256(b"".join(blocks) * 20).hexdigest()
    with repo.open_artifact("streamed/big.bin") as f:
        digest = hashlib.sha256()
        while block := f.read(MB):
            digest.update(block)
    assert digest.hexdigest() == expected


def test_write_stream_small_file_is_one_put(repo: S3ArtifactRepository) -> None:
    repo.write_stream("s.txt", iter([b"a", b"", b"bc"]))
    with repo.open_artifact("s.txt") as f:
        assert f.read() == b"abc"
    repo.write_stream("empty.txt", iter([]))
    assert FileInfo("empty.txt", False, 0) in repo.list_artifacts()


def test_failed_write_stream_leaves_nothing(
    repo: S3ArtifactRepository, s3: Any, bucket: str
) -> None:
    repo.log_bytes(b"old", "f.bin")

    def broken() -> Iterator[bytes]:
        for _ in range(3):
            yield os.urandom(PART_SIZE)  # enough for multipart to have started
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        repo.write_stream("f.bin", broken())
    with repo.open_artifact("f.bin") as f:
        assert f.read() == b"old"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


# -- downloading ------------------------------------------------------------------------------


def test_download_directories_and_root(repo: S3ArtifactRepository, tmp_path: Path) -> None:
    repo.log_artifacts(str(make_tree(tmp_path)), "t")
    sub = repo.download_artifacts("t/sub", str(tmp_path / "d1"))
    assert sub == str(tmp_path / "d1" / "t" / "sub")
    assert (Path(sub) / "deeper" / "c.bin").read_bytes() == b"\x00" * 300
    assert (Path(sub) / "b.txt").read_text() == "bb"
    root = Path(repo.download_artifacts("", str(tmp_path / "d2")))
    assert root == tmp_path / "d2"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "t/a.txt",
        "t/sub/b.txt",
        "t/sub/deeper/c.bin",
    ]
    fresh = Path(repo.download_artifacts("t/a.txt"))  # no dst: a new temp dir
    assert fresh.read_text() == "a" and fresh.parts[-2:] == ("t", "a.txt")


def test_download_missing(repo: S3ArtifactRepository, tmp_path: Path) -> None:
    with pytest.raises(CairnError) as info:
        repo.download_artifacts("nope/x.txt", str(tmp_path / "dst"))
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST
    assert not (tmp_path / "dst" / "nope" / "x.txt").exists()


# -- deleting ---------------------------------------------------------------------------------


def test_delete_file_directory_and_root(repo: S3ArtifactRepository, s3: Any, bucket: str) -> None:
    outside = [f"{PREFIX}-sibling/x", f"{PREFIX}x", "root/other", "elsewhere/y"]
    for key in outside:
        s3.put_object(Bucket=bucket, Key=key, Body=b"keep")
    for path in ["a/1", "a/b/2", "a/b/c/3", "ab/4", "top"]:
        repo.log_bytes(b"x", path)
    repo.delete_artifacts("a/b")
    assert [info.path for info in repo.list_artifacts("a")] == ["a/1"]
    repo.delete_artifacts("top")
    repo.delete_artifacts("never/was")  # missing is fine
    assert [info.path for info in repo.list_artifacts()] == ["a", "ab"]
    repo.delete_artifacts()
    assert all_keys(s3, bucket) == sorted(outside)


def test_delete_more_than_one_batch(
    repo: S3ArtifactRepository, s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_module, "DELETE_BATCH", 3)  # S3's is 1000: too many keys to make
    for i in range(10):
        s3.put_object(Bucket=bucket, Key=f"{PREFIX}/many/{i}", Body=b"")
    repo.delete_artifacts("many")
    assert all_keys(s3, bucket) == []


# -- confinement ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_traversal_is_refused_by_every_method(
    repo: S3ArtifactRepository, bad: str, tmp_path: Path, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="root/x", Body=b"outside")
    local = tmp_path / "f.txt"
    local.write_text("f")
    calls = [
        lambda: repo.log_bytes(b"x", bad),
        lambda: repo.write_stream(bad, iter([b"x"])),
        lambda: repo.log_artifact(str(local), bad),
        lambda: repo.log_artifacts(str(tmp_path), bad),
        lambda: repo.list_artifacts(bad),
        lambda: repo.download_artifacts(bad, str(tmp_path / "dst")),
        lambda: repo.open_artifact(bad),
        lambda: repo.delete_artifacts(bad),
        lambda: repo.create_multipart_upload(bad, 1),
        lambda: repo.complete_multipart_upload(bad, "id", []),
        lambda: repo.abort_multipart_upload(bad, "id"),
        lambda: repo.presigned_download(bad),
    ]
    for call in calls:
        with pytest.raises(CairnError) as info:
            call()
        assert info.value.error_code == INVALID_PARAMETER_VALUE
    assert all_keys(s3, bucket) == ["root/x"]
    assert not (tmp_path / "dst").exists()


def test_keys_that_are_not_artifact_paths_are_not_listed(
    repo: S3ArtifactRepository, s3: Any, bucket: str, tmp_path: Path
) -> None:
    for key in ["../escape", "double//slash", "back\\slash", "dot/./x", "ok.txt"]:
        s3.put_object(Bucket=bucket, Key=f"{PREFIX}/{key}", Body=b"x")
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/folder/", Body=b"")  # a console "folder"
    # "dot" and "double" are real directories; only their unnamable children are dropped.
    assert [info.path for info in repo.list_artifacts()] == ["dot", "double", "folder", "ok.txt"]
    for directory in ["dot", "double", "folder"]:
        assert repo.list_artifacts(directory) == []
    root = Path(repo.download_artifacts("", str(tmp_path / "dst")))
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "dot",
        "double",
        "folder",
        "ok.txt",
    ]


# -- direct transfers -------------------------------------------------------------------------


def test_multipart_upload_through_presigned_urls(repo: S3ArtifactRepository) -> None:
    parts_data = [os.urandom(5 * MB), os.urandom(5 * MB), b"tail"]
    upload = repo.create_multipart_upload("mpu/file.bin", len(parts_data))
    assert [c.part_number for c in upload.credentials] == [1, 2, 3]
    parts = []
    for credential, data in zip(upload.credentials, parts_data, strict=True):
        response = httpx.put(credential.url, content=data, headers=credential.headers)
        assert response.status_code == 200, response.text
        parts.append(UploadedPart(credential.part_number, response.headers["ETag"]))
    repo.complete_multipart_upload("mpu/file.bin", upload.upload_id, parts[::-1])  # any order
    with repo.open_artifact("mpu/file.bin") as f:
        assert f.read() == b"".join(parts_data)


def test_multipart_upload_abort_and_errors(
    repo: S3ArtifactRepository, s3: Any, bucket: str
) -> None:
    upload = repo.create_multipart_upload("mpu/gone.bin", 2)
    repo.abort_multipart_upload("mpu/gone.bin", upload.upload_id)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with pytest.raises(CairnError) as info:  # (moto answers 500 to completing it instead)
        repo.abort_multipart_upload("mpu/gone.bin", upload.upload_id)
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST
    assert "NoSuchUpload" in info.value.message
    for bad_count in [0, 10_001]:
        with pytest.raises(CairnError) as info:
            repo.create_multipart_upload("mpu/x.bin", bad_count)
        assert info.value.error_code == INVALID_PARAMETER_VALUE


def test_presigned_download(repo: S3ArtifactRepository) -> None:
    repo.log_bytes(b"direct bytes", "p/file.txt")
    presigned = repo.presigned_download("p/file.txt")
    assert presigned.file_size == len(b"direct bytes")
    assert httpx.get(presigned.url, headers=presigned.headers).content == b"direct bytes"
    with pytest.raises(CairnError) as info:
        repo.presigned_download("p/missing.txt")
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_missing_bucket_is_reported(moto: MotoS3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    use_moto_env(moto, monkeypatch)
    repo = S3ArtifactRepository("s3://no-such-bucket-cairn/p")
    with pytest.raises(CairnError) as info:
        repo.list_artifacts()
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST
    assert "NoSuchBucket" in info.value.message
