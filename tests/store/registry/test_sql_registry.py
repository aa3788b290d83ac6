"""The SQL registry store on SQLite and on a real PostgreSQL server: registered models, versions,
tags, aliases, stages, copies and every error a caller can get."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from cairn.entities import Run
from cairn.errors import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    CairnError,
)
from cairn.store.db import schema as t
from cairn.store.registry import get_registry_store
from cairn.store.registry.actor import acting_as
from cairn.store.registry.protocol import RegistryStore
from cairn.store.registry.sql import SqlRegistryStore


def _error(code: str, call: Callable[..., object], *args: object, **kwargs: object) -> str:
    with pytest.raises(CairnError) as info:
        call(*args, **kwargs)
    assert info.value.error_code == code, info.value.message
    return info.value.message


def _version(store: SqlRegistryStore, name: str, run: Run, **kwargs: object) -> int:
    return store.create_model_version(name, f"runs:/{run.info.run_id}/model", **kwargs).version


def _count(store: SqlRegistryStore, table: object, **where: object) -> int:
    with store.engine.connect() as conn:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        for column, value in where.items():
            query = query.where(table.c[column] == value)  # type: ignore[attr-defined]
        return int(conn.execute(query).scalar_one())


# ---------------------------------------------------------------- the store itself


def test_store_follows_the_protocol_and_the_factory_returns_it(
    store: SqlRegistryStore, db_uri: str
) -> None:
    assert isinstance(store, RegistryStore)
    assert isinstance(get_registry_store(db_uri), SqlRegistryStore)


# ---------------------------------------------------------------- registered models


def test_create_and_get_registered_model(store: SqlRegistryStore) -> None:
    with acting_as("alice"):
        created = store.create_registered_model("m", tags={"team": "a"}, description="first")
    got = store.get_registered_model("m")
    assert got == created
    assert (got.name, got.description, got.tags, got.user_id) == (
        "m",
        "first",
        {"team": "a"},
        "alice",
    )
    assert got.creation_timestamp == got.last_updated_timestamp > 0
    assert got.aliases == {} and got.latest_versions == []


def test_create_existing_model_is_already_exists(store: SqlRegistryStore) -> None:
    store.create_registered_model("m")
    message = _error(RESOURCE_ALREADY_EXISTS, store.create_registered_model, "m")
    assert "m" in message


def test_missing_model_is_does_not_exist_everywhere(store: SqlRegistryStore) -> None:
    for call, args in [
        (store.get_registered_model, ("nope",)),
        (store.update_registered_model, ("nope", "d")),
        (store.rename_registered_model, ("nope", "other")),
        (store.delete_registered_model, ("nope",)),
        (store.get_latest_versions, ("nope",)),
        (store.set_registered_model_tag, ("nope", "k", "v")),
        (store.delete_registered_model_tag, ("nope", "k")),
        (store.delete_registered_model_alias, ("nope", "a")),
        (store.get_model_version_by_alias, ("nope", "a")),
        (store.create_model_version, ("nope", "models:/x/1")),
    ]:
        _error(RESOURCE_DOES_NOT_EXIST, call, *args)


@pytest.mark.parametrize(
    "name", ["", "   ", "a/b", "a:b", "..", ".", "a/../b", "x" * 257, None, 7, "a\x00b"]
)
def test_bad_model_names_are_refused(store: SqlRegistryStore, name: object) -> None:
    _error(INVALID_PARAMETER_VALUE, store.create_registered_model, name)


def test_model_names_mlflow_allows_are_accepted(store: SqlRegistryStore) -> None:
    for name in ["with space", "dots.in.name", "ünïcode", "a-b_c", "x" * 256, "%41"]:
        assert store.create_registered_model(name).name == name
        assert store.get_registered_model(name).name == name


def test_update_description(store: SqlRegistryStore) -> None:
    created = store.create_registered_model("m", description="old")
    updated = store.update_registered_model("m", "new")
    assert updated.description == "new"
    assert updated.last_updated_timestamp >= created.last_updated_timestamp
    assert store.get_registered_model("m").description == "new"
    assert store.update_registered_model("m", None).description is None


def test_rename_moves_versions_tags_and_aliases(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("old", tags={"k": "v"})
    _version(store, "old", run, tags={"vt": "1"})
    _version(store, "old", run)
    store.set_registered_model_alias("old", "champion", 2)
    renamed = store.rename_registered_model("old", "new")
    assert renamed.name == "new"
    assert renamed.tags == {"k": "v"}
    assert renamed.aliases == {"champion": 2}
    _error(RESOURCE_DOES_NOT_EXIST, store.get_registered_model, "old")
    assert store.get_model_version("new", 1).tags == {"vt": "1"}
    assert store.get_model_version_by_alias("new", "champion").version == 2
    assert [v.name for v in store.search_model_versions("name = 'new'")] == ["new", "new"]
    for table in (t.model_versions, t.model_version_tags, t.registered_model_aliases):
        assert _count(store, table, name="old") == 0
    # Numbering continues where it was.
    assert _version(store, "new", run) == 3


def test_rename_to_a_taken_name_is_already_exists(store: SqlRegistryStore) -> None:
    store.create_registered_model("a")
    store.create_registered_model("b")
    _error(RESOURCE_ALREADY_EXISTS, store.rename_registered_model, "a", "b")
    _error(INVALID_PARAMETER_VALUE, store.rename_registered_model, "a", "x/y")
    assert store.get_registered_model("a").name == "a"


def test_rename_to_the_same_name_changes_nothing(store: SqlRegistryStore) -> None:
    store.create_registered_model("a")
    assert store.rename_registered_model("a", "a").name == "a"
    assert len(store.get_registry_history("a")) == 1


def test_delete_model_cascades_to_versions_tags_and_aliases(
    store: SqlRegistryStore, run: Run
) -> None:
    store.create_registered_model("m", tags={"k": "v"})
    _version(store, "m", run, tags={"vt": "1"})
    store.set_registered_model_alias("m", "a", 1)
    store.delete_registered_model("m")
    _error(RESOURCE_DOES_NOT_EXIST, store.get_registered_model, "m")
    _error(RESOURCE_DOES_NOT_EXIST, store.get_model_version, "m", 1)
    for table in (
        t.registered_model_tags,
        t.model_versions,
        t.model_version_tags,
        t.registered_model_aliases,
    ):
        assert _count(store, table, name="m") == 0
    # A new model of the same name starts again at version 1.
    store.create_registered_model("m")
    assert _version(store, "m", run) == 1


def test_registered_model_tags(store: SqlRegistryStore) -> None:
    store.create_registered_model("m")
    store.set_registered_model_tag("m", "k", "v1")
    store.set_registered_model_tag("m", "k", "v2")
    store.set_registered_model_tag("m", "other", "x" * 100_000)
    assert store.get_registered_model("m").tags == {"k": "v2", "other": "x" * 100_000}
    store.delete_registered_model_tag("m", "k")
    store.delete_registered_model_tag("m", "never-set")  # not an error, as in MLflow
    assert list(store.get_registered_model("m").tags) == ["other"]
    _error(INVALID_PARAMETER_VALUE, store.set_registered_model_tag, "m", "bad/../key", "v")
    _error(INVALID_PARAMETER_VALUE, store.set_registered_model_tag, "m", "k", "x" * 100_001)
    _error(INVALID_PARAMETER_VALUE, store.set_registered_model_tag, "m", "k", None)
    _error(INVALID_PARAMETER_VALUE, store.create_registered_model, "n", tags={"": "v"})


def test_latest_versions_are_the_newest_per_stage(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    for _ in range(5):
        _version(store, "m", run)
    store.transition_model_version_stage("m", 1, "Production")
    store.transition_model_version_stage("m", 2, "production")
    store.transition_model_version_stage("m", 3, "Staging")
    latest = {v.current_stage: v.version for v in store.get_registered_model("m").latest_versions}
    assert latest == {"None": 5, "Staging": 3, "Production": 2}
    assert [v.version for v in store.get_latest_versions("m", ["Production"])] == [2]
    assert [v.version for v in store.get_latest_versions("m", ["staging", "None"])] == [5, 3]
    assert {v.version for v in store.get_latest_versions("m")} == {2, 3, 5}
    assert store.get_latest_versions("m", ["Archived"]) == []
    _error(INVALID_PARAMETER_VALUE, store.get_latest_versions, "m", ["Prod"])


# ---------------------------------------------------------------- versions


def test_create_and_get_version(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    with acting_as("bob"):
        created = store.create_model_version(
            "m",
            f"runs:/{run.info.run_id}/model",
            run_id=run.info.run_id,
            tags={"t": "1"},
            run_link="http://x/run",
            description="d",
        )
    assert created.version == 1
    assert created.status == "READY"
    assert created.current_stage == "None"
    assert created.user_id == "bob"
    assert created.run_id == run.info.run_id
    assert (created.tags, created.run_link, created.description) == (
        {"t": "1"},
        "http://x/run",
        "d",
    )
    assert store.get_model_version("m", 1) == created
    assert store.get_model_version("m", "1") == created
    model = store.get_registered_model("m")
    assert model.last_updated_timestamp == created.creation_timestamp
    assert [v.version for v in model.latest_versions] == [1]


def test_version_numbers_are_never_reused(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    assert [_version(store, "m", run) for _ in range(3)] == [1, 2, 3]
    store.delete_model_version("m", 3)
    store.delete_model_version("m", 2)
    assert _version(store, "m", run) == 4
    assert [v.version for v in store.search_model_versions("name = 'm'")] == [4, 1]


def test_missing_version_is_does_not_exist(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    _version(store, "m", run)
    for call, args in [
        (store.get_model_version, ("m", 2)),
        (store.update_model_version, ("m", 2, "d")),
        (store.transition_model_version_stage, ("m", 2, "Staging")),
        (store.delete_model_version, ("m", 2)),
        (store.get_model_version_download_uri, ("m", 2)),
        (store.set_model_version_tag, ("m", 2, "k", "v")),
        (store.delete_model_version_tag, ("m", 2, "k")),
        (store.set_registered_model_alias, ("m", "a", 2)),
        (store.copy_model_version, ("m", 2, "other")),
        (store.get_model_version_lineage, ("m", 2)),
        (store.get_model_version, ("other", 1)),
    ]:
        _error(RESOURCE_DOES_NOT_EXIST, call, *args)


@pytest.mark.parametrize("version", ["abc", "1.5", "-1", 0, -3, "", None, 2**31, 1.0, True, "٣"])
def test_bad_version_numbers_are_invalid(
    store: SqlRegistryStore, run: Run, version: object
) -> None:
    store.create_registered_model("m")
    _version(store, "m", run)
    _error(INVALID_PARAMETER_VALUE, store.get_model_version, "m", version)
    _error(INVALID_PARAMETER_VALUE, store.set_registered_model_alias, "m", "a", version)


def test_update_version_description(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    _version(store, "m", run, description="old")
    updated = store.update_model_version("m", 1, "new")
    assert updated.description == "new"
    assert store.get_model_version("m", 1).description == "new"
    _error(INVALID_PARAMETER_VALUE, store.update_model_version, "m", 1, 5)


def test_stage_transitions_and_archiving(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    for _ in range(4):
        _version(store, "m", run)
    store.transition_model_version_stage("m", 1, "Production")
    store.transition_model_version_stage("m", 2, "Production")
    store.transition_model_version_stage("m", 3, "Staging")
    moved = store.transition_model_version_stage("m", 4, "production", True)
    assert moved.current_stage == "Production"
    stages = {v.version: v.current_stage for v in store.search_model_versions("name = 'm'")}
    assert stages == {1: "Archived", 2: "Archived", 3: "Staging", 4: "Production"}
    # Archiving is only for the active stages.
    for stage in ("Archived", "None"):
        _error(INVALID_PARAMETER_VALUE, store.transition_model_version_stage, "m", 3, stage, True)
    _error(INVALID_PARAMETER_VALUE, store.transition_model_version_stage, "m", 3, "Live")
    assert store.transition_model_version_stage("m", 3, "archived").current_stage == "Archived"


def test_delete_version_drops_its_aliases_and_tags(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    _version(store, "m", run, tags={"t": "1"})
    _version(store, "m", run)
    store.set_registered_model_alias("m", "a", 1)
    store.set_registered_model_alias("m", "b", 2)
    store.delete_model_version("m", 1)
    assert store.get_registered_model("m").aliases == {"b": 2}
    _error(INVALID_PARAMETER_VALUE, store.get_model_version_by_alias, "m", "a")
    assert _count(store, t.model_version_tags, name="m", version=1) == 0


def test_version_tags(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    _version(store, "m", run)
    store.set_model_version_tag("m", 1, "k", "v1")
    store.set_model_version_tag("m", "1", "k", "v2")
    store.set_model_version_tag("m", 1, "j", "x")
    assert store.get_model_version("m", 1).tags == {"k": "v2", "j": "x"}
    store.delete_model_version_tag("m", 1, "k")
    store.delete_model_version_tag("m", 1, "never-set")
    assert store.get_model_version("m", 1).tags == {"j": "x"}
    _error(INVALID_PARAMETER_VALUE, store.set_model_version_tag, "m", 1, "/abs", "v")
    _error(INVALID_PARAMETER_VALUE, store.delete_model_version_tag, "m", 1, "")


def test_download_uri_is_the_storage_location(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    _version(store, "m", run)
    assert store.get_model_version_download_uri("m", 1) == run.info.artifact_uri + "/model"


# ---------------------------------------------------------------- aliases


def test_aliases_set_move_and_delete(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    _version(store, "m", run)
    _version(store, "m", run)
    store.set_registered_model_alias("m", "champion", 1)
    store.set_registered_model_alias("m", "challenger", "2")
    assert store.get_model_version_by_alias("m", "champion").aliases == ["champion"]
    store.set_registered_model_alias("m", "champion", 2)  # moves
    v2 = store.get_model_version_by_alias("m", "champion")
    assert (v2.version, v2.aliases) == (2, ["challenger", "champion"])
    assert store.get_model_version("m", 1).aliases == []
    assert store.get_registered_model("m").aliases == {"challenger": 2, "champion": 2}
    store.delete_registered_model_alias("m", "champion")
    store.delete_registered_model_alias("m", "never-set")  # not an error, as in MLflow
    assert store.get_registered_model("m").aliases == {"challenger": 2}


def test_missing_alias_is_invalid_parameter(store: SqlRegistryStore) -> None:
    store.create_registered_model("m")
    message = _error(INVALID_PARAMETER_VALUE, store.get_model_version_by_alias, "m", "nope")
    assert "nope" in message


def test_latest_alias_is_the_highest_version(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    _error(RESOURCE_DOES_NOT_EXIST, store.get_model_version_by_alias, "m", "latest")
    _version(store, "m", run)
    _version(store, "m", run)
    store.transition_model_version_stage("m", 1, "Production")
    assert store.get_model_version_by_alias("m", "latest").version == 2
    assert store.get_model_version_by_alias("m", "LATEST").version == 2


@pytest.mark.parametrize(
    "alias", ["latest", "Latest", "v1", "V12", "", "a b", "a/b", "a.b", "x" * 256, "a\n", None]
)
def test_bad_or_reserved_aliases_are_refused(
    store: SqlRegistryStore, run: Run, alias: object
) -> None:
    store.create_registered_model("m")
    _version(store, "m", run)
    _error(INVALID_PARAMETER_VALUE, store.set_registered_model_alias, "m", alias, 1)


def test_alias_names_mlflow_allows_are_accepted(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("m")
    _version(store, "m", run)
    for alias in ["champion", "a-b_c", "v1x", "version1", "x" * 255, "ünï"]:
        store.set_registered_model_alias("m", alias, 1)
        assert store.get_model_version_by_alias("m", alias).version == 1


# ---------------------------------------------------------------- copies


def test_copy_version_creates_the_destination_and_keeps_files_run_and_tags(
    store: SqlRegistryStore, run: Run
) -> None:
    store.create_registered_model("src")
    _version(store, "src", run, tags={"t": "1"}, description="d", run_link="http://x")
    copied = store.copy_model_version("src", 1, "dst")
    assert (copied.name, copied.version) == ("dst", 1)
    assert copied.source == "models:/src/1"
    assert copied.run_id == run.info.run_id
    assert (copied.tags, copied.description, copied.run_link) == ({"t": "1"}, "d", "http://x")
    assert store.get_model_version_download_uri("dst", 1) == store.get_model_version_download_uri(
        "src", 1
    )
    # Into an existing model: the next version.
    assert store.copy_model_version("src", 1, "dst").version == 2
    _error(INVALID_PARAMETER_VALUE, store.copy_model_version, "src", 1, "a/b")
