"""Which tracking URI the client uses, and when MLflow's variables count."""

from __future__ import annotations

import pytest

from cairn.tracking import config


@pytest.fixture(autouse=True)
def _no_process_uri() -> None:
    config.set_tracking_uri(None)


def test_default_and_cairn_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.get_tracking_uri() == "sqlite:///cairn.db"
    monkeypatch.setenv("CAIRN_TRACKING_URI", "sqlite:////tmp/x.db")
    assert config.get_tracking_uri() == "sqlite:////tmp/x.db"


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        # Started by `mlflow run` against a server: the run to resume lives there.
        ({"MLFLOW_RUN_ID": "r1", "MLFLOW_TRACKING_URI": "http://h:5000"}, "http://h:5000"),
        # An mlflow user's everyday setting alone does not redirect cairn's embedded store.
        ({"MLFLOW_TRACKING_URI": "http://h:5000"}, "sqlite:///cairn.db"),
        # MLflow's own SQLite schema is not cairn's: never opened as a cairn store.
        (
            {"MLFLOW_RUN_ID": "r1", "MLFLOW_TRACKING_URI": "sqlite:///mlflow.db"},
            "sqlite:///cairn.db",
        ),
        # CAIRN_TRACKING_URI always wins.
        (
            {
                "MLFLOW_RUN_ID": "r1",
                "MLFLOW_TRACKING_URI": "http://h",
                "CAIRN_TRACKING_URI": "http://c",
            },
            "http://c",
        ),
    ],
)
def test_mlflow_variables_count_only_inside_mlflow_run(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], expected: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert config.get_tracking_uri() == expected
