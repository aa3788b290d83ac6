"""The web UI's read endpoints (``/ajax-api/2.0/cairn/...`` and ``/get-artifact``) on a live
``cairn server``, seeded through the real client (TrackingClient, and the artifact proxy's
client for files). Endpoints that read the database run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.entities import Metric, Param, RunTag
from cairn.store.artifacts.http import HttpArtifactRepository
from cairn.tracking.client import TrackingClient
from proxy_server import ProxyServer
from s3_server import MotoS3Server, use_moto_env

BACKENDS = pytest.mark.parametrize(
    "live_server", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
UI = "/ajax-api/2.0/cairn"
FAR = 4_000_000_000_000  # later than any experiment's own last update
MB = 1024 * 1024


@pytest.fixture
def client(live_server: str) -> TrackingClient:
    return TrackingClient(live_server)


@pytest.fixture
def http(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=60) as session:
        yield session


def new_experiment(client: TrackingClient, request: pytest.FixtureRequest) -> str:
    """An experiment of the test's own (the module's server is shared)."""
    return client.create_experiment(f"{request.node.name}-{os.urandom(4).hex()}")


def artifacts(client: TrackingClient, run_id: str, url: str) -> HttpArtifactRepository:
    """The run's artifacts through the server's proxy, as a client writes them."""
    return HttpArtifactRepository(client.get_run(run_id).info.artifact_uri, tracking_uri=url)


def page_token(offset: int) -> str:
    """A token as the server writes them, for any offset."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def assert_error(response: httpx.Response, status: int, code: str, *needles: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    for needle in needles:
        assert needle in body["message"], body


# ---------------------------------------------------------------- experiments


@BACKENDS
def test_experiment_summary_counts_active_runs_and_latest_activity(
    client: TrackingClient, http: httpx.Client, request: pytest.FixtureRequest
) -> None:
    busy, empty = new_experiment(client, request), new_experiment(client, request)
    first = client.create_run(busy, start_time=FAR).info.run_id
    client.create_run(busy, start_time=FAR + 10)
    client.set_terminated(first, end_time=FAR + 50)
    gone = client.create_run(busy, start_time=FAR + 999).info.run_id
    client.delete_run(gone)

    for prefix in (UI, "/api/2.0/cairn"):
        response = http.get(f"{prefix}/experiments/summary", params={"experiment_ids": [busy]})
        assert response.status_code == 200, response.text
        assert response.json() == {
            "experiments": [{"experiment_id": busy, "run_count": 2, "last_activity": FAR + 50}]
        }
    everything = http.get(f"{UI}/experiments/summary").json()["experiments"]
    by_id = {e["experiment_id"]: e for e in everything}
    assert by_id[busy]["run_count"] == 2
    created = client.get_experiment(empty).last_update_time
    assert by_id[empty] == {"experiment_id": empty, "run_count": 0, "last_activity": created}
    unknown = http.get(f"{UI}/experiments/summary", params={"experiment_ids": [empty, "98765"]})
    assert [e["experiment_id"] for e in unknown.json()["experiments"]] == [empty]
    bad = http.get(f"{UI}/experiments/summary", params={"experiment_ids": ["one"]})
    assert_error(bad, 400, "INVALID_PARAMETER_VALUE", "'one'")


@BACKENDS
def test_experiment_keys_are_sorted_distinct_keys_of_active_runs(
    client: TrackingClient, http: httpx.Client, request: pytest.FixtureRequest
) -> None:
    e1, e2 = new_experiment(client, request), new_experiment(client, request)
    r1 = client.create_run(e1, tags={"team": "red"}).info.run_id
    client.log_batch(r1, [Metric("loss", 1.0, 0, 0)], [Param("lr", "0.1"), Param("batch", "32")])
    r2 = client.create_run(e2).info.run_id
    client.log_batch(r2, [Metric("acc", 0.9, 0, 0)], [Param("depth", "3")])
    gone = client.create_run(e1, tags={"secret": "x"}).info.run_id
    client.log_batch(gone, [Metric("hidden", 1.0, 0, 0)], [Param("hidden", "1")])
    client.delete_run(gone)

    keys = http.get(f"{UI}/experiments/keys", params={"experiment_ids": [e1]}).json()
    assert keys["params"] == ["batch", "lr"] and keys["metrics"] == ["loss"]
    assert "team" in keys["tags"] and "secret" not in keys["tags"]
    assert keys["tags"] == sorted(keys["tags"])
    both = http.get(f"{UI}/experiments/keys", params={"experiment_ids": [e1, e2]}).json()
    assert both["params"] == ["batch", "depth", "lr"] and both["metrics"] == ["acc", "loss"]
    missing = http.get(f"{UI}/experiments/keys")
    assert_error(missing, 400, "INVALID_PARAMETER_VALUE", "experiment_ids")


