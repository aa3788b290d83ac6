"""cairn's REST registry store against a real ``mlflow server``: the calls both servers share.

MLflow checks sources less than cairn (an ``s3://`` URI with no run is fine there), has no
audit trail or lineage endpoint (NOT_IMPLEMENTED from cairn's store) and records no user.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from cairn.errors import CairnError
from cairn.store.registry.rest import RestRegistryStore
from rest_server import MlflowServer, mlflow_command

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    command = mlflow_command()
    if command is None:
        pytest.skip("no mlflow to run a server with: pip install mlflow==3.17.2")
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-registry"), command).start(180)
    yield server
    server.stop()


@pytest.fixture
def store(mlflow_server: MlflowServer) -> Iterator[RestRegistryStore]:
    rest = RestRegistryStore(mlflow_server.url)
    yield rest
    rest.close()


def unique(prefix: str) -> str:
    """Names unique across tests: the server lives for the whole module."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def code_of(call: object, *args: object) -> str:
    with pytest.raises(CairnError) as info:
        call(*args)  # type: ignore[operator]
    return info.value.error_code


def test_models_versions_tags_aliases_and_stages(store: RestRegistryStore) -> None:
    name = unique("m")
    created = store.create_registered_model(name, tags={"team": "risk"}, description="first")
    assert (created.name, created.tags, created.description) == (name, {"team": "risk"}, "first")
    v1 = store.create_model_version(name, "s3://bucket/a", tags={"k": "v"}, run_link="http://ci")
    v2 = store.create_model_version(name, "s3://bucket/b", description="second")
    assert (v1.version, v1.status, v1.tags, v1.run_link) == (1, "READY", {"k": "v"}, "http://ci")
    assert (v2.version, v2.description, v2.run_id) == (2, "second", None)

    store.set_registered_model_alias(name, "champion", 2)
    assert store.get_model_version_by_alias(name, "champion").aliases == ["champion"]
    store.transition_model_version_stage(name, 1, "production")
    moved = store.transition_model_version_stage(name, 2, "Production", True)
    assert moved.current_stage == "Production"
    assert store.get_model_version(name, 1).current_stage == "Archived"
    assert [v.version for v in store.get_latest_versions(name, ["Production"])] == [2]

    store.set_registered_model_tag(name, "flag", "on")
    store.delete_registered_model_tag(name, "team")
    store.set_model_version_tag(name, 1, "checked", "yes")
    store.delete_model_version_tag(name, 1, "k")
    store.update_model_version(name, 1, "the first")
    store.update_registered_model(name, "updated")
    model = store.get_registered_model(name)
    assert (model.tags, model.description, model.aliases) == (
        {"flag": "on"},
        "updated",
        {"champion": 2},
    )
    assert store.get_model_version(name, 1).tags == {"checked": "yes"}
    assert store.get_model_version_download_uri(name, 1) == "s3://bucket/a"

    copy_name = unique("copy")
    copy = store.copy_model_version(name, 2, copy_name)
    assert (copy.name, copy.version, copy.description) == (copy_name, 1, "second")

    new_name = unique("renamed")
    assert store.rename_registered_model(name, new_name).name == new_name
    store.delete_registered_model_alias(new_name, "champion")
    store.delete_model_version(new_name, 1)
    assert [v.version for v in store.search_model_versions(f"name = '{new_name}'")] == [2]
    store.delete_registered_model(new_name)
    assert code_of(store.get_registered_model, new_name) == "RESOURCE_DOES_NOT_EXIST"


def test_search_pages(store: RestRegistryStore) -> None:
    prefix = unique("page")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        store.create_registered_model(name)
        store.create_model_version(name, f"s3://bucket/{name}")
    seen, token = [], None
    while True:
        page = store.search_registered_models(
            f"name LIKE '{prefix}-%'", 2, ["name ASC"], page_token=token
        )
        seen += [m.name for m in page]
        token = page.token
        if not token:
            break
    assert seen == names
    versions, token = [], None
    while True:
        vpage = store.search_model_versions(f"name LIKE '{prefix}-%'", 2, page_token=token)
        versions += [(v.name, v.version) for v in vpage]
        token = vpage.token
        if not token:
            break
    assert sorted(versions) == [(n, 1) for n in names]


def test_errors_and_what_mlflow_lacks(store: RestRegistryStore) -> None:
    name = unique("err")
    store.create_registered_model(name)
    assert code_of(store.create_registered_model, name) == "RESOURCE_ALREADY_EXISTS"
    assert code_of(store.get_model_version, name, 9) == "RESOURCE_DOES_NOT_EXIST"
    assert code_of(store.get_model_version_by_alias, name, "none") == "INVALID_PARAMETER_VALUE"
    assert code_of(store.transition_model_version_stage, name, 1, "bogus") in (
        "INVALID_PARAMETER_VALUE",
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert code_of(store.get_registry_history, name) == "NOT_IMPLEMENTED"
    assert code_of(store.get_model_version_lineage, name, 1) == "NOT_IMPLEMENTED"
