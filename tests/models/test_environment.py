"""Environment capture: the flavor's packages and what the process imported, pinned; overrides."""

from __future__ import annotations

import importlib.metadata as metadata
import subprocess
import sys

import pytest
import yaml

from cairn.errors import CairnError
from cairn.models import environment


def test_flavor_packages_come_first_and_pinned() -> None:
    import sklearn  # noqa: F401

    reqs = environment.infer_requirements(["scikit-learn", "cloudpickle"])
    assert reqs[:2] == [
        f"scikit-learn=={metadata.version('scikit-learn')}",
        f"cloudpickle=={metadata.version('cloudpickle')}",
    ]
    assert f"numpy=={metadata.version('numpy')}" in reqs  # imported by this process


def test_infrastructure_and_tools_are_left_out() -> None:
    import pytest as _pytest  # noqa: F401
    import sqlalchemy  # noqa: F401

    names = {r.split("==")[0].lower() for r in environment.infer_requirements([])}
    assert not names & {"pytest", "sqlalchemy", "msgspec", "starlette", "cairn", "pip"}


def test_an_imported_third_party_package_is_captured() -> None:
    """In a fresh process: what the user's code imports is listed, cairn's own libraries not."""
    code = (
        "import skops, yaml; from cairn.models.environment import infer_requirements; "
        "print('\\n'.join(infer_requirements([])))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    reqs = out.stdout.splitlines()
    assert f"skops=={metadata.version('skops')}" in reqs
    assert not any(r.lower().startswith("pyyaml") for r in reqs)


def test_pip_requirements_replace_and_extra_add(tmp_path) -> None:
    assert environment.infer_requirements(["scikit-learn"], pip_requirements=["a==1", "b"]) == [
        "a==1",
        "b",
    ]
    extra = environment.infer_requirements(["scikit-learn"], extra_pip_requirements=["zzz>=2"])
    assert extra[0].startswith("scikit-learn==") and "zzz>=2" in extra
    pinned = environment.infer_requirements(
        ["scikit-learn"], extra_pip_requirements=["scikit-learn<2"]
    )
    assert "scikit-learn<2" in pinned and not any(r.startswith("scikit-learn==") for r in pinned)
    file = tmp_path / "reqs.txt"
    file.write_text("# comment\nfoo==1\n\nbar\n")
    assert environment.infer_requirements([], pip_requirements=str(file)) == ["foo==1", "bar"]


def test_bad_overrides_are_refused(tmp_path) -> None:
    with pytest.raises(CairnError, match="not both"):
        environment.infer_requirements([], pip_requirements=["a"], extra_pip_requirements=["b"])
    with pytest.raises(CairnError, match="is not a file"):
        environment.infer_requirements([], pip_requirements=str(tmp_path / "missing.txt"))
    with pytest.raises(CairnError, match="must be a string"):
        environment.infer_requirements([], pip_requirements=[1])


def test_environment_files(tmp_path) -> None:
    env = environment.write_environment(tmp_path, ["numpy==2.0", "pandas"])
    assert env == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert (tmp_path / "requirements.txt").read_text() == "numpy==2.0\npandas"
    python_env = yaml.safe_load((tmp_path / "python_env.yaml").read_text())
    assert python_env["python"] == environment.python_version()
    assert python_env["dependencies"] == ["-r requirements.txt"]
    assert (tmp_path / "python_env.yaml").read_text().startswith("python:")
    conda = yaml.safe_load((tmp_path / "conda.yaml").read_text())
    assert conda["dependencies"][0] == f"python={environment.python_version()}"
    assert conda["dependencies"][-1] == {"pip": ["numpy==2.0", "pandas"]}
    assert environment.read_requirements(tmp_path) == ["numpy==2.0", "pandas"]


def test_pins_drop_local_version_labels() -> None:
    """An index serves ``torch==2.13.0``, never ``2.13.0+cpu``: the pin must be installable."""
    pytest.importorskip("torch")
    installed = metadata.version("torch")
    if "+" not in installed:
        pytest.skip(f"this torch ({installed}) carries no local version label")
    assert environment.pinned("torch") == f"torch=={installed.split('+')[0]}"
