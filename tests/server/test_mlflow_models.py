"""The unmodified ``mlflow`` client against a live ``cairn server``: artifacts and logged models.

One server per backend (SQLite, then a real PostgreSQL), with the artifact proxy on a local
directory and ``--access-log`` on, so a failure can be traced to the exact request. Everything
goes through mlflow's public API: artifacts up and down through the proxy (unicode and ``+`` in
names), an sklearn model logged and loaded back two ways, the logged-model records and the
run's outputs, metrics linked to a model. The model registry is out of scope (a later issue):
``log_model`` without ``registered_model_name`` must not call it (checked on the client side).

Each ``log_model`` prints its wall time and the part of it spent in HTTP (run with ``-s`` to see
it). The default call takes seconds whatever the server: the client infers pip requirements by
loading the model in a subprocess. With ``pip_requirements`` given the rest is a dozen requests.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rest_server import LiveServer, free_port

REGISTRY_PATHS = ("/registered-models/", "/model-versions/")


class Server(LiveServer):
    """``cairn server`` on ``backend_store_uri`` with proxied artifacts and an access log."""

    def __init__(self, root: Path, backend: str, backend_store_uri: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.backend = backend
        port = free_port()
        command = [
            sys.executable,
            "-c",
            "from cairn.cli import main; main()",
            "server",
            "--port",
            str(port),
            "--backend-store-uri",
            backend_store_uri,
            "--artifacts-destination",
            str(root / "artifacts"),
            "--access-log",
        ]
        super().__init__(command, port, root)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One live server per backend, shared by this module's tests (each uses its own experiment)."""
    pytest.importorskip("mlflow", reason="mlflow is not installed in this venv")
    root = tmp_path_factory.mktemp(f"models-{request.param}")
    postgres = None
    if request.param == "postgres":
        postgres = request.getfixturevalue("postgres_server")
        database = f"test_{uuid.uuid4().hex[:16]}"
        uri = postgres.create_database(database)
    else:
        uri = f"sqlite:///{root}/cairn.db"
    live = Server(root / "server", request.param, uri)
    try:
        yield live.start()
    finally:
        live.stop()
        if postgres is not None:
            postgres.drop_database(database)


@pytest.fixture
def live_server(server: Server) -> str:
    """This module's server, for the shared ``mlflow`` and ``client`` fixtures (conftest)."""
    return server.url


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its relative POSIX path, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def listing(client: Any, run_id: str, path: str | None = None) -> dict[str, tuple[bool, Any]]:
    return {f.path: (f.is_dir, f.file_size) for f in client.list_artifacts(run_id, path)}


# ---------------------------------------------------------------- artifacts


UNICODE_NAME = "données ü 日本.txt"
PLUS_NAME = "a+b=c.txt"


