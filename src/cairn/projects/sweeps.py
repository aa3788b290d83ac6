"""`cairn.projects.sweeps`: run one entry point of a project many times over a search space
and keep the best trial.

The sweep is a run of its own (tag ``cairn.sweep=true``, the space as its params); every trial
is a project run (:func:`cairn.projects.run`) made its child. Trials run on threads of this
process (``backend="local"``) or as tasks on a Ray cluster (``backend="ray"``), at most
``max_parallel`` at a time. When they have ended, each trial's last logged value of ``metric``
decides the best one: a trial that failed or never logged the metric cannot win.

The search space and the strategies are in :mod:`cairn.projects.sweep_space`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from cairn.entities import RunStatus
from cairn.errors import CairnError
from cairn.projects.sweep_space import (
    GOALS,
    INTEGER_TEXT,
    MAX_TRIALS,
    Dimension,
    Strategy,
    make_strategy,
    number_text,
    parse_space,
)

if TYPE_CHECKING:
    from cairn.projects.sources import FetchedProject
    from cairn.projects.spec import EntryPoint
    from cairn.tracking.client import TrackingClient

BACKENDS = ("local", "ray")

SWEEP_TAG = "cairn.sweep"
TRIAL_TAG = "cairn.sweep.trial"
BEST_TAG = "cairn.sweep.best"
BEST_RUN_TAG = "cairn.sweep.best_run_id"
BEST_PARAM_TAG_PREFIX = "cairn.sweep.best."
SUMMARY_JSON = "sweep_summary.json"
SUMMARY_CSV = "sweep_summary.csv"

# ------------------------------------------------------------------------- results


@dataclass
class TrialResult:
    """One trial: its parameters, its run and how it ended."""

    index: int
    params: dict[str, str]
    run_id: str | None = None
    status: str = RunStatus.SCHEDULED
    value: float | None = None  # the last logged value of the sweep's metric
    error: str | None = None
    best: bool = False

    @property
    def eligible(self) -> bool:
        return self.status == RunStatus.FINISHED and self.value is not None


@dataclass
class SweepResult:
    """What a sweep left behind: its run, its trials and the best of them (None when no trial
    finished with the metric logged)."""

    parent_run_id: str
    experiment_id: str
    metric: str
    goal: str
    status: str
    trials: list[TrialResult] = field(default_factory=list)
    best_run_id: str | None = None

    @property
    def best(self) -> TrialResult | None:
        return next((t for t in self.trials if t.best), None)


# ------------------------------------------------------------------------- backends


@dataclass(frozen=True)
class TrialLaunch:
    """Everything :func:`cairn.projects.run` needs for one trial (plain data, so it can travel
    to a Ray worker)."""

    uri: str
    entry_point: str
    version: str | None
    parameters: dict[str, str]
    experiment_id: str
    parent_run_id: str
    env_manager: str | None
    tracking_uri: str
    run_name: str
    tags: dict[str, str]
    python: str | None = None
    env_root: str | None = None

    def run_kwargs(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "entry_point": self.entry_point,
            "version": self.version,
            "parameters": self.parameters,
            "experiment_id": self.experiment_id,
            "parent_run_id": self.parent_run_id,
            "env_manager": self.env_manager,
            "tracking_uri": self.tracking_uri,
            "run_name": self.run_name,
            "tags": self.tags,
            "python": self.python,
            "env_root": self.env_root,
            "stream_output": False,
        }


class Backend(Protocol):
    """Where trials execute. ``start`` must not block on the trial; ``finished`` returns the
    trials that ended since the last call (waiting up to ``timeout`` seconds for one)."""

    name: str

    def start(self, trial: TrialResult, launch: TrialLaunch) -> None: ...

    def finished(self, timeout: float) -> list[TrialResult]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


class LocalBackend:
    """Trials as project runs on threads of this process (``run(..., synchronous=False)``)."""

    name = "local"

    def __init__(self) -> None:
        self._done: queue.Queue[TrialResult] = queue.Queue()
        self._running: dict[int, Any] = {}
        self._lock = threading.Lock()

    def start(self, trial: TrialResult, launch: TrialLaunch) -> None:
        from cairn.projects.runner import run

        try:
            submitted = run(**launch.run_kwargs(), synchronous=False)
        except CairnError as error:
            trial.error = error.message
            self._done.put(trial)
            return
        trial.run_id = submitted.run_id
        with self._lock:
            self._running[trial.index] = submitted
        threading.Thread(
            target=self._watch,
            args=(trial, submitted),
            name=f"cairn-sweep-{trial.index}",
            daemon=True,
        ).start()

    def _watch(self, trial: TrialResult, submitted: Any) -> None:
        try:
            submitted.wait()
        except Exception as error:  # reported with the trial; the sweep goes on
            trial.error = str(error)
        self._done.put(trial)

    def finished(self, timeout: float) -> list[TrialResult]:
        try:
            ended = [self._done.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                ended.append(self._done.get_nowait())
            except queue.Empty:
                break
        with self._lock:
            for trial in ended:
                self._running.pop(trial.index, None)
        return ended

    def cancel(self) -> None:
        with self._lock:
            running = list(self._running.values())
        for submitted in running:
            with contextlib.suppress(Exception):
                submitted.cancel()

    def close(self) -> None:
        pass


# ------------------------------------------------------------------------- the driver


def sweep(
    uri: str = ".",
    entry_point: str = "main",
    *,
    space: Mapping[str, Any] | Sequence[str],
    strategy: str = "grid",
    trials: int | None = None,
    metric: str = "loss",
    goal: str = "minimize",
    max_parallel: int = 1,
    backend: str = "local",
    version: str | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    env_manager: str | None = None,
    python: str | None = None,
    env_root: str | None = None,
    seed: int | None = None,
    run_name: str | None = None,
    tracking_uri: str | None = None,
    ray_address: str | None = None,
    ray_num_cpus: int | None = None,
    ray_runtime_env: Mapping[str, Any] | None = None,
    on_trial: Callable[[TrialResult], None] | None = None,
) -> SweepResult:
    """Run a hyperparameter sweep over ``entry_point`` of the project at ``uri``.

    ``space`` maps parameter names to values in the ``-P`` syntax (module docstring) or is a
    list of ``name=values`` strings. Everything checkable is checked before any run exists.
    ``on_trial`` is called as each trial starts (status SCHEDULED) and ends. A Ctrl-C or an
    error cancels the running trials and records the sweep run KILLED before re-raising.
    ``ray_*`` apply to ``backend="ray"``: the cluster address (default ``$RAY_ADDRESS``, else
    a local cluster of ``ray_num_cpus`` CPUs, default ``max_parallel``) and a runtime_env for
    the workers (which must be able to import cairn and reach the tracking store).
    """
    from cairn.projects.sources import fetch
    from cairn.projects.spec import load_project
    from cairn.tracking import config
    from cairn.tracking.client import TrackingClient

    dimensions = parse_space(space)
    if goal not in GOALS:
        raise CairnError.invalid(f"Unknown goal {goal!r}: use minimize or maximize.")
    if backend not in BACKENDS:
        raise CairnError.invalid(f"Unknown backend {backend!r}: use local or ray.")
    if max_parallel < 1:
        raise CairnError.invalid(f"--max-parallel must be at least 1, got {max_parallel}.")
    if not metric.strip():
        raise CairnError.invalid("--metric needs the name of a metric the trials log.")
    chosen = make_strategy(dimensions, strategy, trials=trials, goal=goal, seed=seed)

    store_uri = config.resolve_uri(tracking_uri or config.get_tracking_uri())
    client = TrackingClient(store_uri)
    fetched = fetch(uri, version)
    try:
        project = load_project(fetched.directory)
        point = project.entry_point(entry_point)
        _check_values(point, dimensions, fetched)
        from cairn.projects.environments import resolve_env_manager
        from cairn.projects.runner import resolve_experiment_id

        resolve_env_manager(project, env_manager)  # refused now, not once per trial
        experiment = resolve_experiment_id(client, experiment_name, experiment_id)
        trial_uri, trial_version, source_tags = _trial_source(uri, version, fetched, backend)
        executor = _backend(backend, max_parallel, ray_address, ray_num_cpus, ray_runtime_env)
        try:
            parent = _start_parent(
                client,
                experiment,
                dimensions,
                source=fetched.uri,
                entry_point=point.name,
                strategy=strategy,
                metric=metric,
                goal=goal,
                planned=chosen.planned,
                max_parallel=max_parallel,
                backend=executor.name,
                seed=seed,
                run_name=run_name,
                project_name=project.name,
                git_commit=fetched.git_commit,
                version=version,
            )
            result = SweepResult(parent, experiment, metric, goal, RunStatus.RUNNING)

            def launch_for(trial: TrialResult) -> TrialLaunch:
                tags = {**source_tags, TRIAL_TAG: str(trial.index)}
                return TrialLaunch(
                    uri=trial_uri,
                    entry_point=point.name,
                    version=trial_version,
                    parameters=_absolute_paths(point, trial.params),
                    experiment_id=experiment,
                    parent_run_id=parent,
                    env_manager=env_manager,
                    tracking_uri=store_uri,
                    run_name=f"{_parent_name(run_name, point.name)}-{trial.index}",
                    tags=tags,
                    python=python,
                    env_root=env_root,
                )

            try:
                _drive(chosen, executor, launch_for, max_parallel, client, metric, result, on_trial)
            except BaseException:
                executor.cancel()
                _reconcile(client, result, after_cancel=True)
                _finish(client, result, metric, goal, dimensions, RunStatus.KILLED)
                raise
            _reconcile(client, result, after_cancel=False)
            succeeded = any(t.eligible for t in result.trials)
            _finish(
                client,
                result,
                metric,
                goal,
                dimensions,
                RunStatus.FINISHED if succeeded else RunStatus.FAILED,
            )
            return result
        finally:
            executor.close()
    finally:
        fetched.close()


def _drive(
    strategy: Strategy,
    executor: Backend,
    launch_for: Callable[[TrialResult], TrialLaunch],
    max_parallel: int,
    client: TrackingClient,
    metric: str,
    result: SweepResult,
    on_trial: Callable[[TrialResult], None] | None,
) -> None:
    """Keep up to ``max_parallel`` trials running until the strategy has no more."""
    running = 0
    exhausted = False
    while True:
        while not exhausted and running < max_parallel:
            params = strategy.propose()
            if params is None:
                exhausted = True
                break
            trial = TrialResult(len(result.trials), params)
            result.trials.append(trial)
            executor.start(trial, launch_for(trial))
            running += 1
            if on_trial is not None:
                on_trial(trial)
        if running == 0:
            return
        for trial in executor.finished(timeout=0.5):
            running -= 1
            _settle(client, trial, metric)
            strategy.report(trial.index, trial.value if trial.eligible else None)
            if on_trial is not None:
                on_trial(trial)


def _settle(client: TrackingClient, trial: TrialResult, metric: str) -> None:
    """Read how the trial's run ended and its last value of the metric, from the store."""
    if trial.run_id is None:
        trial.status = RunStatus.FAILED
        return
    run = client.get_run(trial.run_id)
    trial.status = run.info.status
    value = run.data.metrics.get(metric)
    trial.value = float(value) if value is not None and math.isfinite(value) else None
    if trial.error is not None:
        return
    if trial.status == RunStatus.FINISHED and trial.value is None:
        trial.error = f"finished without logging metric {metric!r}"
    elif trial.status == RunStatus.FAILED:
        trial.error = "see the run's project.log artifact"


