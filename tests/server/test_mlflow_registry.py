"""The unmodified ``mlflow`` client's model registry against a live ``cairn server``, on SQLite and
PostgreSQL: registering logged models, the registry API, search and paging, and loading
registered models back through ``models:/`` URIs."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # stages are deprecated


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test runs against a live server on SQLite and on PostgreSQL."""
    if "live_server" in metafunc.fixturenames:
        backends = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
        metafunc.parametrize("live_server", backends, indirect=True, scope="module")


def unique(prefix: str) -> str:
    """Names unique across tests: one server serves the whole module."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def iris() -> tuple[Any, Any]:
    """A small fitted LogisticRegression on iris (shipped with sklearn: no download)."""
    pytest.importorskip("sklearn", reason="scikit-learn is not installed in this venv")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    return LogisticRegression(max_iter=500).fit(X, y), X


def error_code(exc: pytest.ExceptionInfo[Any]) -> str:
    return str(exc.value.error_code)


# ---------------------------------------------------------------- logged models in, models out


def test_register_a_logged_model_and_load_it_back(
    live_server: str, mlflow: Any, client: Any, iris: tuple[Any, Any]
) -> None:
    import numpy as np

    model, X = iris
    name = unique("iris")
    mlflow.set_experiment(unique("registry"))
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name="model", input_example=X.head(3))
    run_id = run.info.run_id

    by_run = mlflow.register_model(f"runs:/{run_id}/model", name)
    assert (by_run.name, by_run.version, by_run.status, by_run.run_id) == (
        name,
        "1",
        "READY",
        run_id,
    )
    by_model = mlflow.register_model(info.model_uri, name)  # models:/m-...
    assert info.model_uri.startswith("models:/m-")
    assert (by_model.version, by_model.run_id, by_model.source) == ("2", run_id, info.model_uri)
    # mlflow's ModelVersion entity drops model_id; the wire carries it.
    for version in ("1", "2"):
        wire = httpx.get(
            f"{live_server}/api/2.0/mlflow/model-versions/get",
            params={"name": name, "version": version},
        ).json()["model_version"]
        assert wire["model_id"] == info.model_id

    logged = client.get_logged_model(info.model_id)
    for version in ("1", "2"):
        assert client.get_model_version_download_uri(name, version) == logged.artifact_location

    client.set_registered_model_alias(name, "champion", "2")
    expected = model.predict(X)
    for uri in (f"models:/{name}@champion", f"models:/{name}/1"):
        loaded = mlflow.pyfunc.load_model(uri)
        assert np.array_equal(np.asarray(loaded.predict(X)), expected)

    copy_name = unique("iris-copy")
    copied = client.copy_model_version(f"models:/{name}@champion", copy_name)
    assert (copied.name, copied.version, copied.run_id) == (copy_name, "1", run_id)
    assert client.get_model_version_download_uri(copy_name, "1") == logged.artifact_location
    again = client.copy_model_version(f"models:/{name}/1", copy_name)
    assert again.version == "2"  # the destination exists now: a new version of it
    loaded = mlflow.pyfunc.load_model(f"models:/{copy_name}/2")
    assert np.array_equal(np.asarray(loaded.predict(X)), expected)


def test_sources_outside_a_run_are_refused(mlflow: Any, client: Any) -> None:
    from mlflow.exceptions import MlflowException

    name = unique("refused")
    client.create_registered_model(name)
    mlflow.set_experiment(unique("registry"))
    with mlflow.start_run() as run:
        pass
    for source in ("/etc/passwd", "file:///etc", f"{run.info.artifact_uri}/../../other"):
        with pytest.raises(MlflowException) as refused:
            client.create_model_version(name, source, run_id=run.info.run_id)
        assert error_code(refused) == "INVALID_PARAMETER_VALUE"
    assert client.search_model_versions(f"name = '{name}'") == []


# ---------------------------------------------------------------- the registry API


def test_registered_model_lifecycle(client: Any) -> None:
    from mlflow.exceptions import MlflowException

    name = unique("crud")
    created = client.create_registered_model(name, tags={"team": "risk"}, description="first")
    assert (created.name, created.description, created.tags) == (name, "first", {"team": "risk"})
    with pytest.raises(MlflowException) as duplicate:
        client.create_registered_model(name)
    assert error_code(duplicate) == "RESOURCE_ALREADY_EXISTS"

    assert client.update_registered_model(name, description="second").description == "second"
    client.set_registered_model_tag(name, "stage", "beta")
    client.delete_registered_model_tag(name, "team")
    assert client.get_registered_model(name).tags == {"stage": "beta"}

    new_name = unique("renamed")
    client.rename_registered_model(name, new_name)
    with pytest.raises(MlflowException) as gone:
        client.get_registered_model(name)
    assert error_code(gone) == "RESOURCE_DOES_NOT_EXIST"
    got = client.get_registered_model(new_name)
    assert (got.description, got.tags) == ("second", {"stage": "beta"})

    client.delete_registered_model(new_name)
    with pytest.raises(MlflowException) as deleted:
        client.get_registered_model(new_name)
    assert error_code(deleted) == "RESOURCE_DOES_NOT_EXIST"


def _versions(mlflow: Any, client: Any, name: str, count: int) -> str:
    """``count`` versions of a new registered model, from one run's artifacts; the run id."""
    client.create_registered_model(name)
    mlflow.set_experiment(unique("registry"))
    with mlflow.start_run() as run:
        pass
    for i in range(count):
        source = f"{run.info.artifact_uri}/model-{i}"
        client.create_model_version(name, source, run_id=run.info.run_id, tags={"i": str(i)})
    return str(run.info.run_id)


