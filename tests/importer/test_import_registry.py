"""``cairn import`` of MLflow's model registry, from a store the real MLflow client wrote.

What MLflow's client reads back from the source is compared with what cairn's registry store
reads from the destination: models, versions (numbers kept), stages, tags, aliases and times.
Versions registered from a run's files point at cairn's copy of them and load through
``models:/<name>@<alias>``. Then the import runs again (nothing may change, not even the audit
trail), MLflow registers more, and the next import brings exactly that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cairn.errors import CairnError
from cairn.store.db import schema
from cairn.store.db.engine import get_engine, read_transaction
from cairn.store.registry.sql import SqlRegistryStore
from cairn.tracking.client import TrackingClient
from import_support import cairn_import, summary
from rest_server import LiveServer

mlflow = pytest.importorskip("mlflow")
sklearn = pytest.importorskip("sklearn")

REGISTRY_TABLES = (
    "registered_models",
    "registered_model_tags",
    "model_versions",
    "model_version_tags",
    "registered_model_aliases",
    "registry_events",
)
X = [[0.0], [1.0], [2.0], [3.0]]


def populate_registry(uri: str, root: Path, artifacts_under: Path | None) -> dict[str, Any]:
    """Two registered models: "classifier" with a version registered from a run's files,
    one from a ``runs:/`` URI, one from a logged model, and a deleted fourth (the highest
    number); "empty" with none. Stages, tags, descriptions and aliases on them."""
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient()
    location = None if artifacts_under is None else str(artifacts_under / "models")
    exp = mlflow.create_experiment("models", artifact_location=location)
    model = LogisticRegression().fit(X, [0, 0, 1, 1])
    with mlflow.start_run(experiment_id=exp, run_name="train") as run:
        mlflow.sklearn.save_model(model, root / "saved")
        mlflow.log_artifacts(str(root / "saved"), "model")
        logged = mlflow.sklearn.log_model(model, name="logged")
    run_id = run.info.run_id
    client.create_registered_model("classifier", tags={"team": "ml"}, description="Threshold")
    mlflow.register_model(f"runs:/{run_id}/model", "classifier")
    client.create_model_version(
        "classifier", f"runs:/{run_id}/model", run_id=run_id, tags={"k": "v"}, description="d2"
    )
    client.create_model_version("classifier", logged.model_uri, model_id=logged.model_id)
    client.create_model_version("classifier", f"runs:/{run_id}/model", run_id=run_id)
    client.delete_model_version("classifier", "4")
    client.transition_model_version_stage("classifier", "1", "Production")
    client.transition_model_version_stage("classifier", "2", "Staging")
    client.set_model_version_tag("classifier", "1", "validated", "yes")
    client.set_registered_model_alias("classifier", "champion", "1")
    client.set_registered_model_alias("classifier", "challenger", "3")
    client.create_registered_model("empty", description="nothing registered yet")
    return {"run_id": run_id, "model_id": logged.model_id, "model_uri": logged.model_uri}


def registry_counts(db_uri: str) -> dict[str, int]:
    with read_transaction(get_engine(db_uri)) as conn:
        return {
            name: conn.execute(
                select(func.count()).select_from(schema.metadata.tables[name])
            ).scalar_one()
            for name in REGISTRY_TABLES
        }


def assert_same_registry(client: Any, store: SqlRegistryStore) -> None:
    """Every model and live version MLflow shows, with the same fields in cairn."""
    theirs = {m.name: m for m in client.search_registered_models()}
    for name, src in theirs.items():
        mine = store.get_registered_model(name)
        assert mine.description == (src.description or None)
        assert mine.tags == src.tags
        assert mine.creation_timestamp == src.creation_timestamp
        assert mine.last_updated_timestamp == src.last_updated_timestamp
        assert mine.aliases == {alias: int(v) for alias, v in src.aliases.items()}
        for found in client.search_model_versions(f"name = '{name}'"):
            v = client.get_model_version(name, found.version)  # search leaves aliases out
            got = store.get_model_version(name, v.version)
            assert got.version == int(v.version)
            assert got.creation_timestamp == v.creation_timestamp
            assert got.last_updated_timestamp == v.last_updated_timestamp
            assert got.current_stage == v.current_stage
            assert got.status == v.status
            assert got.description == (v.description or None)  # REST shows None as ""
            assert got.user_id == (v.user_id or None)
            assert got.tags == v.tags
            assert got.run_id == v.run_id
            assert sorted(got.aliases) == sorted(v.aliases)


def _inside(uri: str, root: Path) -> Path:
    path = Path(uri.removeprefix("file://"))
    assert path.is_relative_to(root), (uri, root)
    return path


# ----------------------------------------------------------------------------- the SQL source


def test_import_registry_round_trip_re_run_and_increment(
    mlflow_db: str, db_uri: str, tmp_path: Path, artifact_root: Path, use_mlflow: Any
) -> None:
    ids = populate_registry(mlflow_db, tmp_path, artifacts_under=tmp_path / "mlflow-artifacts")
    client = mlflow.MlflowClient(mlflow_db)

    first = cairn_import("--from", mlflow_db, "--to", db_uri)
    rows = summary(first)
    assert rows["registered models"] == "2 new, 0 updated, 0 unchanged"
    assert rows["model versions"] == "3 new, 0 updated, 0 unchanged"
    assert "1 model version keeps its files where MLflow has them" in first.stderr
    store = SqlRegistryStore(db_uri)
    assert_same_registry(client, store)

    # Version 1 was registered from the run's files: it points at cairn's copy, which loads.
    v1 = store.get_model_version("classifier", 1)
    assert v1.source.startswith(str(artifact_root)), v1.source
    local = _inside(store.get_model_version_download_uri("classifier", 1), artifact_root)
    assert (local / "MLmodel").is_file()
    # Version 2 keeps its runs:/ source (run ids are kept) and resolves to the same copy.
    assert store.get_model_version("classifier", 2).source == f"runs:/{ids['run_id']}/model"
    assert store.get_model_version_download_uri("classifier", 2) == str(local)
    # Version 3 is a logged model, which the import does not copy: MLflow's location.
    v3 = store.get_model_version("classifier", 3)
    assert (v3.source, v3.model_id) == (ids["model_uri"], ids["model_id"])
    assert store.get_model_version_download_uri("classifier", 3) == (
        client.get_model_version_download_uri("classifier", "3")
    )
    with pytest.raises(CairnError, match="not found"):
        store.get_model_version("classifier", 4)  # deleted in MLflow
    assert store.get_model_version_by_alias("classifier", "champion").version == 1
    assert [v.version for v in store.get_latest_versions("classifier", ["Production"])] == [1]

    # One audit row per created model and version, dated as in MLflow, and nothing else.
    history = list(store.get_registry_history("classifier"))
    assert sorted((e.event, e.version) for e in history) == [
        ("model_version.created", 1),
        ("model_version.created", 2),
        ("model_version.created", 3),
        ("registered_model.created", None),
    ]
    assert {e.user_id for e in history} == {"cairn-import"}  # MLflow recorded no users
    created = {e.version: e.timestamp for e in history}
    assert created[1] == v1.creation_timestamp

    # cairn loads models:/<name>@<alias> from the imported store.
    import cairn
    import cairn.pyfunc

    cairn.set_tracking_uri(db_uri)
    loaded = cairn.pyfunc.load_model("models:/classifier@champion")
    assert list(loaded.predict(X)) == [0, 0, 1, 1]

    counts = registry_counts(db_uri)
    again = cairn_import("--from", mlflow_db, "--to", db_uri)
    assert summary(again)["registered models"] == "0 new, 0 updated, 2 unchanged"
    assert summary(again)["model versions"] == "0 new, 0 updated, 3 unchanged"
    assert registry_counts(db_uri) == counts

    # MLflow registers more; the next import brings exactly that.
    mlflow.set_tracking_uri(mlflow_db)
    client.create_model_version("classifier", f"runs:/{ids['run_id']}/model", run_id=ids["run_id"])
    client.set_registered_model_alias("classifier", "champion", "5")
    client.update_model_version("classifier", "2", description="better")
    client.set_registered_model_tag("empty", "owner", "bo")
    third = cairn_import("--from", mlflow_db, "--to", db_uri)
    assert summary(third)["registered models"] == "0 new, 2 updated, 0 unchanged"
    assert summary(third)["model versions"] == "1 new, 1 updated, 2 unchanged"
    assert_same_registry(client, store)
    assert store.get_model_version_by_alias("classifier", "champion").version == 5
    assert registry_counts(db_uri)["registry_events"] == counts["registry_events"] + 1

    # Numbers MLflow gave out, deleted ones included, are never given out again.
    new = store.create_model_version(
        "classifier", f"runs:/{ids['run_id']}/model", run_id=ids["run_id"]
    )
    assert new.version == 6
    assert store.create_model_version("empty", f"runs:/{ids['run_id']}/model").version == 1


def test_versions_cairn_already_numbered_are_left_alone(
    mlflow_db: str, sqlite_uri: str, tmp_path: Path, artifact_root: Path, use_mlflow: Any
) -> None:
    """A model cairn has already, with its own version 1: the import never renumbers, so the
    source's version 1 (and the alias on it) stay out, with a warning; the rest comes in."""
    own_run = TrackingClient(sqlite_uri).create_run("0").info.run_id
    store = SqlRegistryStore(sqlite_uri)
    store.create_registered_model("classifier", tags={"mine": "yes"})
    store.create_model_version("classifier", f"runs:/{own_run}/model", run_id=own_run)
    ids = populate_registry(mlflow_db, tmp_path, artifacts_under=tmp_path / "mlflow-artifacts")
    result = cairn_import("--from", mlflow_db, "--to", sqlite_uri)
    assert "version 1 already exists in cairn as another version" in result.stderr
    assert "alias 'champion'" in result.stderr
    assert summary(result)["model versions"] == "2 new, 0 updated, 0 unchanged"
    mine = store.get_registered_model("classifier")
    assert mine.tags == {"mine": "yes", "team": "ml"}
    assert mine.aliases == {"challenger": 3}
    assert store.get_model_version("classifier", 1).run_id == own_run  # still cairn's own
    assert store.get_model_version("classifier", 2).run_id == ids["run_id"]


