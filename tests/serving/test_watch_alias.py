"""``--watch-alias``: the server follows a registry alias to a new version while requests keep
being answered (none dropped, none failed), and says which version answered each."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from scoring_support import ScoringServer, iris_frame


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """'iris' v1 (a fitted classifier) and v2 (always class 2); champion -> 1."""
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    import cairn.sklearn
    from cairn.registry.client import RegistryClient

    uri = f"sqlite:///{tmp_path}/cairn.db"
    monkeypatch.setenv("CAIRN_TRACKING_URI", uri)  # the server process reads it too
    monkeypatch.setenv("CAIRN_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    frame, target = iris_frame()
    fitted = LogisticRegression(max_iter=1000).fit(frame, target)
    constant = DummyClassifier(strategy="constant", constant=2).fit(frame, target)
    cairn.set_tracking_uri(uri)
    try:
        for model in (fitted, constant):
            with cairn.start_run():
                logged = cairn.sklearn.log_model(model, name="clf", input_example=frame.head(2))
            cairn.register_model(logged.model_uri, "iris")
    finally:
        cairn.set_tracking_uri(None)
    client = RegistryClient(uri)
    client.set_registered_model_alias("iris", "champion", 1)
    return client, fitted


def test_the_server_follows_the_alias_without_failing_a_request(
    registry: Any, tmp_path: Path
) -> None:
    client, fitted = registry
    frame, _ = iris_frame()
    rows = frame.iloc[[0, 60, 120]]
    payload = {"dataframe_split": rows.to_dict(orient="split")}
    live = ScoringServer("models:/iris@champion", tmp_path, "--watch-alias", "0.2").start()
    answers: list[tuple[int, str, Any]] = []
    stop = threading.Event()

    def keep_asking() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                response = http.post(live.url + "/invocations", json=payload)
                answers.append(
                    (response.status_code, response.headers.get("x-cairn-model"), response.json())
                )

    asker = threading.Thread(target=keep_asking)
    try:
        asker.start()
        while len(answers) < 5:
            time.sleep(0.05)
        client.set_registered_model_alias("iris", "champion", 2)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (answers and answers[-1][1] == "iris/2"):
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        stop.set()
        asker.join(30)
        live.stop()
    assert all(status == 200 for status, _, _ in answers), answers[:3]
    versions = [version for _, version, _ in answers]
    switched = versions.index("iris/2")
    assert set(versions[:switched]) == {"iris/1"} and set(versions[switched:]) == {"iris/2"}
    assert answers[0][2] == {"predictions": fitted.predict(rows).tolist()}
    assert answers[-1][2] == {"predictions": [2, 2, 2]}
    assert "moved from iris/1 to iris/2" in live.log()


def test_a_fixed_version_is_served_as_named(registry: Any, tmp_path: Path) -> None:
    live = ScoringServer("models:/iris/2", tmp_path).start()
    try:
        frame, _ = iris_frame()
        response = live.invoke({"dataframe_split": frame.head(2).to_dict(orient="split")})
        assert response.headers["x-cairn-model"] == "iris/2"
        assert response.json() == {"predictions": [2, 2]}
    finally:
        live.stop()