def test_artifacts_round_trip(mlflow: Any, client: Any, tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "nested" / "deeper").mkdir(parents=True)
    files = {
        "top.txt": b"top level\n",
        "nested/weights.bin": bytes(range(256)) * 64,
        "nested/deeper/config.json": b'{"depth": 2}',
        f"nested/{UNICODE_NAME}": "é ü 日本\n".encode(),
        f"nested/{PLUS_NAME}": b"plus stays a plus",
    }
    for rel, content in files.items():
        (source / rel).write_bytes(content)
    single = tmp_path / "single.csv"
    single.write_bytes(b"a,b\n1,2\n")
    unicode_file = tmp_path / UNICODE_NAME
    unicode_file.write_bytes(b"unicode at the top\n")
    plus_file = tmp_path / PLUS_NAME
    plus_file.write_bytes(b"1+1=2")

    mlflow.set_experiment(f"artifacts-{uuid.uuid4().hex[:8]}")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifact(str(single), artifact_path="sub/dir")
        mlflow.log_artifact(str(unicode_file))
        mlflow.log_artifact(str(plus_file), artifact_path="p+q")
        mlflow.log_artifacts(str(source), artifact_path="tree")
        mlflow.log_text("hello ü\n", "texts/hello.txt")
        mlflow.log_dict({"a": 1, "b": [1, 2], "c": "ü"}, "texts/config.json")
        mlflow.log_dict({"k": "v"}, "texts/config.yaml")
    run_id = run.info.run_id

    assert listing(client, run_id) == {
        "single.csv": (False, 8),
        UNICODE_NAME: (False, len(b"unicode at the top\n")),
        "p+q": (True, None),
        "sub": (True, None),
        "texts": (True, None),
        "tree": (True, None),
    }
    assert listing(client, run_id, "tree") == {
        "tree/top.txt": (False, len(files["top.txt"])),
        "tree/nested": (True, None),
    }
    assert listing(client, run_id, "tree/nested") == {
        "tree/nested/weights.bin": (False, 256 * 64),
        "tree/nested/deeper": (True, None),
        f"tree/nested/{UNICODE_NAME}": (False, len(files[f"nested/{UNICODE_NAME}"])),
        f"tree/nested/{PLUS_NAME}": (False, len(files[f"nested/{PLUS_NAME}"])),
    }
    assert listing(client, run_id, "p+q") == {f"p+q/{PLUS_NAME}": (False, 5)}
    assert listing(client, run_id, "tree/missing") == {}
    assert listing(client, run_id, "single.csv") == {}  # a file lists as nothing, as in MLflow

    download = mlflow.artifacts.download_artifacts
    out = tmp_path / "out"
    got = Path(download(run_id=run_id, artifact_path="single.csv", dst_path=str(out / "1")))
    assert got.name == "single.csv" and got.read_bytes() == single.read_bytes()
    got = Path(download(run_id=run_id, artifact_path="sub/dir/single.csv", dst_path=str(out / "2")))
    assert got.read_bytes() == single.read_bytes()
    got = Path(download(run_id=run_id, artifact_path=UNICODE_NAME, dst_path=str(out / "3")))
    assert got.name == UNICODE_NAME and got.read_bytes() == unicode_file.read_bytes()
    got = Path(download(run_id=run_id, artifact_path=f"p+q/{PLUS_NAME}", dst_path=str(out / "4")))
    assert got.name == PLUS_NAME and got.read_bytes() == plus_file.read_bytes()
    got = Path(download(run_id=run_id, artifact_path="tree", dst_path=str(out / "5")))
    assert got.is_dir() and tree(got) == files
    got = Path(download(run_id=run_id, artifact_path="tree/nested", dst_path=str(out / "6")))
    assert tree(got) == {
        k[len("nested/") :]: v for k, v in files.items() if k.startswith("nested/")
    }

    assert mlflow.artifacts.load_text(f"runs:/{run_id}/texts/hello.txt") == "hello ü\n"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/texts/config.json") == {
        "a": 1,
        "b": [1, 2],
        "c": "ü",
    }
    everything = Path(download(run_id=run_id, dst_path=str(out / "all")))
    assert tree(everything) == {
        "single.csv": single.read_bytes(),
        "sub/dir/single.csv": single.read_bytes(),
        UNICODE_NAME: unicode_file.read_bytes(),
        f"p+q/{PLUS_NAME}": plus_file.read_bytes(),
        **{f"tree/{k}": v for k, v in files.items()},
        "texts/hello.txt": "hello ü\n".encode(),
        "texts/config.json": (everything / "texts/config.json").read_bytes(),
        "texts/config.yaml": (everything / "texts/config.yaml").read_bytes(),
    }
    assert json.loads((everything / "texts/config.json").read_text()) == {
        "a": 1,
        "b": [1, 2],
        "c": "ü",
    }
    assert yaml.safe_load((everything / "texts/config.yaml").read_text()) == {"k": "v"}


# ---------------------------------------------------------------- logged models


@pytest.fixture(scope="module")
def iris() -> tuple[Any, Any, Any]:
    """A small fitted LogisticRegression on iris (shipped with sklearn: no download)."""
    pytest.importorskip("sklearn", reason="scikit-learn is not installed in this venv")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(X, y)
    return model, X, y


def timed_log_model(
    server: Server, monkeypatch: pytest.MonkeyPatch, label: str, log: Callable[[], Any]
) -> Any:
    """Call ``log()`` (a ``log_model``), print its wall time and the part spent in HTTP, and
    check it called the logged-model endpoints but not the registry."""
    import requests

    send = requests.Session.request
    calls: list[tuple[str, str, float]] = []

    def timed_request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return send(self, method, url, *args, **kwargs)
        finally:
            calls.append((method, url, time.perf_counter() - start))

    with monkeypatch.context() as patch:
        patch.setattr(requests.Session, "request", timed_request)
        start = time.perf_counter()
        info = log()
        elapsed = time.perf_counter() - start
    http = sum(c[2] for c in calls)
    print(
        f"\n[{server.backend}] {label}: log_model took {elapsed:.2f} s, "
        f"{http:.3f} s of it in {len(calls)} HTTP requests"
    )
    urls = [f"{method} {url}" for method, url, _ in calls]
    assert not [u for u in urls if any(p in u for p in REGISTRY_PATHS)], urls
    assert any("/logged-models" in u for u in urls), urls
    return info


