"""`path` parameters given as URIs reach the command as local copies."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

import cairn
from cairn.errors import CairnError
from cairn.tracking.client import TrackingClient
from s3_server import MotoS3Server, use_moto_env


def run_show(client: TrackingClient, project: Path, data: str, **kwargs: object) -> tuple[str, str]:
    """(the run's log, the local path the command saw)."""
    submitted = cairn.projects.run(
        str(project), "show", parameters={"data": data}, env_manager="local", **kwargs
    )
    assert submitted.wait(), submitted.run_id
    run = client.get_run(submitted.run_id)
    assert run.data.params["data"] == data  # the run records what was asked for
    log = Path(client.download_artifacts(submitted.run_id, "project.log")).read_text()
    match = re.search(r"^path=(\S+) local=True$", log, re.MULTILINE)
    assert match, log
    return log, match.group(1)


def test_a_run_artifact_is_downloaded_and_removed_afterwards(
    client: TrackingClient, basic_project: Path, tmp_path: Path
) -> None:
    source = client.create_run("0")
    client.log_text(source.info.run_id, "from a run", "inputs/data.txt")
    client.log_text(source.info.run_id, "second file", "inputs/more.txt")
    log, local = run_show(client, basic_project, f"runs:/{source.info.run_id}/inputs/data.txt")
    assert "data.txt: from a run" in log
    assert not Path(local).exists()  # a temporary copy, removed when the run ended
    log, local = run_show(client, basic_project, f"runs:/{source.info.run_id}/inputs")
    assert "data.txt: from a run" in log and "more.txt: second file" in log


def test_storage_dir_keeps_the_downloads(
    client: TrackingClient, basic_project: Path, tmp_path: Path
) -> None:
    source = client.create_run("0")
    client.log_text(source.info.run_id, "kept", "x.txt")
    _, local = run_show(
        client,
        basic_project,
        f"runs:/{source.info.run_id}/x.txt",
        storage_dir=str(tmp_path / "store"),
    )
    assert Path(local).read_text() == "kept"
    assert Path(local).is_relative_to(tmp_path / "store")


@pytest.fixture
def http_files(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "served"
    root.mkdir()
    (root / "table.csv").write_text("a,b\n1,2\n")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_https_url_is_fetched(
    client: TrackingClient, basic_project: Path, http_files: str
) -> None:
    log, _ = run_show(client, basic_project, f"{http_files}/table.csv")
    assert "table.csv: a,b\n1,2" in log


def test_an_s3_object_is_downloaded(
    client: TrackingClient, basic_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = MotoS3Server().start()
    try:
        use_moto_env(server, monkeypatch)
        bucket = server.create_bucket()
        server.client().put_object(Bucket=bucket, Key="data/in.txt", Body=b"from s3")
        log, _ = run_show(client, basic_project, f"s3://{bucket}/data/in.txt")
        assert "in.txt: from s3" in log
    finally:
        server.stop()


def test_a_download_that_fails_creates_no_run(
    client: TrackingClient, basic_project: Path, http_files: str
) -> None:
    for data, message in [
        ("runs:/0123456789abcdef0123456789abcdef/x.txt", "could not be downloaded"),
        (f"{http_files}/missing.csv", "HTTP 404"),
    ]:
        with pytest.raises(CairnError, match=message):
            cairn.projects.run(
                str(basic_project), "show", parameters={"data": data}, env_manager="local"
            )
    assert client.search_runs(["0"]) == []
