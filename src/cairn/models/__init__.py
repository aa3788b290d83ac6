"""Models: MLflow-compatible model directories, signatures and flavors.

Names are resolved lazily so ``import cairn.models`` stays light (pandas and numpy load only when
a name is used). Add an entry to ``_EXPORTS`` to re-export another name.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    "ModelSignature": "signature",
    "Schema": "signature",
    "ColSpec": "signature",
    "TensorSpec": "signature",
    "ParamSpec": "signature",
    "ParamSchema": "signature",
    "DataType": "signature",
    "Array": "signature",
    "Object": "signature",
    "Property": "signature",
    "Map": "signature",
    "AnyType": "signature",
    "infer_signature": "signature",
    "enforce": "enforcement",
    "enforce_params": "enforcement",
    "enforce_signature": "enforcement",
    "Model": "mlmodel",
    "ModelInfo": "logging",
    "get_model_info": "logging",
    "infer_requirements": "environment",
    "register_flavor": "flavors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