# ---------------------------------------------------------------- runs/table


def seed_table(client: TrackingClient, eid: str) -> dict[str, str]:
    parent = client.create_run(eid, start_time=FAR, run_name="parent").info.run_id
    client.log_batch(
        parent, [Metric("loss", 0.25, 1, 0)], [Param("lr", "0.1")], [RunTag("team", "red")]
    )
    child = client.create_run(
        eid, start_time=FAR + 1, run_name="child", tags={"mlflow.parentRunId": parent}
    ).info.run_id
    client.log_batch(child, [Metric("loss", math.nan, 1, 0), Metric("acc", -math.inf, 1, 0)])
    bare = client.create_run(eid, start_time=FAR + 2, run_name="<script>x</script>").info.run_id
    client.set_terminated(bare, "FAILED", end_time=FAR + 9)
    return {"parent": parent, "child": child, "bare": bare}


@BACKENDS
def test_runs_table_answers_the_search_as_columns(
    client: TrackingClient, http: httpx.Client, request: pytest.FixtureRequest
) -> None:
    eid = new_experiment(client, request)
    runs = seed_table(client, eid)
    columns = ["metrics.loss", "metrics.acc", "params.lr", "tags.team", "metrics.absent"]
    body = {"experiment_ids": [eid], "order_by": ["metrics.loss ASC"], "columns": columns}
    response = http.post(f"{UI}/runs/table", json=body)
    assert response.status_code == 200, response.text
    table = response.json()
    search = http.post(
        "/ajax-api/2.0/mlflow/runs/search",
        json={"experiment_ids": [eid], "order_by": ["metrics.loss ASC"]},
    ).json()["runs"]
    assert table["run_id"] == [r["info"]["run_id"] for r in search]
    # loss ascending: 0.25 first, NaN after every number, then the run without it.
    assert table["run_id"] == [runs["parent"], runs["child"], runs["bare"]]
    assert table["run_name"] == ["parent", "child", "<script>x</script>"]
    assert table["experiment_id"] == [eid] * 3
    assert table["status"] == ["RUNNING", "RUNNING", "FAILED"]
    assert table["start_time"] == [FAR, FAR + 1, FAR + 2]
    assert table["end_time"] == [None, None, FAR + 9]
    assert table["parent_run_id"] == [None, runs["parent"], None]
    assert table["lifecycle_stage"] == ["active"] * 3
    assert table["user_id"] == [r["info"]["user_id"] for r in search]
    assert table["columns"] == {
        "metrics.loss": [0.25, "NaN", None],
        "metrics.acc": [None, "-Infinity", None],
        "params.lr": ["0.1", None, None],
        "tags.team": ["red", None, None],
        "metrics.absent": [None, None, None],
    }
    assert table["next_page_token"] is None

    filtered = http.post(
        f"{UI}/runs/table",
        json={"experiment_ids": [eid], "filter": "attributes.status = 'FAILED'"},
    ).json()
    assert filtered["run_id"] == [runs["bare"]] and filtered["columns"] == {}
    client.delete_run(runs["bare"])
    deleted = http.post(
        f"{UI}/runs/table", json={"experiment_ids": [eid], "run_view_type": "DELETED_ONLY"}
    ).json()
    assert deleted["run_id"] == [runs["bare"]] and deleted["lifecycle_stage"] == ["deleted"]


