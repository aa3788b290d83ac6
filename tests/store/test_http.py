"""The shared HTTP transport (cairn.store.http) as the artifact proxy's client uses it: which
requests are retried, and that a retried upload sends the whole file again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from cairn.errors import CairnError
from cairn.store.artifacts.http import HttpArtifactRepository
from cairn.store.http import HttpSettings

ROOT = "http://h/api/2.0/mlflow-artifacts/artifacts/r"


def repo_answering(*statuses: int) -> tuple[HttpArtifactRepository, list[tuple[str, bytes]]]:
    """A repository whose first requests get ``statuses``, then 200; requests are kept."""
    seen: list[tuple[str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.read()))
        if len(seen) <= len(statuses):
            return httpx.Response(statuses[len(seen) - 1], text="busy")
        return httpx.Response(200, json={"files": []})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    repo = HttpArtifactRepository(ROOT, http_client=client, settings=HttpSettings(backoff_s=0.0))
    return repo, seen


def test_reads_deletes_and_whole_uploads_are_retried(tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"x" * 100_000)
    calls: list[Callable[[HttpArtifactRepository], object]] = [
        lambda repo: repo.list_artifacts(),
        lambda repo: repo.delete_artifacts("a"),
        lambda repo: repo.log_bytes(b"data", "a.txt"),
        lambda repo: repo.log_artifact(str(source)),  # re-opened from disk for each attempt
    ]
    for call in calls:
        repo, seen = repo_answering(503, 429)
        call(repo)
        assert len(seen) == 3
        assert len({body for _, body in seen}) == 1  # the same whole body each time


def test_streamed_uploads_are_sent_once() -> None:
    for status, code in [(503, "TEMPORARILY_UNAVAILABLE"), (429, "REQUEST_LIMIT_EXCEEDED")]:
        repo, seen = repo_answering(status)
        with pytest.raises(CairnError, match=r"Cannot upload 's\.bin'") as exc:
            repo.write_stream("s.bin", iter([b"a", b"b"]))
        assert exc.value.error_code == code
        assert seen == [("PUT", b"ab")]


def test_a_missing_file_without_error_json_is_resource_does_not_exist() -> None:
    repo, _ = repo_answering(404)
    with pytest.raises(CairnError, match="HTTP 404") as exc:
        repo.open_artifact("gone.txt")
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"