def test_versions_tags_and_aliases(mlflow: Any, client: Any) -> None:
    from mlflow.exceptions import MlflowException

    name = unique("aliases")
    _versions(mlflow, client, name, 2)
    client.update_model_version(name, "1", description="the first")
    client.set_model_version_tag(name, "1", "validated", "yes")
    client.delete_model_version_tag(name, "1", "i")
    version = client.get_model_version(name, "1")
    assert (version.description, version.tags) == ("the first", {"validated": "yes"})

    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "challenger", 2)
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert client.get_model_version_by_alias(name, "challenger").aliases == ["challenger"]
    assert client.get_registered_model(name).aliases == {"champion": "1", "challenger": "2"}
    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(MlflowException) as missing:
        client.get_model_version_by_alias(name, "champion")
    assert error_code(missing) == "INVALID_PARAMETER_VALUE"

    client.delete_model_version(name, "2")
    with pytest.raises(MlflowException) as gone:
        client.get_model_version(name, "2")
    assert error_code(gone) == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_registered_model(name).aliases == {}  # its alias went with it


def test_stages_and_latest_versions(mlflow: Any, client: Any) -> None:
    name = unique("stages")
    _versions(mlflow, client, name, 3)
    client.transition_model_version_stage(name, "1", "Production")
    moved = client.transition_model_version_stage(
        name, "2", "production", archive_existing_versions=True
    )
    assert moved.current_stage == "Production"
    assert client.get_model_version(name, "1").current_stage == "Archived"
    latest = client.get_latest_versions(name)
    assert {(v.version, v.current_stage) for v in latest} == {
        ("1", "Archived"),
        ("2", "Production"),
        ("3", "None"),
    }
    assert [v.version for v in client.get_latest_versions(name, stages=["Production"])] == ["2"]
    assert client.get_latest_versions(name, stages=["Staging"]) == []
    stages = {v.current_stage for v in client.get_registered_model(name).latest_versions}
    assert stages == {"Archived", "Production", "None"}


def test_search_with_filters_and_pages(mlflow: Any, client: Any) -> None:
    prefix = unique("search")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        _versions(mlflow, client, name, 1)
    client.set_registered_model_tag(names[0], "flag", "on")

    seen: list[str] = []
    token = None
    while True:
        page = client.search_registered_models(
            filter_string=f"name LIKE '{prefix}-%'",
            max_results=2,
            order_by=["name ASC"],
            page_token=token,
        )
        assert len(page) <= 2
        seen += [m.name for m in page]
        token = page.token
        if not token:
            break
    assert seen == names
    tagged = client.search_registered_models(filter_string="tags.flag = 'on'")
    assert [m.name for m in tagged] == [names[0]]

    versions: list[tuple[str, str]] = []
    token = None
    while True:
        page = client.search_model_versions(
            filter_string=f"name LIKE '{prefix}-%'", max_results=2, page_token=token
        )
        versions += [(v.name, v.version) for v in page]
        token = page.token
        if not token:
            break
    assert sorted(versions) == [(name, "1") for name in names]
    found = client.search_model_versions(f"name = '{names[3]}' and tag.i = '0'")
    assert [(v.name, v.version) for v in found] == [(names[3], "1")]
