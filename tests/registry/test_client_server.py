"""The registry client against a live ``cairn server``: register, alias and load
``models:/<name>@<alias>`` over HTTP, the files coming through the server's artifact proxy."""

from __future__ import annotations

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
from cairn.registry.client import RegistryClient
from rest_server import CairnServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CairnServer]:
    live = CairnServer(tmp_path_factory.mktemp("registry-server")).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame({"a": rng.random(40), "b": rng.random(40)})


@pytest.fixture(scope="module")
def fitted(data: pd.DataFrame) -> list[LogisticRegression]:
    return [
        LogisticRegression(C=100).fit(data, (data.a > 0.5).astype(int)),
        LogisticRegression(C=100).fit(data, (data.a <= 0.5).astype(int)),
    ]


def test_load_a_registered_alias_through_the_server(server, fitted, data) -> None:
    server.reset()
    cairn.set_tracking_uri(server.url)
    infos = []
    for model in fitted:
        with cairn.start_run():
            infos.append(cairn.sklearn.log_model(model, name="model", input_example=data[:2]))
    assert cairn.get_logged_model(infos[0].model_id).artifact_location.startswith(
        "mlflow-artifacts:"
    )
    client = RegistryClient(tracking_uri=server.url)
    for info in infos:
        cairn.register_model(info.model_uri, "churn-http")
    client.set_registered_model_alias("churn-http", "champion", "1")

    model = cairn.pyfunc.load_model("models:/churn-http@champion")
    np.testing.assert_array_equal(model.predict(data), fitted[0].predict(data))
    np.testing.assert_array_equal(
        cairn.pyfunc.load_model("models:/churn-http/latest").predict(data),
        fitted[1].predict(data),
    )
    version = client.get_model_version_by_alias("churn-http", "champion")
    assert version.model_id == infos[0].model_id and version.run_id == infos[0].run_id

    with pytest.raises(CairnError) as excinfo:
        cairn.pyfunc.load_model("models:/churn-http@nope")
    assert "registered model 'churn-http' has no alias 'nope'" in excinfo.value.message
    with pytest.raises(CairnError, match="no registered model named 'nope'"):
        cairn.pyfunc.load_model("models:/nope/1")


def test_log_model_registers_over_http_and_mlflow_loads_it(
    server, fitted, data, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.reset()
    cairn.set_tracking_uri(server.url)
    with cairn.start_run():
        info = cairn.sklearn.log_model(fitted[1], name="m", registered_model_name="churn-log")
    assert info.registered_model_version == 1
    client = RegistryClient(server.url)
    client.set_registered_model_alias("churn-log", "prod", 1)
    np.testing.assert_array_equal(
        cairn.pyfunc.load_model("models:/churn-log@prod").predict(data), fitted[1].predict(data)
    )

    pytest.importorskip("mlflow", reason="mlflow is not installed in this venv")
    import mlflow
    import mlflow.pyfunc

    mlflow.set_tracking_uri(server.url)
    loaded = mlflow.pyfunc.load_model("models:/churn-log@prod")
    np.testing.assert_array_equal(loaded.predict(data), fitted[1].predict(data))
