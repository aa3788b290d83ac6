"""log_model as MLflow 3 does it, on the embedded store and against a live cairn server; model
URIs (paths, runs:/, models:/) resolved to local directories."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed")
pytest.importorskip("skops", reason="skops is not installed")

from sklearn.linear_model import LogisticRegression

import cairn
import cairn.pyfunc
import cairn.sklearn
from cairn.errors import CairnError
from cairn.tracking.client import TrackingClient
from rest_server import CairnServer


@pytest.fixture(scope="module")
def fitted() -> tuple[LogisticRegression, pd.DataFrame]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.random(40), "b": rng.random(40)})
    return LogisticRegression().fit(X, (X.a > 0.5).astype(int)), X


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[CairnServer]:
    live = CairnServer(tmp_path_factory.mktemp("models-server")).start()
    try:
        yield live
    finally:
        live.stop()


def _check_logged(fitted, client: TrackingClient) -> None:
    model, X = fitted
    with cairn.start_run() as run:
        info = cairn.sklearn.log_model(
            model, name="clf", input_example=X[:5], params={"C": 1.0}, tags={"team": "a"}
        )
    assert info.model_uri == f"models:/{info.model_id}" and info.model_id.startswith("m-")
    assert info.run_id == run.info.run_id and info.name == info.artifact_path == "clf"
    assert [c.name for c in info.signature.inputs] == ["a", "b"]
    assert info.flavors["python_function"]["loader_module"] == "mlflow.sklearn"

    logged = client.store.get_logged_model(info.model_id)
    assert logged.status == "READY" and logged.name == "clf"
    assert logged.source_run_id == run.info.run_id
    assert logged.params == {"C": "1.0"} and logged.tags["team"] == "a"
    outputs = client.store.get_run_outputs([run.info.run_id])[run.info.run_id]
    assert [o.model_id for o in outputs] == [info.model_id]
    history = json.loads(client.get_run(run.info.run_id).data.tags["mlflow.log-model.history"])
    assert history[-1]["model_uuid"] == info.model_uuid and history[-1]["artifact_path"] == "clf"

    for uri in (info.model_uri, f"runs:/{run.info.run_id}/clf"):
        loaded = cairn.pyfunc.load_model(uri)
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        assert loaded.metadata.model_id == info.model_id
        assert loaded.metadata.run_id == run.info.run_id
    np.testing.assert_array_equal(
        cairn.sklearn.load_model(info.model_uri).predict(X), model.predict(X)
    )


def test_log_model_on_the_embedded_store(fitted) -> None:
    _check_logged(fitted, TrackingClient())


def test_log_model_against_a_live_server(fitted, server) -> None:
    server.reset()
    cairn.set_tracking_uri(server.url)
    _check_logged(fitted, TrackingClient(server.url))


def test_log_model_without_a_run_and_search(fitted) -> None:
    model, _ = fitted
    info = cairn.sklearn.log_model(model, name="bare", model_type="classifier")
    assert info.run_id is None
    assert cairn.get_logged_model(info.model_id).model_type == "classifier"
    found = cairn.search_logged_models(filter_string="name = 'bare'", output_format="list")
    assert [m.model_id for m in found] == [info.model_id]
    frame = cairn.search_logged_models()
    assert info.model_id in set(frame["model_id"])


def test_a_failed_save_marks_the_logged_model_failed(fitted) -> None:
    with cairn.start_run() as run, pytest.raises(CairnError, match=r"no predict"):
        cairn.sklearn.log_model(object(), name="broken")
    models = cairn.search_logged_models(output_format="list")
    assert [(m.name, m.status) for m in models] == [("broken", "FAILED")]
    assert "mlflow.log-model.history" not in cairn.get_run(run.info.run_id).data.tags


def test_runs_uri_may_name_a_path_in_the_run_artifacts(fitted, tmp_path) -> None:
    model, X = fitted
    cairn.sklearn.save_model(model, tmp_path / "saved")
    with cairn.start_run() as run:
        cairn.log_artifacts(str(tmp_path / "saved"), "plain/model")
    loaded = cairn.pyfunc.load_model(f"runs:/{run.info.run_id}/plain/model")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_bad_uris_are_clear_errors(fitted) -> None:
    with cairn.start_run() as run:
        pass
    with pytest.raises(CairnError, match="No model at"):
        cairn.pyfunc.load_model(f"runs:/{run.info.run_id}/nothing")
    with pytest.raises(CairnError, match=r"may not contain '\.\.'"):
        cairn.pyfunc.load_model(f"runs:/{run.info.run_id}/../../etc")
    with pytest.raises(CairnError) as excinfo:
        cairn.pyfunc.load_model("models:/m-00000000000000000000000000000000")
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(CairnError, match="no registered model named 'my-model'"):
        cairn.pyfunc.load_model("models:/my-model/1")
    with pytest.raises(CairnError, match="Invalid registered_model_name"):
        cairn.sklearn.log_model(fitted[0], name="m", registered_model_name=" ")
    with pytest.raises(CairnError, match="Invalid model name"):
        cairn.sklearn.log_model(fitted[0], name="a/b")


def test_mlflow_client_and_cairn_share_logged_models_on_a_server(
    fitted, server, monkeypatch
) -> None:
    """mlflow logs to a cairn server and cairn loads it; cairn logs and mlflow loads it."""
    pytest.importorskip("mlflow", reason="mlflow is not installed in this venv")
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn

    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    model, X = fitted
    server.reset()
    mlflow.set_tracking_uri(server.url)
    cairn.set_tracking_uri(server.url)
    with mlflow.start_run() as run:
        theirs = mlflow.sklearn.log_model(
            model, name="theirs", input_example=X[:3], pip_requirements=["scikit-learn"]
        )
    for uri in (theirs.model_uri, f"runs:/{run.info.run_id}/theirs"):
        np.testing.assert_array_equal(cairn.pyfunc.load_model(uri).predict(X), model.predict(X))

    with cairn.start_run() as ours_run:
        ours = cairn.sklearn.log_model(model, name="ours", input_example=X[:3])
    for uri in (ours.model_uri, f"runs:/{ours_run.info.run_id}/ours"):
        np.testing.assert_array_equal(mlflow.pyfunc.load_model(uri).predict(X), model.predict(X))
    assert mlflow.get_logged_model(ours.model_id).status.to_int() == 2  # READY


def test_model_info_of_a_logged_model(fitted) -> None:
    from cairn.models import get_model_info

    model, X = fitted
    with cairn.start_run():
        info = cairn.sklearn.log_model(model, name="clf", input_example=X[:2])
    again = get_model_info(info.model_uri)
    assert (again.model_id, again.run_id, again.model_uuid) == (
        info.model_id,
        info.run_id,
        info.model_uuid,
    )
    assert again.signature == info.signature
    assert again.saved_input_example_info == info.saved_input_example_info


def test_a_pickled_model_says_which_uri_it_came_from(fitted) -> None:
    model, _ = fitted
    with cairn.start_run():
        info = cairn.sklearn.log_model(model, name="p", serialization_format="pickle")
    with pytest.warns(cairn.sklearn.UnsafeModelFormatWarning, match=info.model_id):
        cairn.pyfunc.load_model(info.model_uri)
    with pytest.warns(cairn.sklearn.UnsafeModelFormatWarning, match=info.model_id):
        cairn.sklearn.load_model(info.model_uri)
