"""``cairn models predict --env-manager virtualenv|uv``: score a file in the model's own
environment.

The environment is recreated (or reused from the cache, :mod:`cairn.models.envs`) and the
same ``cairn models predict`` runs there with ``--env-manager local`` on a local copy of the
model, so a ``models:/`` URI is resolved once, here. The child shares this terminal and
process group: its progress bar is drawn in place and a Ctrl-C reaches it directly (it then
removes its partial output itself).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

from cairn.errors import CairnError
from cairn.models.envs import UV, VIRTUALENV
from cairn.serving.isolated import child_environment
from cairn.serving.model_source import local_model

ENV_MANAGERS = (VIRTUALENV, UV)


def predict_in_env(
    model_uri: str,
    *,
    env_manager: str,
    env_root: str | None,
    python: str | None,
    predict_args: list[str],
    log: Callable[[str], None],
) -> int:
    """Run ``cairn models predict`` in the model's environment; returns its exit code.

    ``predict_args`` are the other options (input, output, formats, ...), passed unchanged;
    file paths in them are relative to the current directory, which the child shares.
    """
    if env_manager not in ENV_MANAGERS:
        raise CairnError.invalid(
            f"--env-manager {env_manager!r}: an isolated environment is "
            f"{' or '.join(ENV_MANAGERS)} (local predicts in the running environment)."
        )
    from cairn.models.envs import prepare_env

    with local_model(model_uri, log) as (_, model_dir):
        env = prepare_env(
            model_dir, env_root=env_root, env_manager=env_manager, python=python, log=log
        )
        command = [
            str(env.python),
            *("-m", "cairn", "models", "predict"),
            *("-m", os.path.abspath(model_dir), "--env-manager", "local"),
            *predict_args,
        ]
        return subprocess.call(command, env=child_environment(env))