def test_dry_run_no_registry_and_registry_later(
    mlflow_db: str, sqlite_uri: str, tmp_path: Path, artifact_root: Path, use_mlflow: Any
) -> None:
    populate_registry(mlflow_db, tmp_path, artifacts_under=tmp_path / "mlflow-artifacts")
    dry = cairn_import("--from", mlflow_db, "--to", sqlite_uri, "--dry-run")
    assert summary(dry)["registered models"] == "2 new, 0 updated, 0 unchanged"
    assert summary(dry)["model versions"] == "3 new, 0 updated, 0 unchanged"
    assert not Path(sqlite_uri.removeprefix("sqlite:///")).exists()
    without = cairn_import("--from", mlflow_db, "--to", sqlite_uri, "--no-registry")
    assert summary(without)["registered models"] == "0 new, 0 updated, 0 unchanged"
    assert registry_counts(sqlite_uri)["registered_models"] == 0
    # The registry alone later (another experiment chosen): versions still find the runs
    # imported before, and point at cairn's copy of their files.
    later = cairn_import("--from", mlflow_db, "--to", sqlite_uri, "-e", "Default")
    assert summary(later)["runs"] == "0 new, 0 updated, 0 unchanged"
    assert summary(later)["model versions"] == "3 new, 0 updated, 0 unchanged"
    store = SqlRegistryStore(sqlite_uri)
    assert store.get_model_version("classifier", 1).source.startswith(str(artifact_root))