def _reconcile(client: TrackingClient, result: SweepResult, *, after_cancel: bool) -> None:
    """Find the runs of trials whose backend never told us their id (a Ray task cancelled
    before it returned) and close runs a killed worker left RUNNING."""
    missing = {t.index: t for t in result.trials if t.run_id is None}
    if missing or after_cancel:
        children = client.search_runs(
            result.experiment_id,
            f"tags.`mlflow.parentRunId` = '{result.parent_run_id}'",
            max_results=MAX_TRIALS,
        )
        for run in children:
            index = run.data.tags.get(TRIAL_TAG, "")
            if index.isdigit() and int(index) in missing:
                missing[int(index)].run_id = run.info.run_id
    for trial in result.trials:
        if trial.run_id is None:
            if trial.status not in RunStatus.TERMINATED:
                trial.status = RunStatus.KILLED if after_cancel else RunStatus.FAILED
            continue
        run = client.get_run(trial.run_id)
        if run.info.status not in RunStatus.TERMINATED and after_cancel:
            client.set_terminated(trial.run_id, RunStatus.KILLED)
        if trial.status not in RunStatus.TERMINATED:
            trial.status = client.get_run(trial.run_id).info.status


def _finish(
    client: TrackingClient,
    result: SweepResult,
    metric: str,
    goal: str,
    dimensions: dict[str, Dimension],
    status: str,
) -> None:
    """Mark the best trial, write the summary table and end the sweep run."""
    from cairn.clock import now_ms
    from cairn.entities import Metric, RunTag

    parent = result.parent_run_id
    eligible = [t for t in result.trials if t.eligible]
    if eligible:
        pick = min if goal == "minimize" else max
        best = pick(eligible, key=lambda t: t.value)  # type: ignore[arg-type, return-value]
        best.best = True
        result.best_run_id = best.run_id
        assert best.run_id is not None and best.value is not None
        client.set_tag(best.run_id, BEST_TAG, "true")
        tags = [RunTag(BEST_RUN_TAG, best.run_id)]
        tags += [RunTag(BEST_PARAM_TAG_PREFIX + k, v) for k, v in best.params.items()]
        client.log_batch(
            parent, metrics=[Metric(f"best_{metric}", best.value, now_ms(), 0)], tags=tags
        )
    counts = {s: sum(t.status == s for t in result.trials) for s in RunStatus.TERMINATED}
    client.log_batch(
        parent,
        tags=[RunTag(f"cairn.sweep.{s.lower()}", str(n)) for s, n in counts.items()],
    )
    table = summary_table(result, list(dimensions))
    try:
        client.log_table(parent, table, SUMMARY_JSON)
        client.log_text(parent, _csv(table), SUMMARY_CSV)
    finally:
        client.set_terminated(parent, status)
        result.status = status


