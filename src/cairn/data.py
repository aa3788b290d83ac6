"""Describing datasets for ``cairn.log_input``: a name, a content digest, source, schema, profile.

The digest is computed from the data itself, so logging the same table twice links both runs
to one dataset and a changed table shows up as a new one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cairn.entities import Dataset
from cairn.errors import CairnError

_DIGEST_ROWS = 10_000  # hash at most this many rows (plus the shape): fast on huge tables


def to_dataset(data: Any, name: str | None = None, source: str | None = None) -> Dataset:
    """A :class:`Dataset` for a Dataset, a pandas DataFrame or a numpy array."""
    if isinstance(data, Dataset):
        return data
    module = type(data).__module__.split(".", 1)[0]
    if module == "pandas" and type(data).__name__ == "DataFrame":
        return from_pandas(data, name=name, source=source)
    if module == "numpy":
        return from_numpy(data, name=name, source=source)
    raise CairnError.invalid(
        f"Cannot log a {type(data).__name__} as a dataset: pass a cairn Dataset, a pandas "
        "DataFrame or a numpy array."
    )


def from_pandas(df: Any, name: str | None = None, source: str | None = None) -> Dataset:
    import pandas as pd

    head = df.head(_DIGEST_ROWS)
    hashed = pd.util.hash_pandas_object(head, index=False).to_numpy().tobytes()
    digest = _digest(hashed, str(df.shape).encode(), ",".join(map(str, df.columns)).encode())
    schema = {
        "mlflow_colspec": [
            {"type": _column_type(str(dtype)), "name": str(col), "required": True}
            for col, dtype in df.dtypes.items()
        ]
    }
    profile = {"num_rows": int(df.shape[0]), "num_elements": int(df.size)}
    return _dataset(name or "dataset", digest, source, schema, profile)


def from_numpy(array: Any, name: str | None = None, source: str | None = None) -> Dataset:
    import numpy as np

    arr = np.asarray(array)
    head = np.ascontiguousarray(arr[:_DIGEST_ROWS]) if arr.ndim else arr
    digest = _digest(head.tobytes(), str(arr.shape).encode(), str(arr.dtype).encode())
    schema = {
        "mlflow_tensorspec": {
            "features": json.dumps(
                [
                    {
                        "type": "tensor",
                        "tensor-spec": {"dtype": str(arr.dtype), "shape": [-1, *arr.shape[1:]]},
                    }
                ]
            )
        }
    }
    profile = {"features_shape": list(arr.shape), "features_size": int(arr.size)}
    return _dataset(name or "dataset", digest, source, schema, profile)


def _dataset(
    name: str, digest: str, source: str | None, schema: dict[str, Any], profile: dict[str, Any]
) -> Dataset:
    source_type = "local" if source else "code"
    return Dataset(
        name=name,
        digest=digest,
        source_type=source_type,
        source=json.dumps({"uri": source} if source else {}),
        schema=json.dumps(schema),
        profile=json.dumps(profile),
    )


def _digest(*parts: bytes) -> str:
    h = hashlib.md5(usedforsecurity=False)
    for part in parts:
        h.update(part)
    return h.hexdigest()[:8]


def _column_type(dtype: str) -> str:
    if dtype.startswith(("int", "uint", "Int", "UInt")):
        return "long"
    if dtype.startswith(("float", "Float")):
        return "double"
    if dtype in ("bool", "boolean"):
        return "boolean"
    if dtype.startswith("datetime"):
        return "datetime"
    return "string"