# ----------------------------------------------------------------------------- the server source


@pytest.mark.slow
def test_import_registry_from_a_tracking_server(
    mlflow_server: LiveServer, tmp_path: Path, artifact_root: Path, use_mlflow: Any
) -> None:
    """Over REST: versions registered from a run's files behind MLflow's artifact proxy
    (``mlflow-artifacts:/``) point at cairn's copy. A server hides deleted versions, so their
    numbers cannot be reserved: the one honest gap of this source."""
    ids = populate_registry(mlflow_server.url, tmp_path, artifacts_under=None)
    client = mlflow.MlflowClient(mlflow_server.url)
    assert client.get_model_version("classifier", "1").source.startswith("mlflow-artifacts:")
    dest_uri = f"sqlite:///{tmp_path}/from-server.db"

    first = cairn_import("--from", mlflow_server.url, "--to", dest_uri)
    assert summary(first)["registered models"] == "2 new, 0 updated, 0 unchanged"
    assert summary(first)["model versions"] == "3 new, 0 updated, 0 unchanged"
    store = SqlRegistryStore(dest_uri)
    assert_same_registry(client, store)
    local = _inside(store.get_model_version_download_uri("classifier", 1), artifact_root)
    assert (local / "MLmodel").is_file()
    assert store.get_model_version_download_uri("classifier", 3) == (
        client.get_model_version_download_uri("classifier", "3")
    )
    assert store.get_model_version("classifier", 3).model_id == ids["model_id"]

    counts = registry_counts(dest_uri)
    again = cairn_import("--from", mlflow_server.url, "--to", dest_uri)
    assert summary(again)["model versions"] == "0 new, 0 updated, 3 unchanged"
    assert registry_counts(dest_uri) == counts

    # Whatever the server answers, a version naming files outside its run is refused.
    root = client.get_run(ids["run_id"]).info.artifact_uri
    escapes = {5: f"{root}/../../../outside", 6: str(tmp_path), 7: f"runs:/{ids['run_id']}/../x"}
    craft_versions(
        f"sqlite:///{tmp_path}/server/mlflow.db",
        [
            {"name": "classifier", "version": n, "source": s, "run_id": ids["run_id"]}
            for n, s in escapes.items()
        ],
    )
    crafted = cairn_import("--from", mlflow_server.url, "--to", dest_uri)
    assert summary(crafted)["model versions"] == "0 new, 0 updated, 3 unchanged"
    out = " ".join(crafted.stderr.split())
    for number, source in escapes.items():
        assert f"model 'classifier' version {number} not imported: its source {source!r}" in out
    assert registry_counts(dest_uri) == counts