def test_sklearn_model(
    mlflow: Any,
    client: Any,
    server: Server,
    iris: tuple[Any, Any, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``log_model`` exactly as the docs show it (the client infers the pip requirements)."""
    import mlflow.pyfunc
    import mlflow.sklearn
    import numpy as np

    model, X, _ = iris
    expected = model.predict(X)
    experiment_id = mlflow.set_experiment(f"sklearn-{uuid.uuid4().hex[:8]}").experiment_id
    with mlflow.start_run() as run:
        mlflow.log_param("max_iter", 500)
        info = timed_log_model(
            server,
            monkeypatch,
            "sklearn, input example, inferred requirements",
            lambda: mlflow.sklearn.log_model(model, name="model", input_example=X[:5]),
        )
    run_id = run.info.run_id
    assert info.model_id.startswith("m-") and info.run_id == run_id
    assert info.model_uri == f"models:/{info.model_id}"
    assert info.flavors.keys() >= {"sklearn", "python_function"}

    loaded = mlflow.sklearn.load_model(info.model_uri)
    assert np.array_equal(loaded.predict(X), expected)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    assert np.array_equal(np.asarray(pyfunc.predict(X)), expected)
    assert pyfunc.metadata.model_id == info.model_id

    logged = client.get_logged_model(info.model_id)
    assert str(logged.status) == "READY"
    assert (logged.name, logged.source_run_id, logged.experiment_id) == (
        "model",
        run_id,
        experiment_id,
    )
    assert logged.artifact_location == (
        f"mlflow-artifacts:/{experiment_id}/models/{info.model_id}/artifacts"
    )
    found = mlflow.search_logged_models(
        experiment_ids=[experiment_id],
        filter_string=f"source_run_id = '{run_id}'",
        output_format="list",
    )
    assert [(m.model_id, str(m.status)) for m in found] == [(info.model_id, "READY")]
    frame = mlflow.search_logged_models(experiment_ids=[experiment_id])
    assert list(frame["model_id"]) == [info.model_id]
    assert list(frame["status"].astype(str)) == ["READY"]

    outputs = client.get_run(run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(info.model_id, 0)]
    model_files = {f.path for f in client.list_logged_model_artifacts(info.model_id)}
    assert {"MLmodel", "input_example.json", "requirements.txt"} <= model_files


def test_metrics_linked_to_a_model(
    mlflow: Any,
    client: Any,
    server: Server,
    iris: tuple[Any, Any, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Plain logging (no autolog): a model, then metrics naming it through ``model_id``.

    cairn promises only that this is accepted and that the run has the metrics; whether the
    logged model also lists them (MLflow's link) is not asserted.
    """
    import mlflow.sklearn

    model, X, y = iris
    experiment_id = mlflow.set_experiment(f"linked-{uuid.uuid4().hex[:8]}").experiment_id
    with mlflow.start_run() as run:
        info = timed_log_model(
            server,
            monkeypatch,
            "sklearn, requirements given",
            lambda: mlflow.sklearn.log_model(
                model, name="classifier", pip_requirements=["scikit-learn"]
            ),
        )
        accuracy = float(model.score(X, y))
        mlflow.log_metric("accuracy", accuracy, model_id=info.model_id)
        mlflow.log_metric("loss", 0.25, step=3, model_id=info.model_id)
        mlflow.log_metrics({"f1": 0.9, "recall": 0.8}, model_id=info.model_id)
        # No model_id given: the mlflow 3.17 client sends the model log_model just made active.
        mlflow.log_metric("later", 1.0)
    metrics = client.get_run(run.info.run_id).data.metrics
    assert metrics == {
        "accuracy": accuracy,
        "loss": 0.25,
        "f1": 0.9,
        "recall": 0.8,
        "later": 1.0,
    }
    logged = client.get_logged_model(info.model_id)
    assert str(logged.status) == "READY" and logged.source_run_id == run.info.run_id
    linked = {m.key: (m.value, m.run_id) for m in logged.metrics or []}
    by_run = run.info.run_id
    assert linked == {
        "accuracy": (accuracy, by_run),
        "loss": (0.25, by_run),
        "f1": (0.9, by_run),
        "recall": (0.8, by_run),
        "later": (1.0, by_run),
    }
    found = mlflow.search_logged_models(experiment_ids=[experiment_id], output_format="list")
    assert [m.model_id for m in found] == [info.model_id]
