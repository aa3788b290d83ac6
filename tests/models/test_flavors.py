"""The flavor registry: MLflow's loader module names map to cairn's flavor modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cairn.errors import CairnError
from cairn.models import flavors


def test_mlflow_loader_names_map_to_cairn_modules() -> None:
    assert flavors.pyfunc_loader("mlflow.sklearn").__name__ == "cairn.sklearn"
    assert flavors.pyfunc_loader("mlflow.pyfunc.model").__name__ == "cairn.pyfunc.model"
    assert flavors.pyfunc_loader("cairn.sklearn").__name__ == "cairn.sklearn"
    assert flavors.mlflow_loader_module("cairn.sklearn") == "mlflow.sklearn"
    assert flavors.flavor_module("sklearn").FLAVOR_NAME == "sklearn"


def test_modules_a_model_file_names_are_not_imported() -> None:
    with pytest.raises(CairnError, match="not a registered"):
        flavors.pyfunc_loader("subprocess")
    with pytest.raises(CairnError, match="Unknown model flavor 'nope'"):
        flavors.flavor_module("nope")


def test_a_registered_flavor_is_found(monkeypatch) -> None:
    monkeypatch.setattr(flavors, "FLAVOR_MODULES", dict(flavors.FLAVOR_MODULES))
    monkeypatch.setattr(flavors, "LOADER_MODULES", dict(flavors.LOADER_MODULES))
    flavors.register_flavor("json_model", "json", "mlflow.json_model")
    assert flavors.pyfunc_loader("mlflow.json_model").__name__ == "json"
    assert flavors.flavor_module("json_model").__name__ == "json"


def test_import_cairn_stays_light() -> None:
    """The model packages load on first use, not with ``import cairn``."""
    code = (
        "import sys, cairn; "
        "heavy = [m for m in ('cairn.pyfunc', 'cairn.sklearn', 'cairn.models', 'sklearn', "
        "'pandas', 'numpy', 'skops') if m in sys.modules]; "
        "print(heavy); assert cairn.sklearn.FLAVOR_NAME == 'sklearn'"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
