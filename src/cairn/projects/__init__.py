"""Projects: code plus how to run it and in which environment, rerun anywhere as a tracked run.

``cairn.projects.run(".", entry_point="train", parameters={"alpha": 0.5})`` runs an entry point
of a directory, git repository or archive with an ``MLproject`` file (MLflow's format);
``cairn.projects.sweep(...)`` runs many trials of it; ``cairn.projects.reproduce(run_id)``
reruns a past project run.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SubmittedRun", "reproduce", "run", "sweep"]


def __getattr__(name: str) -> Any:
    # Submodules import on first use: `import cairn.projects` stays light.
    if name in ("run", "SubmittedRun"):
        from cairn.projects import runner

        return getattr(runner, name)
    if name == "sweep":
        from cairn.projects.sweeps import sweep

        return sweep
    if name == "reproduce":
        from cairn.projects.reproduction import reproduce

        return reproduce
    raise AttributeError(f"module 'cairn.projects' has no attribute {name!r}")
