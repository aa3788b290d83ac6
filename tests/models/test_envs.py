"""cairn.models.envs: the model's environment spec, its cache key, building and verifying."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.errors import CairnError
from cairn.models.envs import (
    EnvSpec,
    cairn_install_args,
    default_env_root,
    env_key,
    prepare_env,
    read_env_spec,
    verify_env,
)
from cairn.version import __version__
from model_envs import BuiltEnv, built_env, save_env_model


def _spec(**changes: object) -> EnvSpec:
    values: dict[str, object] = {
        "python": "3.11.7",
        "build_dependencies": ["pip==26.3", "setuptools", "wheel"],
        "requirements": ["scikit-learn==1.9.1", "numpy==2.4.6"],
    }
    values.update(changes)
    return EnvSpec(**values)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- cache key


def test_env_key_is_stable_and_ignores_order_and_whitespace() -> None:
    key = env_key(_spec(), "3.11.7", "0.1.0")
    assert key == env_key(_spec(), "3.11.7", "0.1.0")
    reordered = _spec(requirements=[" numpy==2.4.6", "scikit-learn==1.9.1 "])
    assert env_key(reordered, "3.11.7", "0.1.0") == key
    assert len(key) == 20 and all(c in "0123456789abcdef" for c in key)


@pytest.mark.parametrize(
    "spec, python, cairn",
    [
        (_spec(requirements=["scikit-learn==1.9.0", "numpy==2.4.6"]), "3.11.7", "0.1.0"),
        (_spec(requirements=["scikit-learn==1.9.1"]), "3.11.7", "0.1.0"),
        (_spec(build_dependencies=["pip==25.0"]), "3.11.7", "0.1.0"),
        (_spec(python="3.10.4"), "3.11.7", "0.1.0"),
        (_spec(), "3.12.1", "0.1.0"),
        (_spec(), "3.11.7", "0.2.0"),
    ],
)
def test_env_key_changes_with_what_decides_the_environment(
    spec: EnvSpec, python: str, cairn: str
) -> None:
    assert env_key(spec, python, cairn) != env_key(_spec(), "3.11.7", "0.1.0")


def test_env_key_includes_the_tool() -> None:
    assert env_key(_spec(), "3.11.7", "0.1.0", "uv") != env_key(
        _spec(), "3.11.7", "0.1.0", "virtualenv"
    )


def test_env_root_default_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CAIRN_ENV_ROOT", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_env_root() == tmp_path / "cache" / "cairn" / "envs"
    monkeypatch.setenv("CAIRN_ENV_ROOT", str(tmp_path / "mine"))
    assert default_env_root() == tmp_path / "mine"


# ----------------------------------------------------------------------------- the spec


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "model"
    save_env_model(path)
    return path


def test_read_env_spec_of_a_saved_model_sets_cairn_apart(saved_model: Path) -> None:
    spec = read_env_spec(saved_model)
    assert spec.python and spec.python.count(".") == 2
    assert any(d.startswith("pip") for d in spec.build_dependencies)
    names = [r.split("==")[0] for r in spec.requirements]
    assert names == ["scikit-learn", "skops", "numpy", "pandas", "scipy"]
    assert spec.cairn_requirement == f"cairn=={__version__}"


def test_a_directory_without_python_env_is_refused(saved_model: Path, tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text((saved_model / "MLmodel").read_text())
    with pytest.raises(CairnError, match=r"has no python_env\.yaml"):
        read_env_spec(tmp_path)
    with pytest.raises(CairnError, match=r"has no python_env\.yaml"):
        prepare_env(tmp_path, env_root=tmp_path / "envs")
    assert not (tmp_path / "envs").exists()


def test_a_missing_requirements_file_is_refused(saved_model: Path, tmp_path: Path) -> None:
    for name in ("MLmodel", "python_env.yaml"):
        (tmp_path / name).write_text((saved_model / name).read_text())
    with pytest.raises(CairnError, match=r"'requirements\.txt', which is missing"):
        read_env_spec(tmp_path)


def test_python_env_without_dependencies_is_refused(tmp_path: Path) -> None:
    (tmp_path / "python_env.yaml").write_text("python: 3.11.7\nbuild_dependencies: [pip]\n")
    with pytest.raises(CairnError, match="lists no dependencies"):
        read_env_spec(tmp_path)


def test_a_path_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CairnError, match="not a saved model directory"):
        prepare_env(tmp_path, env_root=tmp_path / "envs")


def test_the_running_cairn_installs_from_its_editable_source(tmp_path: Path) -> None:
    import importlib.metadata
    import json

    direct = json.loads(importlib.metadata.distribution("cairn").read_text("direct_url.json"))
    if not (direct.get("dir_info") or {}).get("editable"):
        pytest.skip("cairn is not an editable install here")
    messages: list[str] = []
    args = cairn_install_args(tmp_path, messages.append)
    assert args[0] == "-e" and (Path(args[1]) / "src" / "cairn" / "__init__.py").is_file()
    assert "not on PyPI" in messages[0]


# ----------------------------------------------------------------------------- a real env


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> BuiltEnv:
    return built_env(tmp_path_factory)


@pytest.mark.slow
def test_prepare_env_builds_a_virtualenv_where_the_model_predicts(env: BuiltEnv) -> None:
    first = env.first
    assert not first.reused
    assert first.path.parent == env.env_root and first.python.is_file()
    assert any("not on PyPI" in note for note in first.notes)
    result = verify_env(first, env.model_dir)
    assert result.ok and result.loaded and result.predicted, result.output
    assert "prediction: array([0, 1])" in result.output


@pytest.mark.slow
def test_a_second_prepare_env_reuses_the_environment(env: BuiltEnv) -> None:
    again = prepare_env(env.model_dir, env_root=env.env_root)
    assert again.reused and again.path == env.first.path
    assert any("Reusing the cached environment" in note for note in again.notes)


@pytest.mark.slow
def test_verification_reports_a_model_that_does_not_load(env: BuiltEnv, tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "model"
    shutil.copytree(env.model_dir, broken)
    (broken / "model.skops").write_bytes(b"not a skops file")
    result = verify_env(env.first, broken)
    assert not result.loaded and not result.ok
    assert "Traceback" in result.output


def test_without_install_metadata_cairn_is_built_into_a_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.metadata

    import cairn.models.envs as envs

    def not_installed(name: str) -> importlib.metadata.Distribution:
        raise importlib.metadata.PackageNotFoundError(name)

    # As if cairn ran from a source tree without install metadata: the wheel is built from it.
    monkeypatch.setattr(envs.metadata, "distribution", not_installed)
    messages: list[str] = []
    args = cairn_install_args(tmp_path, messages.append)
    assert len(args) == 1 and Path(args[0]).name.startswith("cairn-")
    assert Path(args[0]).suffix == ".whl" and Path(args[0]).is_file()
    assert "Building a cairn wheel" in messages[0]


@pytest.mark.slow
def test_uv_builds_a_working_environment_of_its_own(env: BuiltEnv, tmp_path: Path) -> None:
    import shutil

    if shutil.which("uv") is None:
        pytest.skip("uv is not on PATH")
    built = prepare_env(env.model_dir, env_root=tmp_path / "envs", env_manager="uv")
    assert not built.reused and built.manager == "uv"
    # The key includes the tool: a virtualenv-built environment is never reused for uv.
    assert (built.path.name == env.first.path.name) == (env.first.manager == "uv")
    result = verify_env(built, env.model_dir)
    assert result.ok, result.output


def test_a_python_version_mismatch_warns_and_never_downloads() -> None:
    import shutil
    import sys

    from cairn.models.envs import choose_interpreter

    if shutil.which("python1.0"):
        pytest.skip("a Python 1.0 is on PATH")
    messages: list[str] = []
    path, version = choose_interpreter(_spec(python="1.0.1"), None, messages.append)
    assert path == sys.executable and version == ".".join(map(str, sys.version_info[:3]))
    assert "saved with Python 1.0.1" in messages[0] and "--python" in messages[0]
    messages.clear()
    current = version
    path, version = choose_interpreter(_spec(python=current), sys.executable, messages.append)
    assert version == current and messages == []