def test_runs_table_pages(
    client: TrackingClient, http: httpx.Client, request: pytest.FixtureRequest
) -> None:
    eid = new_experiment(client, request)
    for i in range(5):
        client.create_run(eid, start_time=FAR + i, run_name=f"r{i}")
    names: list[str] = []
    token = None
    while True:
        body: dict[str, Any] = {"experiment_ids": [eid], "max_results": 2, "page_token": token}
        page = http.post(f"{UI}/runs/table", json={**body, "columns": ["tags.mlflow.runName"]})
        assert page.status_code == 200, page.text
        names += page.json()["columns"]["tags.mlflow.runName"]
        token = page.json()["next_page_token"]
        if token is None:
            break
    assert names == ["r4", "r3", "r2", "r1", "r0"]


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ({"filter": "metrics.loss >"}, ["Invalid filter", "position 14"]),
        ({"filter": "nonsense = 1"}, ["Invalid filter", "position 0"]),
        ({"order_by": ["metrics.loss UP"]}, ["UP"]),
        ({"columns": ["loss"]}, ["Invalid column 'loss'"]),
        ({"columns": "metrics.loss"}, ["columns"]),
        ({"columns": [f"params.p{i}" for i in range(1001)]}, ["at most 1000 columns"]),
        ({"max_results": 50_001}, ["max_results"]),
        ({"max_results": 0}, ["max_results"]),
        ({"run_view_type": "SOMETIMES"}, ["view type"]),
        ({"experiment_ids": ["x1"]}, ["experiment id"]),
        ({"page_token": "not-a-token"}, ["page_token"]),
        ({"page_token": page_token(10**30)}, ["page_token"]),  # no database takes it
    ],
)
def test_bad_runs_table_requests_are_400(
    http: httpx.Client, body: dict[str, Any], needles: list[str]
) -> None:
    response = http.post(f"{UI}/runs/table", json={"experiment_ids": ["0"], **body})
    assert_error(response, 400, "INVALID_PARAMETER_VALUE", *needles)


def test_malformed_json_is_400(http: httpx.Client) -> None:
    response = http.post(
        f"{UI}/runs/table", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "BAD_REQUEST", "Malformed JSON")


# ---------------------------------------------------------------- metrics/downsample


