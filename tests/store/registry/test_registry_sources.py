"""What a model version's source may name: logged models, registered versions, runs:/ URIs and
artifact URIs inside the given run's (or model's) artifact root, and nothing else.

The storage location is what clients later download from, so every trick that would make it
point at someone else's files, or at the server's own files, is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.entities import LoggedModelOutput, Run
from cairn.errors import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, CairnError
from cairn.store.registry.sql import SqlRegistryStore
from cairn.store.registry.sql_sources import is_inside
from cairn.store.tracking.sql import SqlTrackingStore


@pytest.fixture
def model(store: SqlRegistryStore) -> str:
    store.create_registered_model("m")
    return "m"


def _refused(store: SqlRegistryStore, source: str, **kwargs: object) -> str:
    with pytest.raises(CairnError) as info:
        store.create_model_version("m", source, **kwargs)
    assert info.value.error_code == INVALID_PARAMETER_VALUE, info.value.message
    assert "Accepted sources" in info.value.message or "Invalid" in info.value.message
    return info.value.message


def _logged_model(tracking: SqlTrackingStore, run: Run, name: str = "model", ready: bool = True):
    lm = tracking.create_logged_model("0", name=name, source_run_id=run.info.run_id)
    if ready:
        lm = tracking.finalize_logged_model(lm.model_id, "READY")
    tracking.log_outputs(run.info.run_id, [LoggedModelOutput(lm.model_id, 0)])
    return lm


# ---------------------------------------------------------------- accepted sources


def test_logged_model_source(
    store: SqlRegistryStore, tracking: SqlTrackingStore, run: Run, model: str
) -> None:
    lm = _logged_model(tracking, run)
    v = store.create_model_version(model, f"models:/{lm.model_id}")
    assert (v.run_id, v.model_id) == (run.info.run_id, lm.model_id)  # filled from the model
    assert store.get_model_version_download_uri(model, v.version) == lm.artifact_location
    # model_id alone, as the mlflow client sends it, agrees with the source.
    v2 = store.create_model_version(model, f"models:/{lm.model_id}", model_id=lm.model_id)
    assert v2.model_id == lm.model_id
    with pytest.raises(CairnError) as info:
        store.create_model_version(model, "models:/m-doesnotexist")
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST
    other = _logged_model(tracking, run, "other")
    _refused(store, f"models:/{lm.model_id}", model_id=other.model_id)


def test_registered_version_source_copies_location_run_and_model(
    store: SqlRegistryStore, tracking: SqlTrackingStore, run: Run, model: str
) -> None:
    lm = _logged_model(tracking, run)
    store.create_model_version(model, f"models:/{lm.model_id}")
    store.create_registered_model("other")
    v = store.create_model_version("other", "models:/m/1")
    assert (v.run_id, v.model_id, v.source) == (run.info.run_id, lm.model_id, "models:/m/1")
    assert store.get_model_version_download_uri("other", 1) == lm.artifact_location
    with pytest.raises(CairnError) as info:
        store.create_model_version("other", "models:/m/7")
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST
    for bad in ("models:/m/one", "models:/m/1/extra", "models:/", "models:/m/"):
        _refused(store, bad)


def test_runs_source_prefers_the_runs_logged_model(
    store: SqlRegistryStore, tracking: SqlTrackingStore, run: Run, model: str
) -> None:
    lm = _logged_model(tracking, run, "clf")
    v = store.create_model_version(model, f"runs:/{run.info.run_id}/clf")
    assert (v.run_id, v.model_id) == (run.info.run_id, lm.model_id)
    assert store.get_model_version_download_uri(model, v.version) == lm.artifact_location


def test_runs_source_without_a_model_is_a_path_in_the_run(
    store: SqlRegistryStore, run: Run, model: str
) -> None:
    rid = run.info.run_id
    v = store.create_model_version(model, f"runs:/{rid}/dir/model", run_id=rid)
    assert (v.run_id, v.model_id) == (rid, None)
    root = run.info.artifact_uri
    assert store.get_model_version_download_uri(model, v.version) == root + "/dir/model"
    v = store.create_model_version(model, f"runs:/{rid}/")
    assert store.get_model_version_download_uri(model, v.version) == root


def test_runs_source_errors(
    store: SqlRegistryStore, make_run: Callable[..., Run], run: Run, model: str
) -> None:
    rid = run.info.run_id
    with pytest.raises(CairnError) as info:
        store.create_model_version(model, "runs:/0123456789abcdef0123456789abcdef/model")
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST
    for bad in (
        f"runs:/{rid}/../../etc/passwd",
        f"runs:/{rid}/a/../../x",
        f"runs:/{rid}/%2e%2e/%2e%2e/x",
        f"runs:/{rid}/a%2F..%2F..%2Fx",
        f"runs:/{rid}//etc/passwd",
        f"runs:/{rid}/a\\..\\..\\x",
        "runs:/",
        "runs:/../x",
    ):
        _refused(store, bad)
    # run_id must be the run the URI names.
    _refused(store, f"runs:/{rid}/model", run_id=make_run().info.run_id)


def test_artifact_uri_inside_the_runs_root(store: SqlRegistryStore, run: Run, model: str) -> None:
    root = run.info.artifact_uri
    rid = run.info.run_id
    for source in (root, root + "/", root + "/model", root + "/a/b/model", "file://" + root + "/m"):
        v = store.create_model_version(model, source, run_id=rid)
        assert store.get_model_version_download_uri(model, v.version) == source
        assert v.run_id == rid


def test_artifact_uri_inside_the_logged_models_root(
    store: SqlRegistryStore, tracking: SqlTrackingStore, run: Run, model: str
) -> None:
    lm = _logged_model(tracking, run)
    v = store.create_model_version(model, lm.artifact_location + "/MLmodel", model_id=lm.model_id)
    assert v.model_id == lm.model_id
    _refused(store, run.info.artifact_uri + "/model", model_id=lm.model_id)


# ---------------------------------------------------------------- attacks


def test_plain_uri_without_run_or_model_is_refused(
    store: SqlRegistryStore, run: Run, model: str
) -> None:
    message = _refused(store, run.info.artifact_uri + "/model")
    assert "runs:/<run_id>/<path>" in message  # says what is accepted


@pytest.mark.parametrize(
    "attack",
    [
        "/etc/passwd",
        "file:///etc",
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        "{root}/../../../../etc/passwd",
        "{root}/model/../../../x",
        "{root}/..",
        "{root}/%2e%2e/%2e%2e/x",
        "{root}/%252e%252e/x",
        "file://{root}/%2e%2e/%2e%2e/x",
        "file://{root}/..%2f..%2fx",
        "file://{root}%2f..%2f..%2fx",
        "{root}evil",
        "{root}evil/model",
        "{root}-sibling/model",
        "{root}\\..\\..\\x",
        "file://otherhost{root}/model",
        "s3://bucket{root}/model",
        "http://169.254.169.254/latest/meta-data",
        "{root}/model?x=1",
        "{root}/model#frag",
        "{parent}",
        "{sibling}",
        "{sibling}/model",
        "relative/path",
        "{root}/model\x00",
        "mlflow-artifacts:/0/x/artifacts",
    ],
)
def test_sources_outside_the_root_are_refused(
    store: SqlRegistryStore, make_run: Callable[..., Run], run: Run, model: str, attack: str
) -> None:
    root = run.info.artifact_uri
    sibling = make_run().info.artifact_uri
    source = attack.format(root=root, parent=str(Path(root).parent), sibling=sibling)
    _refused(store, source, run_id=run.info.run_id)
    assert store.search_model_versions("name = 'm'") == []


def test_containment_of_remote_uris() -> None:
    root = "s3://bucket/exp/1/run/artifacts"
    assert is_inside(root, root)
    assert is_inside(root + "/model", root)
    assert is_inside("S3://bucket/exp/1/run/artifacts/m", root)
    assert not is_inside("s3://bucket/exp/1/run/artifactsevil", root)
    assert not is_inside("s3://bucket/exp/1/run/artifacts/../../2/run/artifacts", root)
    assert not is_inside("s3://bucket/exp/1/run/artifacts/%2e%2e/x", root)
    assert not is_inside("s3://other/exp/1/run/artifacts/m", root)
    assert not is_inside("gs://bucket/exp/1/run/artifacts/m", root)
    assert not is_inside("/exp/1/run/artifacts/m", root)
    proxied = "mlflow-artifacts:/1/abc/artifacts"
    assert is_inside("mlflow-artifacts:/1/abc/artifacts/model", proxied)
    assert is_inside("mlflow-artifacts:///1/abc/artifacts/model", proxied)
    assert not is_inside("mlflow-artifacts:/1/abcd/artifacts", proxied)
    assert not is_inside("mlflow-artifacts:/1/abc/artifacts/../../x", proxied)
    assert not is_inside("mlflow-artifacts://host/1/abc/artifacts/m", proxied)


def test_bad_source_arguments(store: SqlRegistryStore, run: Run, model: str) -> None:
    for source in ("", None, 5):
        _refused(store, source)  # type: ignore[arg-type]
    _refused(store, run.info.artifact_uri, run_id="not a run id!")
    _refused(store, run.info.artifact_uri, run_id=run.info.run_id, model_id="x" * 37)


def test_registered_version_source_must_agree_with_run_and_model(
    store: SqlRegistryStore, make_run: Callable[..., Run], run: Run, model: str
) -> None:
    store.create_model_version(model, f"runs:/{run.info.run_id}/model")
    store.create_registered_model("dst")
    ok = store.create_model_version("dst", "models:/m/1", run_id=run.info.run_id)
    assert ok.run_id == run.info.run_id
    _refused_for = make_run().info.run_id
    with pytest.raises(CairnError) as info:
        store.create_model_version("dst", "models:/m/1", run_id=_refused_for)
    assert info.value.error_code == INVALID_PARAMETER_VALUE
    with pytest.raises(CairnError) as info:
        store.create_model_version("dst", "models:/m/1", model_id="m-other")
    assert info.value.error_code == INVALID_PARAMETER_VALUE


PROMPT = {"mlflow.prompt.is_prompt": "true"}


def test_prompt_versions_take_only_mlflows_placeholder_sources(
    store: SqlRegistryStore, run: Run
) -> None:
    """MLflow's prompt registry sends a placeholder source; a prompt version has no files."""
    store.create_registered_model("p", tags=PROMPT)
    for placeholder in ("dummy-source", "prompt-template"):
        v = store.create_model_version("p", placeholder, tags=PROMPT)
        assert v.source == placeholder
    for bad in ("/etc/passwd", f"runs:/{run.info.run_id}/model", run.info.artifact_uri):
        with pytest.raises(CairnError) as info:
            store.create_model_version("p", bad, tags=PROMPT, run_id=run.info.run_id)
        assert info.value.error_code == INVALID_PARAMETER_VALUE
    # Not a prompt: a placeholder is just a relative path, refused like any other.
    store.create_registered_model("m")
    _refused(store, "dummy-source")
    # A prompt's version is not a model's source.
    _refused(store, "models:/p/1")
