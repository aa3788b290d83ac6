"""Sweep trials as Ray tasks: ``cairn sweep --backend ray``.

Each trial is one task that calls :func:`cairn.projects.run` synchronously on whichever node
Ray picks; the run is created and logged there, straight into the tracking store, so the store
must be reachable from every node (a shared SQLite file on one machine, a ``cairn server``
URI on a real cluster) and every worker must be able to import cairn: on one machine the
workers share this interpreter; on a cluster install cairn on the nodes or pass a
``runtime_env`` (e.g. ``{"pip": ["cairn[sweep]"]}``).

Without an address (``ray_address`` or ``$RAY_ADDRESS``) a local cluster is started for the
sweep and stopped after it. A Ray that is already initialised in this process is used as it
is and left running.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cairn.errors import CairnError

if TYPE_CHECKING:
    from cairn.projects.sweeps import TrialLaunch, TrialResult

# What a trial's process needs from this one to log where this process logs.
_FORWARDED = ("CAIRN_ARTIFACT_ROOT", "CAIRN_ENV_ROOT", "CAIRN_REGISTRY_URI")
BACKEND_TAG_VALUE = "ray"
_POLL_SECONDS = 0.25


def run_trial(kwargs: dict[str, Any]) -> tuple[str | None, str | None]:
    """The task body: one project run, to its end. Returns (run id, error message).

    The run's command runs on a thread while this one polls: Ray cancels a task by raising
    KeyboardInterrupt in it, which a thread blocked waiting for a process would never see.
    """
    from cairn.entities import RunStatus
    from cairn.projects.runner import run

    try:
        submitted = run(**kwargs, synchronous=False)
    except CairnError as error:
        return None, error.message
    try:
        while submitted.get_status() not in RunStatus.TERMINATED:
            time.sleep(_POLL_SECONDS)
        submitted.wait()
    except KeyboardInterrupt:
        submitted.cancel()  # stops the command's process group; the run is recorded KILLED
        raise
    return submitted.run_id, None


class RayBackend:
    """Submits trials as Ray tasks; the sweep driver keeps at most ``max_parallel`` in
    flight, each task asking for one CPU."""

    name = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        num_cpus: int | None = None,
        runtime_env: Mapping[str, Any] | None = None,
    ) -> None:
        try:
            import ray
        except ImportError:
            raise CairnError.invalid(
                "--backend ray needs Ray: pip install 'cairn[ray]' (or pip install 'ray>=2.9'), "
                "or run the sweep with --backend local."
            ) from None
        self._ray = ray
        self._owned = not ray.is_initialized()
        if self._owned:
            env = dict((runtime_env or {}).get("env_vars", {}))
            env.update({k: os.environ[k] for k in _FORWARDED if os.environ.get(k)})
            job_env = {**dict(runtime_env or {}), "env_vars": env} if env else runtime_env
            target = address or os.environ.get("RAY_ADDRESS") or None
            options: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,  # each trial's output is its run's project.log
                "runtime_env": dict(job_env) if job_env else None,
            }
            try:
                if target:
                    ray.init(address=target, **options)
                else:
                    ray.init(num_cpus=num_cpus, **options)
            except (ConnectionError, RuntimeError, ValueError) as error:
                where = f"the Ray cluster at {target!r}" if target else "a local Ray cluster"
                raise CairnError.invalid(f"Could not start or reach {where}: {error}") from None
        self._task = ray.remote(num_cpus=1, max_retries=0)(run_trial)
        self._pending: dict[Any, TrialResult] = {}

    def start(self, trial: TrialResult, launch: TrialLaunch) -> None:
        kwargs = launch.run_kwargs()
        kwargs["tags"] = {**kwargs["tags"], "mlflow.project.backend": BACKEND_TAG_VALUE}
        self._pending[self._task.remote(kwargs)] = trial

    def finished(self, timeout: float) -> list[TrialResult]:
        if not self._pending:
            return []
        ready, _ = self._ray.wait(list(self._pending), num_returns=1, timeout=timeout)
        ended = []
        for ref in ready:
            trial = self._pending.pop(ref)
            try:
                trial.run_id, trial.error = self._ray.get(ref)
            except Exception as error:  # the task died: the trial failed, the sweep goes on
                trial.error = f"Ray task failed: {error}".splitlines()[0]
            ended.append(trial)
        return ended

    def cancel(self) -> None:
        """Interrupt every running task; the run inside it stops its command and records
        itself KILLED (the sweep closes any run a dead worker left RUNNING)."""
        refs = list(self._pending)
        for ref in refs:
            with contextlib.suppress(Exception):
                self._ray.cancel(ref)
        if refs:
            with contextlib.suppress(Exception):
                self._ray.wait(refs, num_returns=len(refs), timeout=15)
        self._pending.clear()

    def close(self) -> None:
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()
