"""``cairn runs reproduce RUN_ID``: rerun a past project run and compare the two.

The new run takes what the original recorded: the source, the git commit (so a branch that
moved on since does not matter), the entry point, the parameters as they were resolved, the
environment manager and the experiment. It is tagged ``cairn.reproduces=<original id>``.
Where the original cannot be pinned (a directory outside git, uncommitted changes) the rerun
goes ahead with a warning that says so.
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from cairn.entities import Run
from cairn.errors import CairnError
from cairn.projects import runner
from cairn.projects.sweeps import SWEEP_TAG
from cairn.tracking import context

REPRODUCES_TAG = "cairn.reproduces"


@dataclass(frozen=True)
class MetricComparison:
    key: str
    original: float | None
    reproduced: float | None

    @property
    def difference(self) -> float | None:
        if self.original is None or self.reproduced is None:
            return None
        return self.reproduced - self.original

    @property
    def same(self) -> bool:
        if self.original is None or self.reproduced is None:
            return False
        if math.isnan(self.original) and math.isnan(self.reproduced):
            return True
        return math.isclose(self.original, self.reproduced, rel_tol=1e-9, abs_tol=1e-12)


@dataclass
class Reproduction:
    original: Run
    submitted: runner.SubmittedRun
    warnings: list[str]

    def comparison(self) -> list[MetricComparison]:
        """Latest value of every metric of either run, side by side (sorted by key)."""
        from cairn.tracking.client import TrackingClient

        new = TrackingClient(self.submitted.tracking_uri).get_run(self.submitted.run_id)
        before, after = self.original.data.metrics, new.data.metrics
        return [
            MetricComparison(key, before.get(key), after.get(key))
            for key in sorted(set(before) | set(after))
        ]


def reproduce(
    run_id: str,
    *,
    env_manager: str | None = None,
    tracking_uri: str | None = None,
    synchronous: bool = True,
    stream_output: bool = True,
    warn: Callable[[str], None] | None = None,
) -> Reproduction:
    """Rerun project run ``run_id`` the way it ran; see the module docstring."""
    from cairn.tracking.client import TrackingClient

    original = TrackingClient(tracking_uri).get_run(run_id)
    tags = original.data.tags
    if tags.get(context.SOURCE_TYPE) != runner.SOURCE_TYPE_PROJECT:
        raise CairnError.invalid(
            f"Run {run_id} was not started by `cairn run` (its source type is "
            f"{tags.get(context.SOURCE_TYPE, 'unknown')}), so there is no project to rerun."
        )
    if tags.get(SWEEP_TAG) == "true":
        raise CairnError.invalid(
            f"Run {run_id} is a sweep, not one project run: reproduce one of its trials, or "
            f"run the sweep again with\n  {sweep_command(original)}"
        )
    source = tags.get(runner.URI_TAG) or tags.get(context.SOURCE_NAME)
    if not source:
        raise CairnError.invalid(f"Run {run_id} does not record its project source.")
    warnings: list[str] = []
    commit = tags.get(context.GIT_COMMIT)
    if commit is None:
        warnings.append(
            f"{source} was not under git when run {run_id} ran: rerunning the code as it is "
            "now, which may have changed."
        )
    if tags.get(runner.DIRTY_TAG) == "true":
        warnings.append(
            f"Run {run_id} ran with uncommitted changes; rerunning commit "
            f"{(commit or '?')[:12]} without them."
        )
    for message in warnings:
        (warn or (lambda m: None))(message)
    submitted = runner.run(
        source,
        tags.get(runner.ENTRY_POINT_TAG, "main"),
        version=commit,
        parameters=_parameters(original),
        experiment_id=original.info.experiment_id,
        env_manager=env_manager or tags.get(runner.ENV_TAG),
        synchronous=synchronous,
        run_name=f"{original.info.run_name}-reproduced" if original.info.run_name else None,
        tags={REPRODUCES_TAG: run_id},
        tracking_uri=tracking_uri,
        stream_output=stream_output,
    )
    return Reproduction(original, submitted, warnings)


def sweep_command(run: Run) -> str:
    """The `cairn sweep` command line that runs the sweep ``run`` recorded again."""
    tags = run.data.tags
    words = [
        "cairn",
        "sweep",
        tags.get(context.SOURCE_NAME, "."),
        "-e",
        tags.get(runner.ENTRY_POINT_TAG, "main"),
    ]
    for name, space in sorted(run.data.params.items()):
        words += ["-P", f"{name}={space}"]
    options = {
        "--version": tags.get(context.GIT_COMMIT) or tags.get(runner.VERSION_TAG),
        "--strategy": tags.get("cairn.sweep.strategy"),
        "--metric": tags.get("cairn.sweep.metric"),
        "--goal": tags.get("cairn.sweep.goal"),
        "--seed": tags.get("cairn.sweep.seed"),
        "--max-parallel": tags.get("cairn.sweep.max_parallel"),
        "--backend": tags.get("cairn.sweep.backend"),
    }
    if tags.get("cairn.sweep.strategy") in ("random", "bayes"):
        options["--trials"] = tags.get("cairn.sweep.trials")
    for option, value in options.items():
        if value:
            words += [option, value]
    return shlex.join(words)


def _parameters(run: Run) -> dict[str, str]:
    recorded = run.data.tags.get(runner.PARAMETERS_TAG)
    if recorded:
        try:
            values = json.loads(recorded)
        except ValueError:
            values = None
        if isinstance(values, dict):
            return {str(k): str(v) for k, v in values.items()}
    return dict(run.data.params)  # runs recorded before the tag existed
