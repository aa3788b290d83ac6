"""The README's quickstart without a browser: ``python examples/quickstart.py`` tracks the
sweep, registers the best run's model with the alias 'champion' and loads it back by alias.
(tests/ui/test_quickstart_ui.py walks the same data in the web UI.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed")

import cairn.pyfunc
from cairn.registry.client import RegistryClient
from cairn.tracking.client import TrackingClient
from scoring_support import ScoringServer

ROOT = Path(__file__).resolve().parents[1]


def test_the_quickstart_registers_and_loads_its_champion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Then serves the champion as its last line says, and the server scores like the model."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "with the alias 'champion'" in done.stdout
    assert "Loaded models:/iris-classifier@champion and predicted" in done.stdout

    uri = f"sqlite:///{tmp_path / 'cairn.db'}"
    client = TrackingClient(uri)
    experiment = client.get_experiment_by_name("quickstart")
    assert experiment is not None
    runs = client.search_runs(
        experiment.experiment_id,
        "tags.mlflow.parentRunId IS NOT NULL",
        order_by=["metrics.val_accuracy DESC", "metrics.val_log_loss ASC"],
    )
    champion = RegistryClient(uri).get_model_version_by_alias("iris-classifier", "champion")
    assert champion.version == 1 and champion.run_id == runs[0].info.run_id
    accuracy = runs[0].data.metrics["val_accuracy"]
    assert f"accuracy {accuracy:.3f}." in done.stdout  # the same model, loaded by alias

    served = ServingAsPrinted(done.stdout, tmp_path).start()
    try:
        from sklearn.datasets import load_iris

        rows = load_iris(as_frame=True).frame.drop(columns="target").head(5)
        response = served.invoke({"dataframe_split": rows.to_dict(orient="split")})
        assert response.status_code == 200, response.text
        monkeypatch.setenv("CAIRN_TRACKING_URI", uri)  # here only; the server found it itself
        model = cairn.pyfunc.load_model(f"models:/iris-classifier/{champion.version}")
        assert response.json() == {"predictions": model.predict(rows).tolist()}
        assert response.headers["x-cairn-model"] == "iris-classifier/1"
    finally:
        served.stop()


class ServingAsPrinted(ScoringServer):
    """The serve command the quickstart printed, on a free port, in the quickstart's directory
    (where its ./cairn.db is the default store)."""

    def __init__(self, stdout: str, root: Path) -> None:
        command = stdout.split("Serve the champion over REST: `", 1)[1].split("`", 1)[0].split()
        assert command[:3] == ["cairn", "models", "serve"]
        model = command[command.index("-m") + 1]
        super().__init__(model, root)
