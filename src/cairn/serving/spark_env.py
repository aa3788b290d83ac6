"""Scoring a Spark UDF's batches in the model's own recreated environment.

With ``env_manager="virtualenv"``/``"uv"`` the executor's Python may lack (or have other
versions of) the model's libraries, so it does not load the model itself: each task starts
``python -m cairn.serving.spark_env MODEL_DIR`` in the environment :func:`prepare_env` builds
(or finds cached by its hash) and exchanges one JSON line per batch with it over pipes, the
same ``dataframe_split`` shape the scoring server takes. The child's own prints go to its
stderr, so they cannot corrupt the answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import IO, Any

from cairn.errors import CairnError

_TAIL = 4000  # characters of the child's stderr quoted in an error


class EnvPredictor:
    """``predict(frame)`` answered by a model process in the model's environment."""

    def __init__(
        self,
        model_dir: str,
        env_manager: str,
        env_root: str | None,
        params: dict[str, Any] | None,
        model_config: dict[str, Any] | None = None,
    ) -> None:
        from cairn.models.envs import prepare_env
        from cairn.serving.isolated import _parent_death_signal, child_environment

        env = prepare_env(model_dir, env_root=env_root, env_manager=env_manager)
        self.params = params
        # Kept for the error message until close(); a context manager cannot span the calls.
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self._proc = subprocess.Popen(
            [
                str(env.python),
                "-m",
                "cairn.serving.spark_env",
                model_dir,
                json.dumps(model_config, default=str),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=child_environment(env),
            preexec_fn=_parent_death_signal(),  # a killed Spark worker takes the child along
            text=True,
            encoding="utf-8",
        )

    def __call__(self, frame: Any) -> Any:
        import pandas as pd

        request = {
            "dataframe_split": json.loads(frame.to_json(orient="split", date_format="iso")),
            "params": self.params,
        }
        answer = self._exchange(json.dumps(request))
        if "error" in answer:
            raise CairnError.invalid(f"The model failed in its environment: {answer['error']}")
        if "frame" in answer:
            split = answer["frame"]
            return pd.DataFrame(split["data"], columns=split["columns"])
        return answer["values"]

    def _exchange(self, line: str) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
            reply = self._proc.stdout.readline()
        except (BrokenPipeError, OSError):
            reply = ""
        if not reply:
            self._proc.wait()
            raise CairnError(
                f"The model process in the model's environment exited (code "
                f"{self._proc.returncode}):\n{self._tail()}"
            )
        return json.loads(reply)

    def _tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-_TAIL:]

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._stderr.close()


def _answer(predictions: Any) -> dict[str, Any]:
    """Predictions as JSON: a DataFrame keeps its column names, anything else is values."""
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        split = json.loads(predictions.to_json(orient="split", date_format="iso", index=False))
        return {"frame": {"columns": split["columns"], "data": split["data"]}}
    if isinstance(predictions, pd.Series):
        return {"values": json.loads(predictions.to_json(orient="values", date_format="iso"))}
    if isinstance(predictions, np.ndarray):
        return {"values": predictions.tolist()}
    if isinstance(predictions, dict):
        return {"frame": {"columns": list(predictions), "data": _rows(predictions)}}
    return {"values": json.loads(json.dumps(predictions, default=_plain))}


def _rows(columns: dict[str, Any]) -> list[list[Any]]:
    values = [list(v) for v in columns.values()]
    return json.loads(json.dumps([list(r) for r in zip(*values, strict=True)], default=_plain))


def _plain(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return str(value)


def serve(
    model_dir: str,
    requests: IO[str],
    answers: IO[str],
    model_config: dict[str, Any] | None = None,
) -> None:
    """Answer one JSON line per request line until the input closes."""
    import pandas as pd

    from cairn.pyfunc import load_model

    model = load_model(model_dir, model_config=model_config)
    for line in requests:
        try:
            request = json.loads(line)
            split = request["dataframe_split"]
            frame = pd.DataFrame(split["data"], columns=split["columns"])
            reply = _answer(model.predict(frame, params=request.get("params")))
        except Exception as exc:  # reported to the executor, which raises it
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(reply) + "\n")
        answers.flush()


def main(argv: list[str]) -> None:
    # Keep the protocol on a private copy of stdout; the model's prints go to stderr.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    model_config = json.loads(argv[1]) if len(argv) > 1 else None
    serve(argv[0], sys.stdin, answers, model_config)


if __name__ == "__main__":
    main(sys.argv[1:])
