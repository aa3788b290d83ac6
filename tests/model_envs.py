"""One real sklearn model and its built environment, shared by the prepare-env tests.

Building the environment installs scikit-learn, skops, pandas ... with pip (tens of seconds),
so it happens once per test process: both test modules ask for it here, and the second gets
the same model directory and environment root (where prepare-env then finds it cached).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from cairn.models.envs import PreparedEnv, prepare_env
from cairn.version import __version__


@dataclass
class BuiltEnv:
    model_dir: Path
    env_root: Path
    first: PreparedEnv  # the result of the build itself (reused is False)


_built: dict[str, BuiltEnv] = {}


def save_env_model(path: Path) -> None:
    """A fitted LogisticRegression saved with cairn, with an input example and pinned
    requirements (given, so the test does not depend on what else the session imported)."""
    pytest.importorskip("skops", reason="the sklearn flavor saves with skops")
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import cairn.sklearn
    from cairn.models.environment import pinned

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(frame, [0, 1, 0, 1])
    requirements = [pinned(d) for d in ("scikit-learn", "skops", "numpy", "pandas", "scipy")]
    cairn.sklearn.save_model(
        model,
        path,
        input_example=frame.head(2),
        pip_requirements=[*requirements, f"cairn=={__version__}"],
    )


def built_env(tmp_path_factory: pytest.TempPathFactory) -> BuiltEnv:
    key = str(tmp_path_factory.getbasetemp())
    if key not in _built:
        base = tmp_path_factory.mktemp("model-env")
        model_dir = base / "model"
        save_env_model(model_dir)
        env_root = base / "envs"
        first = prepare_env(model_dir, env_root=env_root)
        _built[key] = BuiltEnv(model_dir, env_root, first)
    return _built[key]
