"""An import from start to end: pick experiments, copy runs one by one, report what happened.

Per run the order is: ask cairn how many points it holds per key, fetch from the source only
the histories that differ, write the run in one transaction, then copy the artifact files
cairn lacks. A run that fails is reported and the import carries on with the next one; a
second import retries it, since nothing about a failed run is recorded as done.

The model registry comes last (see :mod:`cairn.importer.registry`), one registered model per
transaction, so its versions can point at the runs just imported.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlparse

from sqlalchemy.exc import SQLAlchemyError

from cairn.errors import CairnError
from cairn.importer.registry import (
    ModelResult,
    RegistryWriter,
    RunLocation,
    SourceRegisteredModel,
)
from cairn.importer.sources import Source, SourceExperiment, SourceRun
from cairn.importer.writer import (
    CairnWriter,
    RunResult,
    copy_artifacts,
    missing_artifacts,
)
from cairn.store.artifacts import ArtifactRepository, get_artifact_repository
from cairn.store.tracking.sql import SqlTrackingStore

# Consecutive failed runs after which the destination is assumed broken and the import stops.
MAX_CONSECUTIVE_FAILURES = 10


@dataclass(frozen=True)
class ImportOptions:
    experiments: Sequence[str] = ()
    artifacts: bool = True
    # Tracking server that resolves ``mlflow-artifacts:`` URIs of a database source.
    artifacts_from: str | None = None
    dry_run: bool = False
    registry: bool = True


@dataclass
class ImportSummary:
    experiments_created: int = 0
    experiments_updated: int = 0
    experiments_unchanged: int = 0
    runs_created: int = 0
    runs_updated: int = 0
    runs_unchanged: int = 0
    params: int = 0
    tags: int = 0
    metric_points: int = 0
    inputs: int = 0
    artifact_files: int = 0
    artifact_bytes: int = 0
    registered_models_created: int = 0
    registered_models_updated: int = 0
    registered_models_unchanged: int = 0
    model_versions_created: int = 0
    model_versions_updated: int = 0
    model_versions_unchanged: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, result: RunResult) -> None:
        if result.created:
            self.runs_created += 1
        elif result.changed:
            self.runs_updated += 1
        else:
            self.runs_unchanged += 1
        self.params += result.params
        self.tags += result.tags
        self.metric_points += result.metric_points
        self.inputs += result.inputs
        self.warnings.extend(result.warnings)

    def add_model(self, result: ModelResult) -> None:
        if result.created:
            self.registered_models_created += 1
        elif result.changed or result.versions_created or result.versions_updated:
            self.registered_models_updated += 1
        else:
            self.registered_models_unchanged += 1
        self.model_versions_created += result.versions_created
        self.model_versions_updated += result.versions_updated
        self.model_versions_unchanged += result.versions_unchanged
        self.warnings.extend(result.warnings)


# (runs done so far, total runs, what is being imported now)
ProgressCallback = Callable[[int, int, str], None]


def select_experiments(source: Source, names: Sequence[str]) -> list[SourceExperiment]:
    """The source experiments named (by name or id), or all of them; unknown names fail."""
    experiments = source.experiments()
    if not names:
        return experiments
    by_name = {e.name: e for e in experiments}
    by_id = {e.experiment_id: e for e in experiments}
    chosen: dict[str, SourceExperiment] = {}
    unknown = []
    for name in names:
        exp = by_name.get(name) or by_id.get(name)
        if exp is None:
            unknown.append(name)
        else:
            chosen[exp.experiment_id] = exp
    if unknown:
        known = ", ".join(sorted(by_name)[:20]) or "none"
        raise CairnError.not_found(
            f"No experiment {', '.join(map(repr, unknown))} in {source.uri} (it has: {known})."
        )
    return [e for e in experiments if e.experiment_id in chosen]


def import_from(
    source: Source,
    store: SqlTrackingStore,
    options: ImportOptions,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Copy the chosen experiments and their runs from ``source`` into ``store``."""
    started = time.monotonic()
    job = _Import(source, store, options, progress)
    try:
        job.run()
    except SQLAlchemyError as exc:
        raise CairnError(f"Database error: {_message(exc)}") from None
    job.summary.seconds = time.monotonic() - started
    return job.summary


