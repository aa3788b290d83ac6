"""Input examples saved beside a model as MLflow does: ``input_example.json`` (the example) and
``serving_input_example.json`` (the request body a scoring server accepts for it).

Kinds, as ``saved_input_example_info.type``: ``dataframe`` (pandas, "split" orient without the
index), ``ndarray`` (a numpy array or a dict of arrays, under ``inputs``), ``json_object`` (lists,
dicts, scalars), ``sparse_matrix_csr``/``csc``. A ``(data, params)`` tuple saves params too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from cairn.errors import CairnError

INPUT_EXAMPLE_FILE = "input_example.json"
SERVING_INPUT_FILE = "serving_input_example.json"


def _default(value: Any) -> Any:
    """JSON for what the standard encoder refuses: numpy scalars/arrays, dates, bytes."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    try:
        import pandas as pd

        if isinstance(value, pd.Timestamp):
            return value.isoformat()
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, default=_default, indent=indent)


def _frame_split(frame: Any) -> dict[str, Any]:
    import numpy as np

    data = frame.to_numpy(dtype=object) if len(frame.columns) else np.empty((len(frame), 0))
    rows = [[_default(v) if hasattr(v, "dtype") else v for v in row] for row in data.tolist()]
    return {"columns": [str(c) for c in frame.columns], "data": rows}


def example_payload(example: Any) -> tuple[dict[str, Any], Any, Any]:
    """(info, input_example.json content, serving_input_example.json content)."""
    import numpy as np
    import pandas as pd

    data, params = example, None
    if isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], dict):
        data, params = example
    info: dict[str, Any] = {"artifact_path": INPUT_EXAMPLE_FILE}
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, pd.DataFrame):
        content: Any = _frame_split(data)
        serving: Any = {"dataframe_split": content}
        info.update(type="dataframe", pandas_orient="split")
    elif isinstance(data, np.ndarray):
        content = {"inputs": data.tolist()}
        serving = {"inputs": content["inputs"]}
        info["type"] = "ndarray"
    elif isinstance(data, dict) and any(isinstance(v, np.ndarray) for v in data.values()):
        if not all(isinstance(v, np.ndarray) for v in data.values()):
            raise CairnError.invalid(
                "An input example dict must hold only numpy arrays or no numpy arrays at all."
            )
        content = {"inputs": {k: v.tolist() for k, v in data.items()}}
        serving = {"inputs": content["inputs"]}
        info["type"] = "ndarray"
    elif isinstance(data, (dict, list, str, int, float, bool, dt.datetime)) or np.isscalar(data):
        content = data
        serving = {"inputs": data}
        info["type"] = "json_object"
    elif type(data).__module__.startswith("scipy.sparse"):
        kind = "csc" if data.format == "csc" else "csr"
        info["type"] = f"sparse_matrix_{kind}"
        content = {
            "data": data.data,
            "indices": data.indices,
            "indptr": data.indptr,
            "shape": list(data.shape),
        }
        serving = {"inputs": data.toarray()}
    else:
        raise CairnError.invalid(
            f"Cannot save an input example of type {type(data).__name__}: use a pandas "
            "DataFrame, a numpy array, a dict of arrays, a list, a dict or a scalar."
        )
    if params is not None:
        content = {"inputs": content, "params": params}
        serving = {**serving, "params": params}
        info["params"] = "true"
    info["serving_input_path"] = SERVING_INPUT_FILE
    return info, content, serving


def save_input_example(path: str | os.PathLike[str], example: Any) -> dict[str, Any]:
    """Write the example files into a model directory; returns ``saved_input_example_info``."""
    info, content, serving = example_payload(example)
    root = Path(path)
    (root / INPUT_EXAMPLE_FILE).write_text(_dumps(content), encoding="utf-8")
    (root / SERVING_INPUT_FILE).write_text(_dumps(serving, indent=2), encoding="utf-8")
    return info


def example_data(example: Any) -> Any:
    """The data part of an example (a ``(data, params)`` tuple's data), as signatures need it."""
    if isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], dict):
        return example[0]
    return example


def example_params(example: Any) -> dict[str, Any] | None:
    if isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], dict):
        return example[1]
    return None


def load_input_example(path: str | os.PathLike[str], info: dict[str, Any] | None) -> Any:
    """The saved example as the data it was (a DataFrame, an array ...), or None."""
    if not info:
        return None
    import numpy as np
    import pandas as pd

    from cairn.store.artifacts.paths import resolve_inside

    file = resolve_inside(Path(path), info.get("artifact_path", INPUT_EXAMPLE_FILE))
    content = json.loads(file.read_text(encoding="utf-8"))
    if info.get("params") == "true" and isinstance(content, dict):
        content = content.get("inputs")
    kind = info.get("type")
    if kind == "dataframe":
        if info.get("pandas_orient", "split") == "split":
            return pd.DataFrame(content["data"], columns=content.get("columns"))
        return pd.DataFrame(content)
    if kind == "ndarray":
        inputs = content["inputs"]
        if isinstance(inputs, dict):
            return {k: np.asarray(v) for k, v in inputs.items()}
        return np.asarray(inputs)
    if kind in ("sparse_matrix_csr", "sparse_matrix_csc"):
        from scipy import sparse

        cls = sparse.csc_matrix if kind.endswith("csc") else sparse.csr_matrix
        return cls(
            (content["data"], content["indices"], content["indptr"]), shape=tuple(content["shape"])
        )
    return content
