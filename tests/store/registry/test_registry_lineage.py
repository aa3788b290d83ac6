"""A version's lineage on SQLite and PostgreSQL, from a real run that consumed a dataset and
carried a git commit and logged a model; parts that are gone come back empty."""

from __future__ import annotations

import pytest

from cairn.entities import Dataset, DatasetInput, InputTag, LoggedModelOutput
from cairn.store.registry.sql import SqlRegistryStore
from cairn.store.tracking.sql import SqlTrackingStore

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def lineage_run(tracking: SqlTrackingStore):  # type: ignore[no-untyped-def]
    run = tracking.create_run("0", run_name="trainer", tags={"mlflow.source.git.commit": COMMIT})
    rid = run.info.run_id
    tracking.log_inputs(
        rid,
        [
            DatasetInput(
                Dataset("train", "d1", "local", '{"uri": "/data/train"}'),
                [InputTag("mlflow.data.context", "training")],
            ),
            DatasetInput(Dataset("eval", "d2", "local", '{"uri": "/data/eval"}')),
        ],
    )
    lm = tracking.create_logged_model("0", name="clf", source_run_id=rid)
    tracking.finalize_logged_model(lm.model_id, "READY")
    tracking.log_outputs(rid, [LoggedModelOutput(lm.model_id, 0)])
    return run, lm


def test_lineage_reaches_run_commit_datasets_and_model(
    store: SqlRegistryStore,
    lineage_run,  # type: ignore[no-untyped-def]
) -> None:
    run, lm = lineage_run
    store.create_registered_model("m")
    store.create_model_version("m", f"runs:/{run.info.run_id}/clf")
    lineage = store.get_model_version_lineage("m", 1)
    assert (lineage.name, lineage.version) == ("m", 1)
    assert lineage.source == f"runs:/{run.info.run_id}/clf"
    assert (lineage.run_id, lineage.run_name, lineage.experiment_id) == (
        run.info.run_id,
        "trainer",
        "0",
    )
    assert lineage.git_commit == COMMIT
    assert (lineage.model_id, lineage.model_name) == (lm.model_id, "clf")
    assert sorted(lineage.datasets, key=lambda d: d["name"]) == [
        {"name": "eval", "digest": "d2", "context": ""},
        {"name": "train", "digest": "d1", "context": "training"},
    ]
    # The other direction: the run's versions.
    found = store.search_model_versions(f"run_id = '{run.info.run_id}'")
    assert [(v.name, v.version) for v in found] == [("m", 1)]


def test_lineage_of_a_version_whose_run_is_purged(
    store: SqlRegistryStore,
    tracking: SqlTrackingStore,
    lineage_run,  # type: ignore[no-untyped-def]
) -> None:
    run, lm = lineage_run
    store.create_registered_model("m")
    store.create_model_version("m", f"models:/{lm.model_id}")
    tracking.delete_logged_model(lm.model_id)
    lineage = store.get_model_version_lineage("m", 1)
    assert (lineage.model_id, lineage.model_name) == (lm.model_id, "clf")  # deleted, still known
    tracking.delete_run(run.info.run_id)
    assert [r.info.run_id for r in tracking.purge_deleted_runs(0, [run.info.run_id])] == [
        run.info.run_id
    ]
    lineage = store.get_model_version_lineage("m", 1)
    assert lineage.run_id == run.info.run_id  # what the version recorded stays
    assert (lineage.run_name, lineage.experiment_id, lineage.git_commit) == (None, None, None)
    assert lineage.datasets == []
    assert store.get_model_version("m", 1).run_id == run.info.run_id


def test_lineage_of_a_version_without_run_or_model(
    store: SqlRegistryStore, tracking: SqlTrackingStore
) -> None:
    run = tracking.create_run("0")
    store.create_registered_model("m")
    store.create_model_version("m", run.info.artifact_uri, run_id=run.info.run_id)
    lineage = store.get_model_version_lineage("m", 1)
    assert lineage.run_id == run.info.run_id
    assert (lineage.model_id, lineage.model_name, lineage.git_commit) == (None, None, None)
    assert lineage.datasets == []
