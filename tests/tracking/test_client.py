"""``TrackingClient(url)``: a client for one server works whatever the global configuration says."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.tracking.client import TrackingClient
from rest_server import CairnServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    server = CairnServer(tmp_path_factory.mktemp("client-server")).start()
    yield server
    server.stop()


def test_artifacts_go_through_the_clients_own_server(
    server: CairnServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The global tracking URI points elsewhere (the embedded default here): a proxied
    # artifact root (mlflow-artifacts:/) must still resolve against the client's server.
    monkeypatch.delenv("CAIRN_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    client = TrackingClient(server.url)
    run_id = client.create_run(client.create_experiment("artifacts")).info.run_id
    assert client.get_run(run_id).info.artifact_uri.startswith("mlflow-artifacts:/")
    client.log_text(run_id, "hello", "notes/hello.txt")
    local = tmp_path / "model.bin"
    local.write_bytes(b"\x00\x01")
    client.log_artifact(run_id, str(local), "bin")
    assert [f.path for f in client.list_artifacts(run_id, "notes")] == ["notes/hello.txt"]
    stored = Path(server.artifacts_destination).rglob("*")
    assert {p.name for p in stored if p.is_file()} >= {"hello.txt", "model.bin"}
    downloaded = Path(client.download_artifacts(run_id, "bin/model.bin", str(tmp_path / "dl")))
    assert downloaded.read_bytes() == b"\x00\x01"
