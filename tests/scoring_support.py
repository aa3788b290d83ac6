"""Models and live scoring servers for the serving tests.

``save_iris(path)`` saves a fitted LogisticRegression with a signature; ``save_scaler(path)``
a custom PythonModel with a params schema (``scale``, ``delay``) that is not row-wise, so the
server never batches it. ``ScoringServer`` runs ``cairn models serve`` as a subprocess.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx

from rest_server import LiveServer, free_port

IRIS_COLUMNS = ["sl", "sw", "pl", "pw"]
CAIRN = str(Path(sys.executable).with_name("cairn"))


def iris_frame() -> Any:
    from sklearn.datasets import load_iris

    frame, target = load_iris(return_X_y=True, as_frame=True)
    frame.columns = IRIS_COLUMNS
    return frame, target


def save_iris(path: Path) -> Any:
    """Save the iris classifier at ``path``; returns the fitted estimator."""
    from sklearn.linear_model import LogisticRegression

    import cairn.sklearn

    frame, target = iris_frame()
    model = LogisticRegression(max_iter=1000).fit(frame, target)
    cairn.sklearn.save_model(model, str(path), input_example=frame.head(3))
    return model


def save_scaler(path: Path) -> None:
    """Save the custom model: ``x * scale`` after sleeping ``delay`` seconds."""
    import pandas as pd

    import cairn.pyfunc
    from cairn.models.signature import infer_signature

    frame = pd.DataFrame({"x": [1.0, 2.0]})
    signature = infer_signature(frame, [1.0, 2.0], params={"scale": 1.0, "delay": 0.0})
    cairn.pyfunc.save_model(str(path), python_model=_scaler_model(), signature=signature)


def _scaler_model() -> Any:
    """Defined in a function so cloudpickle saves it by value (the server cannot import
    this test module)."""
    import cairn.pyfunc

    class ScalerModel(cairn.pyfunc.PythonModel):
        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            import time

            params = params or {}
            if params.get("delay"):
                time.sleep(float(params["delay"]))
            return (model_input["x"] * float(params.get("scale", 1.0))).to_numpy()

    return ScalerModel()


class ScoringServer(LiveServer):
    """``cairn models serve -m MODEL ...`` on a free port."""

    def __init__(self, model: str, root: Path, *args: str) -> None:
        port = free_port()
        command = [CAIRN, "models", "serve", "-m", model, "--port", str(port), *args]
        super().__init__(command, port, root)

    def invoke(self, payload: Any, **kwargs: Any) -> httpx.Response:
        return httpx.post(f"{self.url}/invocations", json=payload, timeout=30, **kwargs)