def summary_table(result: SweepResult, names: list[str]) -> dict[str, list[Any]]:
    """Columns trial, run_id, status, the parameters, the metric and best."""
    table: dict[str, list[Any]] = {"trial": [], "run_id": [], "status": []}
    for name in names:
        table[name] = []
    table[result.metric] = []
    table["best"] = []
    for trial in result.trials:
        table["trial"].append(trial.index)
        table["run_id"].append(trial.run_id)
        table["status"].append(trial.status)
        for name in names:
            table[name].append(_typed(trial.params.get(name)))
        table[result.metric].append(trial.value)
        table["best"].append(trial.best)
    return table


def _typed(text: str | None) -> Any:
    """A parameter's text as a number where it is one, so the summary sorts numerically."""
    if text is None:
        return None
    if INTEGER_TEXT.match(text.strip()):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _csv(table: dict[str, list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table)
    for row in zip(*table.values(), strict=True):
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


# ------------------------------------------------------------------------- setup helpers


def _check_values(
    point: EntryPoint, dimensions: dict[str, Dimension], fetched: FetchedProject
) -> None:
    """Refuse before any run a value the entry point would refuse (a float for an int
    parameter, a required parameter the space leaves out)."""
    for name, dimension in dimensions.items():
        parameter = point.parameters.get(name)
        if parameter is None:
            continue
        if parameter.type == "int" and dimension.kind == "float":
            raise CairnError.invalid(
                f"Parameter {name!r} of entry point {point.name!r} is an int, but "
                f"{dimension.describe()} ranges over floats: give integer bounds (and step)."
            )
        for value in dimension.values:
            parameter.convert(value, entry_point=point.name, base_dir=fetched.directory)
    sample = {
        name: d.values[0] if d.values else number_text(d.low, integer=d.kind == "int")
        for name, d in dimensions.items()
    }
    point.resolve_parameters(sample, base_dir=fetched.directory)


def _absolute_paths(point: EntryPoint, params: dict[str, str]) -> dict[str, str]:
    """Relative ``path`` parameters made absolute here: a Ray worker runs elsewhere."""
    from pathlib import Path

    out = dict(params)
    for name, value in params.items():
        parameter = point.parameters.get(name)
        if parameter is not None and parameter.type == "path":
            out[name] = parameter.convert(value, entry_point=point.name, base_dir=Path.cwd())
    return out


def _trial_source(
    uri: str, version: str | None, fetched: FetchedProject, backend: str
) -> tuple[str, str | None, dict[str, str]]:
    """What each trial runs: a local directory as it is; a git repository or archive fetched
    once here (for local trials), with the recorded source still the original URI."""
    import os

    if fetched.temp_dir is None or backend != "local":
        base = uri.partition("#")[0]
        if fetched.kind == "local" and not os.path.isabs(base):
            uri = os.path.abspath(base) + uri[len(base) :]  # Ray workers run elsewhere
        return uri, version, {}
    from cairn.projects import runner
    from cairn.tracking import context

    tags = {context.SOURCE_NAME: fetched.uri, runner.URI_TAG: fetched.uri}
    if version is not None:
        tags[runner.VERSION_TAG] = version
    if fetched.git_commit:
        tags[context.GIT_COMMIT] = fetched.git_commit
    if fetched.git_repo_url:
        tags[context.GIT_REPO_URL] = fetched.git_repo_url
        tags[runner.LEGACY_REPO_URL_TAG] = fetched.git_repo_url
    return str(fetched.directory), None, tags


def _backend(
    name: str,
    max_parallel: int,
    address: str | None,
    num_cpus: int | None,
    runtime_env: Mapping[str, Any] | None,
) -> Backend:
    if name == "local":
        return LocalBackend()
    from cairn.projects.ray_backend import RayBackend

    return RayBackend(address=address, num_cpus=num_cpus or max_parallel, runtime_env=runtime_env)


def _parent_name(run_name: str | None, entry_point: str) -> str:
    return run_name or f"sweep-{entry_point}"


def _start_parent(
    client: TrackingClient,
    experiment: str,
    dimensions: dict[str, Dimension],
    *,
    source: str,
    entry_point: str,
    strategy: str,
    metric: str,
    goal: str,
    planned: int,
    max_parallel: int,
    backend: str,
    seed: int | None,
    run_name: str | None,
    project_name: str,
    git_commit: str | None = None,
    version: str | None = None,
) -> str:
    """The sweep's own run: what was searched, how, and for what."""
    from cairn.entities import Param
    from cairn.projects import runner
    from cairn.tracking import context

    tags = {
        SWEEP_TAG: "true",
        "cairn.sweep.strategy": strategy,
        "cairn.sweep.metric": metric,
        "cairn.sweep.goal": goal,
        "cairn.sweep.trials": str(planned),
        "cairn.sweep.max_parallel": str(max_parallel),
        "cairn.sweep.backend": backend,
        context.SOURCE_TYPE: runner.SOURCE_TYPE_PROJECT,
        context.SOURCE_NAME: source,
        runner.ENTRY_POINT_TAG: entry_point,
        runner.PROJECT_NAME_TAG: project_name,
    }
    if seed is not None:
        tags["cairn.sweep.seed"] = str(seed)
    if git_commit:
        tags[context.GIT_COMMIT] = git_commit
    if version is not None:
        tags[runner.VERSION_TAG] = version
    run = client.create_run(experiment, tags=tags, run_name=_parent_name(run_name, entry_point))
    params = [Param(name, d.describe()) for name, d in dimensions.items()]
    client.log_batch(run.info.run_id, params=params)
    return run.info.run_id