class _Import:
    def __init__(
        self,
        source: Source,
        store: SqlTrackingStore,
        options: ImportOptions,
        progress: ProgressCallback | None,
    ) -> None:
        self.source = source
        self.options = options
        self.progress = progress or (lambda done, total, current: None)
        self.summary = ImportSummary(notes=source.notes())
        self.writer = CairnWriter(store, dry_run=options.dry_run)
        self.artifacts = _Artifacts(source, options, self.summary)
        self.registry = RegistryWriter(store.engine, source.uri, dry_run=options.dry_run)
        # Imported runs' artifact roots, source and cairn: where registered versions move to.
        self.run_locations: dict[str, RunLocation] = {}

    def run(self) -> None:
        experiments = select_experiments(self.source, self.options.experiments)
        total = self.source.count_runs([e.experiment_id for e in experiments])
        done = failures = 0
        self.progress(done, total, "")
        for exp in experiments:
            target = self.writer.import_experiment(exp)
            if target.created:
                self.summary.experiments_created += 1
            elif target.changed:
                self.summary.experiments_updated += 1
            else:
                self.summary.experiments_unchanged += 1
            for run in self.source.runs(exp.experiment_id):
                self.progress(done, total, f"{exp.name} / {run.name or run.run_id}")
                try:
                    self.import_run(run, target.experiment_id)
                    failures = 0
                except (CairnError, SQLAlchemyError, OSError) as exc:
                    self.summary.errors.append(f"run {run.run_id}: {_message(exc)}")
                    failures += 1
                    if failures >= MAX_CONSECUTIVE_FAILURES:
                        raise CairnError(
                            f"Stopped after {failures} runs in a row failed; the last: "
                            f"{_message(exc)}"
                        ) from None
                done += 1
        self.progress(done, total, "")
        if self.options.registry:
            self.import_registry()

    def import_run(self, run: SourceRun, experiment_id: str | None) -> None:
        have = self.writer.metric_counts(run.run_id)
        if run.metric_counts is not None:
            keys = [k for k, n in run.metric_counts.items() if have.get(k) != n]
        else:
            keys = list(run.metric_keys)
        histories = self.source.metric_histories(run, keys)
        result = self.writer.import_run(run, experiment_id, histories)
        self.summary.add(result)
        if run.artifact_uri and result.artifact_uri:
            self.run_locations[run.run_id] = RunLocation(run.artifact_uri, result.artifact_uri)
        self.artifacts.copy(run, result.artifact_uri)

    def import_registry(self) -> None:
        models, prompts = self.source.registered_models()
        self._locate_other_runs(models)
        if prompts:
            self.summary.notes.append(f"{prompts} prompt{'s' if prompts != 1 else ''}")
        outside = 0
        for model in models:
            try:
                result = self.registry.import_model(model, self.run_locations)
            except (CairnError, SQLAlchemyError) as exc:
                self.summary.errors.append(f"registered model {model.name!r}: {_message(exc)}")
                continue
            self.summary.add_model(result)
            outside += result.versions_outside
        if outside:
            self.summary.warnings.append(
                f"{outside} model version{' keeps its' if outside == 1 else 's keep their'} "
                "files where MLflow has them (logged models, which the import does not copy "
                "yet, or locations outside the imported runs)"
            )

    def _locate_other_runs(self, models: list[SourceRegisteredModel]) -> None:
        """Add the runs versions name that this import did not copy but cairn has (imported
        before, e.g. with another ``--experiment``): their versions point into cairn too."""
        wanted = {
            v.run_id
            for m in models
            for v in m.versions
            if v.run_id and v.run_id not in self.run_locations
        }
        if not wanted:
            return
        have = self.registry.run_artifact_uris(wanted)
        if not have:
            return
        for run_id, uri in self.source.run_artifact_uris(list(have)).items():
            self.run_locations[run_id] = RunLocation(uri, have[run_id])


def _message(exc: BaseException) -> str:
    if isinstance(exc, CairnError):
        return exc.message
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


class _Artifacts:
    """Copies each run's missing artifact files, or counts them in a dry run."""

    def __init__(self, source: Source, options: ImportOptions, summary: ImportSummary) -> None:
        self.enabled = options.artifacts
        self.dry_run = options.dry_run
        self.tracking_uri = options.artifacts_from or source.artifact_tracking_uri()
        self.summary = summary
        self.unresolved = 0

    def copy(self, run: SourceRun, destination_uri: str | None) -> None:
        if not self.enabled or not run.artifact_uri:
            return
        src = self._source_repository(run.artifact_uri)
        if src is None:
            return
        dst = get_artifact_repository(destination_uri) if destination_uri else None
        try:
            todo = missing_artifacts(src, dst)
            if todo and not self.dry_run and dst is not None:
                copy_artifacts(src, dst, sorted(todo))
            self.summary.artifact_files += len(todo)
            self.summary.artifact_bytes += sum(size or 0 for size in todo.values())
        finally:
            for repo in (src, dst):
                close = getattr(repo, "close", None)
                if close is not None:
                    close()

    def _source_repository(self, uri: str) -> ArtifactRepository | None:
        if urlparse(uri).scheme == "mlflow-artifacts":
            if self.tracking_uri is None:
                if not self.unresolved:
                    self.summary.warnings.append(
                        "runs keep their artifacts behind an MLflow server (mlflow-artifacts:/); "
                        "pass --artifacts-from http://<server> to copy them"
                    )
                self.unresolved += 1
                return None
            from cairn.store.artifacts.http import HttpArtifactRepository

            return HttpArtifactRepository(uri, self.tracking_uri)
        try:
            return get_artifact_repository(uri)
        except (CairnError, ImportError) as exc:
            # Same cause for every run of the store (a scheme or a client library): say it once.
            message = f"artifacts not copied from {uri.split(':', 1)[0]}: URIs: {_message(exc)}"
            if message not in self.summary.warnings:
                self.summary.warnings.append(message)
            return None


# ---------------------------------------------------------------------------- presentation


@contextlib.contextmanager
def rich_progress() -> Iterator[ProgressCallback]:
    """A progress bar on stderr while a terminal is watching; silent in pipes and logs."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    columns = (
        TextColumn("Importing runs"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}", markup=False),
    )
    with Progress(
        *columns, console=console, disable=not console.is_terminal, transient=True
    ) as bar:
        task = bar.add_task("import", total=None, current="")

        def update(done: int, total: int, current: str) -> None:
            bar.update(task, completed=done, total=total, current=current[:60])

        yield update