def downsample(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post(f"{UI}/metrics/downsample", json=body)


@BACKENDS
def test_downsample_keeps_each_buckets_extremes(
    client: TrackingClient, http: httpx.Client, request: pytest.FixtureRequest
) -> None:
    eid = new_experiment(client, request)
    start = 1_700_000_000_000
    run_id = client.create_run(eid, start_time=start).info.run_id
    values = [math.sin(i / 50) for i in range(5000)]
    values[1234], values[4321], values[777] = 9.0, -9.0, math.nan
    client.log_batch(run_id, [Metric("loss", v, start + 10 * i, i) for i, v in enumerate(values)])
    other = client.create_run(eid).info.run_id

    response = downsample(http, run_ids=[run_id, other, run_id], metric_key="loss", buckets=50)
    assert response.status_code == 200, response.text
    series, empty = response.json()["series"]  # a repeated run id counts once
    assert series["run_id"] == run_id and series["downsampled"] is True
    assert series["total_points"] == series["points_in_range"] == 5000
    assert series["x_extent"] == [0, 4999]
    assert 50 <= len(series["x"]) <= 101  # min and max of 50 buckets, one NaN marker
    assert series["x"] == sorted(series["x"]) and series["x"][0] == 0
    assert 9.0 in series["y"] and -9.0 in series["y"]
    assert series["y"][series["x"].index(777)] is None  # the NaN: a gap, sent as null
    for x, y in zip(series["x"], series["y"], strict=True):
        assert y is None or y == values[x]
    assert empty == {
        "run_id": other,
        "x": [],
        "y": [],
        "total_points": 0,
        "points_in_range": 0,
        "downsampled": False,
        "x_extent": None,
    }

    window = downsample(
        http, run_ids=[run_id], metric_key="loss", x_min=100, x_max=119.5, buckets=10
    ).json()["series"][0]
    assert window["x"] == list(range(99, 121))  # 20 points as they are, plus both edges
    assert window["points_in_range"] == 20 and window["downsampled"] is False

    wall = downsample(http, run_ids=[run_id], metric_key="loss", x_axis="wall", buckets=5000)
    wall_series = wall.json()["series"][0]
    assert wall_series["x"][:3] == [start, start + 10, start + 20]
    assert wall_series["x_extent"] == [start, start + 49_990]
    relative = downsample(
        http, run_ids=[run_id], metric_key="loss", x_axis="relative", x_min=1, x_max=2
    ).json()["series"][0]
    assert relative["x"][0] == pytest.approx(0.99) and relative["x"][-1] == pytest.approx(2.01)
    assert relative["points_in_range"] == 101 and relative["x_extent"] == [0.0, 49.99]


@pytest.mark.parametrize(
    ("body", "status", "needles"),
    [
        ({"x_axis": "time"}, 400, ["x_axis", "step, wall, relative"]),
        ({"buckets": 0}, 400, ["buckets"]),
        ({"buckets": 10_001}, 400, ["buckets"]),
        ({"x_min": 5, "x_max": 1}, 400, ["x_min"]),
        ({"x_min": "NaN"}, 400, ["x_min"]),
        ({"x_max": "Infinity"}, 400, ["x_max"]),
        ({"metric_key": ""}, 400, ["metric_key"]),
        ({"run_ids": []}, 400, ["run_ids"]),
        ({"run_ids": "abc"}, 400, ["run_ids"]),
        ({"run_ids": [f"r{i}" for i in range(1001)]}, 400, ["at most 1000"]),
        ({"run_ids": ["0123456789abcdef0123456789abcdef"]}, 404, ["not found"]),
    ],
)
def test_bad_downsample_requests(
    http: httpx.Client, body: dict[str, Any], status: int, needles: list[str]
) -> None:
    request = {"run_ids": ["0123456789abcdef"], "metric_key": "loss", **body}
    code = "INVALID_PARAMETER_VALUE" if status == 400 else "RESOURCE_DOES_NOT_EXIST"
    assert_error(downsample(http, **request), status, code, *needles)


# ---------------------------------------------------------------- artifacts/table


@pytest.fixture(scope="module")
def table_run(live_server: str) -> str:
    """A run with tabular artifacts of every previewable kind, and some that are not."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    client = TrackingClient(live_server)
    eid = client.create_experiment("artifact-tables")
    run_id = client.create_run(eid).info.run_id
    repo = artifacts(client, run_id, live_server)
    rows = "\n".join(f"{i},name {i},{i / 4}" for i in range(250))
    repo.log_bytes(f"id,name,score\n{rows}\n".encode(), "data/table.csv")
    repo.log_bytes(b'a\tb\n1\t"x\ty"\n2\t\n', "t.tsv")
    records = [{"a": 1, "b": "x"}, {"a": 2.5, "c": None}, {"b": [1, 2], "a": float(2**70)}]
    repo.log_bytes(json.dumps(records).encode(), "records.json")
    split = {"columns": ["x", "y"], "data": [[1, "one"], [2, "two"], [3, "three"]]}
    repo.log_bytes(json.dumps(split).encode(), "split.json")
    buffer = io.BytesIO()
    table = pa.table({"n": list(range(1000)), "f": [i / 2 for i in range(1000)]})
    pq.write_table(table, buffer, row_group_size=300)
    repo.log_bytes(buffer.getvalue(), "frame.parquet")
    repo.log_bytes(b"definitely not parquet", "broken.parquet")
    repo.log_bytes(b'{"no": "table"}', "config.json")
    repo.log_bytes(b"\x89PNG\r\n\x1a\n", "image.png")
    repo.log_bytes(b"a\n", "looks.csv/inner.csv")  # a directory with a table's name
    return run_id


def table(http: httpx.Client, run_id: str, path: str, **params: Any) -> httpx.Response:
    return http.get(f"{UI}/artifacts/table", params={"run_id": run_id, "path": path, **params})


def test_csv_preview_is_its_first_rows_and_a_count(http: httpx.Client, table_run: str) -> None:
    body = table(http, table_run, "data/table.csv", max_rows=3).json()
    assert body == {
        "columns": ["id", "name", "score"],
        "rows": [["0", "name 0", "0.0"], ["1", "name 1", "0.25"], ["2", "name 2", "0.5"]],
        "total_rows": 250,
        "truncated": True,
    }
    default = table(http, table_run, "data/table.csv").json()
    assert len(default["rows"]) == 100 and default["total_rows"] == 250
    whole = table(http, table_run, "data/table.csv", max_rows=1000).json()
    assert len(whole["rows"]) == 250 and whole["truncated"] is False


def test_tsv_json_and_parquet_previews(http: httpx.Client, table_run: str) -> None:
    tsv = table(http, table_run, "t.tsv").json()
    assert tsv == {
        "columns": ["a", "b"],
        "rows": [["1", "x\ty"], ["2", ""]],
        "total_rows": 2,
        "truncated": False,
    }
    records = table(http, table_run, "records.json", max_rows=2).json()
    assert records == {
        "columns": ["a", "b", "c"],
        "rows": [[1, "x", None], [2.5, None, None]],
        "total_rows": 3,
        "truncated": True,
    }
    nested = table(http, table_run, "records.json").json()["rows"][2]
    assert nested == [float(2**70), "[1,2]", None]
    split = table(http, table_run, "split.json").json()
    assert split["columns"] == ["x", "y"] and split["rows"][2] == [3, "three"]
    parquet = table(http, table_run, "frame.parquet", max_rows=5).json()
    assert parquet == {
        "columns": ["n", "f"],
        "rows": [[i, i / 2] for i in range(5)],
        "total_rows": 1000,
        "truncated": True,
    }


@pytest.mark.parametrize(
    ("path", "params", "status", "needles"),
    [
        ("image.png", {}, 400, ["Cannot show", ".csv"]),
        ("broken.parquet", {}, 400, ["as parquet"]),
        ("config.json", {}, 400, ["records"]),
        ("nothing.csv", {}, 404, ["nothing.csv"]),
        ("looks.csv", {}, 400, ["directory"]),
        ("data/table.csv", {"max_rows": 0}, 400, ["max_rows"]),
        ("data/table.csv", {"max_rows": 10_001}, 400, ["max_rows"]),
        ("../secret.csv", {}, 400, [".."]),
        ("%2e%2e/secret.csv", {}, 400, [".."]),
        ("/etc/passwd.csv", {}, 400, ["absolute"]),
        ("", {}, 400, ["path"]),
    ],
)
def test_bad_table_previews(
    http: httpx.Client,
    table_run: str,
    path: str,
    params: dict[str, Any],
    status: int,
    needles: list[str],
) -> None:
    code = "INVALID_PARAMETER_VALUE" if status == 400 else "RESOURCE_DOES_NOT_EXIST"
    assert_error(table(http, table_run, path, **params), status, code, *needles)


def test_a_large_csv_is_previewed_without_reading_it_all(
    client: TrackingClient, http: httpx.Client, live_server: str, request: pytest.FixtureRequest
) -> None:
    run_id = client.create_run(new_experiment(client, request)).info.run_id
    repo = artifacts(client, run_id, live_server)
    line = "0123456789," * 9 + "\n"  # 100 characters
    repo.log_bytes(("h\n" + line * 120_000).encode(), "big.csv")  # 12 MB: counted 8 MB on
    repo.log_bytes(b"a\n" + b"x" * (5 * MB) + b"\n", "one-line.csv")
    big = table(http, run_id, "big.csv", max_rows=2).json()
    assert big["rows"] == [line.strip().split(",")] * 2
    assert big["truncated"] is True and big["total_rows"] is None
    long = table(http, run_id, "one-line.csv")
    assert_error(long, 400, "INVALID_PARAMETER_VALUE", "line longer than")


def test_table_preview_of_an_unknown_run_is_404(http: httpx.Client) -> None:
    response = table(http, "0123456789abcdef0123456789abcdef", "a.csv")
    assert_error(response, 404, "RESOURCE_DOES_NOT_EXIST")


# ---------------------------------------------------------------- /get-artifact


@pytest.fixture(scope="module")
def files_run(live_server: str) -> str:
    client = TrackingClient(live_server)
    eid = client.create_experiment("get-artifact")
    run_id = client.create_run(eid).info.run_id
    repo = artifacts(client, run_id, live_server)
    repo.log_bytes(b"<html><script>parent.document.title='owned'</script></html>", "report.html")
    repo.log_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>', "p.svg")
    repo.log_bytes(b"\x89PNG\r\n\x1a\nrest", "plots/loss.png")
    repo.log_bytes(b"fetch('/steal')", "evil.js")
    repo.log_bytes(b"flavors: {}\n", "model/MLmodel")
    repo.log_bytes(b"hello", "notes/h\u00e9llo w.txt")
    repo.log_bytes(b"\x00\x01", "blob.bin")
    return run_id


def get_artifact(http: httpx.Client, run_id: str, path: str, **params: Any) -> httpx.Response:
    return http.get("/get-artifact", params={"run_uuid": run_id, "path": path, **params})


@pytest.mark.parametrize(
    ("path", "content_type", "sandboxed"),
    [
        ("report.html", "text/html", True),
        ("p.svg", "image/svg+xml", True),
        ("plots/loss.png", "image/png", False),
        ("evil.js", "text/plain", False),  # never a script type this origin's CSP would run
        ("model/MLmodel", "text/plain", False),
        ("blob.bin", "application/octet-stream", True),
    ],
)
def test_get_artifact_serves_bytes_typed_and_sandboxed(
    http: httpx.Client, files_run: str, path: str, content_type: str, sandboxed: bool
) -> None:
    response = get_artifact(http, files_run, path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert (response.headers.get("content-security-policy") == "sandbox") is sandboxed
    assert "content-disposition" not in response.headers
    listed = http.get(
        "/ajax-api/2.0/mlflow/artifacts/list",
        params={"run_id": files_run, "path": path.rpartition("/")[0]},
    ).json()
    size = next(f["file_size"] for f in listed["files"] if f["path"].endswith(path))
    assert len(response.content) == size


def test_get_artifact_downloads_as_an_attachment(http: httpx.Client, files_run: str) -> None:
    plain = http.get("/get-artifact", params={"run_id": files_run, "path": "report.html"})
    assert plain.status_code == 200 and b"<script>" in plain.content
    download = get_artifact(http, files_run, "report.html", download=1)
    assert download.headers["content-disposition"] == 'attachment; filename="report.html"'
    assert download.headers["content-security-policy"] == "sandbox"
    unicode = get_artifact(http, files_run, "notes/h\u00e9llo w.txt", download="true")
    assert unicode.content == b"hello"
    assert unicode.headers["content-disposition"] == (
        "attachment; filename*=utf-8''h%C3%A9llo%20w.txt"
    )
    assert_error(
        get_artifact(http, files_run, "report.html", download="maybe"),
        400,
        "INVALID_PARAMETER_VALUE",
        "download",
    )


@pytest.mark.parametrize(
    "path",
    [
        "../../../etc/passwd",
        "plots/../../x",
        "%2e%2e/%2e%2e/etc/passwd",
        "plots%2f..%2f..%2fx",
        "/etc/passwd",
        "C:\\Windows\\win.ini",
        "plots\\..\\..\\x",
        "a\x00b",
        "",
    ],
)
def test_get_artifact_refuses_paths_that_leave_the_run(
    http: httpx.Client, files_run: str, path: str
) -> None:
    assert_error(get_artifact(http, files_run, path), 400, "INVALID_PARAMETER_VALUE")


def test_get_artifact_refuses_traversal_in_the_raw_query(
    http: httpx.Client, files_run: str
) -> None:
    """Encoded in the URL itself, as a browser could send it (decoded once by the server)."""
    for raw in ("..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fx", "%252e%252e%252fx", "..%5cx"):
        response = http.get(f"/get-artifact?run_uuid={files_run}&path={raw}")
        assert_error(response, 400, "INVALID_PARAMETER_VALUE")


def test_get_artifact_missing_things(http: httpx.Client, files_run: str) -> None:
    assert_error(get_artifact(http, files_run, "nope.txt"), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(
        get_artifact(http, files_run, "plots"), 400, "INVALID_PARAMETER_VALUE", "directory"
    )
    unknown = get_artifact(http, "0123456789abcdef0123456789abcdef", "a.txt")
    assert_error(unknown, 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(
        http.get("/get-artifact", params={"path": "a.txt"}), 400, "INVALID_PARAMETER_VALUE"
    )


@pytest.mark.slow
def test_get_artifact_streams_a_large_file_in_bounded_memory(tmp_path: Path) -> None:
    """The server runs in a process of its own, so its peak resident set (``VmHWM``) shows
    whether any layer held the file: 256 MB through it must not raise the peak by 64 MB."""
    size = 256 * MB
    if os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize < 3 * size:
        pytest.skip("needs 768 MB of free disk space")
    source = tmp_path / "big.bin"
    block = os.urandom(MB)
    digest = hashlib.sha256()
    with source.open("wb") as f:
        for _ in range(size // MB):
            f.write(block)
            digest.update(block)
    server = ProxyServer(tmp_path / "server", str(tmp_path / "server" / "dest")).start()
    try:
        client = TrackingClient(server.url)
        run_id = client.create_run(client.create_experiment("big")).info.run_id
        artifacts(client, run_id, server.url).log_artifact(str(source), "data")
        source.unlink()
        before = server.peak_rss_bytes()
        received = hashlib.sha256()
        total = 0
        params = {"run_uuid": run_id, "path": "data/big.bin", "download": "1"}
        with httpx.stream("GET", f"{server.url}/get-artifact", params=params, timeout=120) as r:
            assert r.status_code == 200
            assert r.headers["content-length"] == str(size)
            for chunk in r.iter_bytes(MB):
                received.update(chunk)
                total += len(chunk)
        peak = server.peak_rss_bytes()
    finally:
        server.stop()
    assert (total, received.hexdigest()) == (size, digest.hexdigest())
    assert peak - before < 64 * MB, f"peak RSS rose from {before / MB:.0f} to {peak / MB:.0f} MB"


def test_artifacts_from_an_object_store_stream_and_preview(tmp_path: Path) -> None:
    """The same endpoints when the run's files live in S3 (moto): downloads stream from the
    object's body, parquet is copied to a temp file first, errors do not name the bucket."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    moto = MotoS3Server().start()
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            use_moto_env(moto, monkeypatch)
            bucket = moto.create_bucket()
            server = ProxyServer(tmp_path / "server", f"s3://{bucket}/root").start()
        try:
            client = TrackingClient(server.url)
            run_id = client.create_run(client.create_experiment("s3")).info.run_id
            repo = artifacts(client, run_id, server.url)
            payload = os.urandom(3 * MB)
            repo.log_bytes(payload, "bin/blob.dat")
            repo.log_bytes(b"<p>hi</p>", "page.html")
            repo.log_bytes(b"a,b\n1,2\n3,4\n", "t.csv")
            buffer = io.BytesIO()
            pq.write_table(pa.table({"k": ["x", "y", "z"]}), buffer)
            repo.log_bytes(buffer.getvalue(), "k.parquet")
            with httpx.Client(base_url=server.url, timeout=60) as http:
                blob = get_artifact(http, run_id, "bin/blob.dat")
                assert blob.status_code == 200 and blob.content == payload
                assert blob.headers["content-security-policy"] == "sandbox"
                page = get_artifact(http, run_id, "page.html", download="1")
                assert page.headers["content-type"].startswith("text/html")
                assert page.headers["content-disposition"] == 'attachment; filename="page.html"'
                assert table(http, run_id, "t.csv").json()["rows"] == [["1", "2"], ["3", "4"]]
                parquet = table(http, run_id, "k.parquet", max_rows=2).json()
                assert parquet["rows"] == [["x"], ["y"]] and parquet["total_rows"] == 3
                for response in (
                    get_artifact(http, run_id, "bin/missing.dat"),
                    table(http, run_id, "missing.csv"),
                ):
                    assert_error(response, 404, "RESOURCE_DOES_NOT_EXIST")
                    assert bucket not in response.json()["message"]
                assert_error(get_artifact(http, run_id, "bin"), 400, "INVALID_PARAMETER_VALUE")
        finally:
            server.stop()
    finally:
        moto.stop()


# ---------------------------------------------------------------- logged model files


def test_logged_model_files_are_served_like_run_files(
    client: TrackingClient, http: httpx.Client, live_server: str, request: pytest.FixtureRequest
) -> None:
    """MLflow 3 keeps a logged model's files outside its run's artifacts; the UI previews and
    downloads them through MLflow's ``logged-models/{id}/artifacts/files``."""
    eid = new_experiment(client, request)
    model = client.store.create_logged_model(eid, name="m")
    files = HttpArtifactRepository(model.artifact_location, tracking_uri=live_server)
    files.log_bytes(b"flavors: {}\n", "MLmodel")
    files.log_bytes(b"<script>alert(1)</script>", "card.html")
    path = f"/ajax-api/2.0/mlflow/logged-models/{model.model_id}/artifacts/files"

    mlmodel = http.get(path, params={"artifact_file_path": "MLmodel"})
    assert mlmodel.status_code == 200 and mlmodel.content == b"flavors: {}\n"
    assert mlmodel.headers["content-type"].startswith("text/plain")
    page = http.get(path, params={"artifact_file_path": "card.html", "download": "1"})
    assert page.headers["content-security-policy"] == "sandbox"
    assert page.headers["content-disposition"] == 'attachment; filename="card.html"'

    for bad in ("../../etc/passwd", "/etc/passwd", "a\\..\\..\\b", ""):
        assert_error(
            http.get(path, params={"artifact_file_path": bad}), 400, "INVALID_PARAMETER_VALUE"
        )
    assert_error(
        http.get(path, params={"artifact_file_path": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST"
    )
    unknown = "/ajax-api/2.0/mlflow/logged-models/m-0000/artifacts/files"
    assert_error(
        http.get(unknown, params={"artifact_file_path": "MLmodel"}), 404, "RESOURCE_DOES_NOT_EXIST"
    )