# ----------------------------------------------------------------------------- refused sources


def craft_versions(mlflow_uri: str, rows: list[dict[str, Any]]) -> None:
    """Write versions straight into MLflow's ``model_versions`` table, as a store MLflow's own
    API once let through (or someone with the database) could hold them."""
    from sqlalchemy import MetaData, create_engine, insert

    engine = create_engine(mlflow_uri)
    try:
        meta = MetaData()
        meta.reflect(bind=engine, only=["model_versions"])
        with engine.begin() as conn:
            conn.execute(
                insert(meta.tables["model_versions"]),
                [
                    {
                        "creation_time": 1_700_000_000_000 + row["version"],
                        "last_updated_time": 1_700_000_000_000 + row["version"],
                        "current_stage": "None",
                        "status": "READY",
                        "storage_location": row["source"],
                        **row,
                    }
                    for row in rows
                ],
            )
    finally:
        engine.dispose()


def test_sources_outside_the_runs_and_models_are_refused(
    mlflow_db: str, db_uri: str, tmp_path: Path, artifact_root: Path, use_mlflow: Any
) -> None:
    """The store's rule for what a source may name holds for imported versions too: ``..``
    out of a run, a sibling that shares the root's prefix, an arbitrary local path, a logged
    model whose recorded location is elsewhere. Each is left out and reported, never written,
    in a dry run and a real one, and again on the next import; the honest version comes in."""
    mlflow.set_tracking_uri(mlflow_db)
    client = mlflow.MlflowClient()
    exp = mlflow.create_experiment("crafted", str(tmp_path / "mlflow-artifacts"))
    with mlflow.start_run(experiment_id=exp) as run:
        mlflow.log_text("flavors: {}\n", "model/MLmodel")
    run_id, root = run.info.run_id, run.info.artifact_uri
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "MLmodel").write_text("not for you\n")
    client.create_registered_model("crafted")
    client.create_model_version("crafted", f"runs:/{run_id}/model", run_id=run_id)
    elsewhere = {"storage_location": str(secret)}  # what MLflow says is where the files are
    refused = {
        2: {"source": f"runs:/{run_id}/../../../secret", "run_id": run_id},
        3: {"source": f"{root}/../../../secret", "run_id": run_id},
        4: {"source": f"{root}-sibling/model", "run_id": run_id},
        5: {"source": str(secret), "run_id": None},
        6: {"source": "models:/m-0123456789abcdef", "run_id": run_id, **elsewhere},
        7: {"source": f"{root}/%2e%2e/%2e%2e/%2e%2e/secret", "run_id": run_id},
        8: {"source": f"runs:/{run_id}/model", "run_id": "0" * 32, **elsewhere},
    }
    craft_versions(mlflow_db, [{"name": "crafted", "version": n, **r} for n, r in refused.items()])
    client.set_registered_model_alias("crafted", "sneaky", "5")
    client.set_registered_model_alias("crafted", "honest", "1")

    def assert_refused(result: Any, versions: str = "1 new, 0 updated, 0 unchanged") -> None:
        assert summary(result)["model versions"] == versions
        out = " ".join(result.stderr.split())
        for number, row in refused.items():
            assert f"model 'crafted' version {number} not imported: its source" in out
            assert repr(row["source"]) in out
        assert "alias 'sneaky' of model 'crafted' points at version 5" in out

    assert_refused(cairn_import("--from", mlflow_db, "--to", db_uri, "--dry-run"))
    assert_refused(cairn_import("--from", mlflow_db, "--to", db_uri))
    again = cairn_import("--from", mlflow_db, "--to", db_uri)
    assert_refused(again, "0 new, 0 updated, 1 unchanged")

    store = SqlRegistryStore(db_uri)
    assert store.get_registered_model("crafted").aliases == {"honest": 1}
    with read_transaction(get_engine(db_uri)) as conn:
        mv = schema.model_versions
        rows = conn.execute(select(mv.c.version, mv.c.source, mv.c.storage_location)).all()
        events = conn.execute(select(schema.registry_events.c.version)).scalars().all()
    assert [r.version for r in rows] == [1]
    assert rows[0].source == f"runs:/{run_id}/model"
    assert _inside(rows[0].storage_location, artifact_root) == Path(
        store.get_model_version_download_uri("crafted", 1)
    )
    assert sorted(events, key=str) == [1, None]
    for number in refused:
        with pytest.raises(CairnError, match="not found"):
            store.get_model_version("crafted", number)
