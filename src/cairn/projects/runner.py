"""``cairn.projects.run``: run a project's entry point as a tracked run.

Everything that can be wrong with the request (an unknown entry point, a missing or mistyped
parameter, an environment manager the project cannot use, a version that does not exist) is
found before a run is created. Then the run is created with the source, entry point, git
commit, environment and parameters recorded, and a :class:`~cairn.projects.supervisor.Supervisor`
runs the command; the script's own ``cairn.start_run()`` resumes that run through
``CAIRN_RUN_ID`` (``MLFLOW_RUN_ID`` for scripts written against mlflow).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cairn.entities import Param, RunStatus
from cairn.errors import CairnError
from cairn.projects.sources import FetchedProject, fetch
from cairn.projects.spec import DEFAULT_ENTRY_POINT, EntryPoint, load_project
from cairn.projects.supervisor import LaunchPlan, Supervisor, launch_detached
from cairn.tracking import config, context

# Tags MLflow's project runs carry (the UI and `mlflow` read them), then cairn's own.
SOURCE_TYPE_PROJECT = context.SOURCE_TYPE_PROJECT
ENTRY_POINT_TAG = "mlflow.project.entryPoint"
ENV_TAG = "mlflow.project.env"
BACKEND_TAG = "mlflow.project.backend"
LEGACY_REPO_URL_TAG = "mlflow.gitRepoURL"
PROJECT_NAME_TAG = "cairn.project.name"
URI_TAG = "cairn.project.uri"
VERSION_TAG = "cairn.project.version"
PARAMETERS_TAG = "cairn.project.parameters"
DIRTY_TAG = "cairn.project.git_dirty"
RUN_ID_VARIABLES = ("CAIRN_RUN_ID", "MLFLOW_RUN_ID")


class SubmittedRun:
    """A project run that was started: wait for it, ask its status, cancel it."""

    def __init__(self, run_id: str, tracking_uri: str, supervisor: Supervisor | None) -> None:
        self.run_id = run_id
        self.tracking_uri = tracking_uri
        self._supervisor = supervisor
        self._thread: threading.Thread | None = None

    def wait(self) -> bool:
        """Block until the run ends; True when it FINISHED."""
        if self._thread is not None:
            self._thread.join()
        elif self._supervisor is None:  # detached: poll the store
            import time

            while self.get_status() not in RunStatus.TERMINATED:
                time.sleep(0.5)
        return self.get_status() == RunStatus.FINISHED

    def get_status(self) -> str:
        if self._supervisor is not None and self._supervisor.status is not None:
            return self._supervisor.status
        from cairn.tracking.client import TrackingClient

        return TrackingClient(self.tracking_uri).get_run(self.run_id).info.status

    def cancel(self) -> None:
        """Stop the command and its children; the run is recorded KILLED."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            self.wait()
        else:
            from cairn.projects.supervisor import cancel_run

            cancel_run(self.run_id, self.tracking_uri)

    @property
    def returncode(self) -> int | None:
        return self._supervisor.returncode if self._supervisor is not None else None

    def __repr__(self) -> str:
        return f"SubmittedRun(run_id={self.run_id!r}, status={self.get_status()!r})"


def run(
    uri: str = ".",
    entry_point: str = DEFAULT_ENTRY_POINT,
    *,
    version: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    env_manager: str | None = None,
    synchronous: bool = True,
    detach: bool = False,
    run_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    parent_run_id: str | None = None,
    python: str | None = None,
    env_root: str | None = None,
    tracking_uri: str | None = None,
    stream_output: bool = True,
    storage_dir: str | None = None,
) -> SubmittedRun:
    """Run ``entry_point`` of the project at ``uri`` (a directory, git URI or archive).

    ``synchronous=True`` returns when the command has ended (check ``wait()`` or
    ``get_status()``: a failing command is a FAILED run, not an exception); ``False`` returns
    at once with the command running on a thread of this process; ``detach=True`` hands it to a
    process of its own that outlives this one. Bad requests raise :class:`CairnError` before
    any run is created.

    A ``path`` parameter given as a URI (``runs:/``, ``s3://``, ``https://`` ...) is downloaded
    first and the command gets the local copy: into ``storage_dir`` if given (kept), else into
    a temporary directory removed when the run ends.
    """
    from cairn.projects.environments import resolve_env_manager

    given = dict(parameters or {})
    fetched = fetch(uri, version)
    cleanup = [str(fetched.temp_dir)] if fetched.temp_dir else []
    try:
        project = load_project(fetched.directory)
        point = project.entry_point(entry_point)
        declared, extra = point.resolve_parameters(
            given, base_dir=Path.cwd(), project_dir=fetched.directory
        )
        manager = resolve_env_manager(project, env_manager)
        store_uri = config.resolve_uri(tracking_uri or config.get_tracking_uri())
        local_values, data_dir = _localized(point, declared, storage_dir, store_uri)
        if data_dir is not None:
            cleanup.append(str(data_dir))
        command = point.command_line(local_values, extra)
        from cairn.tracking.client import TrackingClient

        client = TrackingClient(store_uri)
        experiment = resolve_experiment_id(client, experiment_name, experiment_id)
        all_tags = _run_tags(fetched, project.name, point.name, manager, version, declared, extra)
        parent = parent_run_id or _enclosing_run_id()
        if parent:
            all_tags[context.PARENT_RUN_ID] = parent
        all_tags.update({str(k): str(v) for k, v in (tags or {}).items()})
        created = client.create_run(experiment, tags=all_tags, run_name=run_name)
    except BaseException:
        _remove(cleanup)
        raise
    run_id = created.info.run_id
    try:
        client.log_batch(run_id, params=[Param(k, v) for k, v in {**declared, **extra}.items()])
    except BaseException:
        client.set_terminated(run_id, RunStatus.FAILED)
        _remove(cleanup)
        raise
    plan = LaunchPlan(
        run_id=run_id,
        tracking_uri=store_uri,
        directory=str(fetched.directory),
        command=command,
        env_manager=manager,
        environment=_child_environment(client, run_id, store_uri, experiment),
        python=python,
        env_root=env_root,
        cleanup_dirs=cleanup,
    )
    if detach:
        launch_detached(plan)
        return SubmittedRun(run_id, store_uri, None)
    supervisor = Supervisor(plan, echo=sys.stdout if stream_output else None)
    submitted = SubmittedRun(run_id, store_uri, supervisor)
    if synchronous:
        supervisor.run()
    else:
        thread = threading.Thread(target=supervisor.run, name=f"cairn-project-{run_id}")
        thread.daemon = True
        submitted._thread = thread
        thread.start()
    return submitted


def _localized(
    point: EntryPoint, declared: dict[str, str], storage_dir: str | None, store_uri: str
) -> tuple[dict[str, str], Path | None]:
    """The declared values with remote ``path`` values downloaded, and the temporary directory
    made for them (None when nothing was downloaded or ``storage_dir`` was given)."""
    from cairn.projects.downloads import has_remote_paths, localize_path_parameters

    if not has_remote_paths(point, declared):
        return declared, None
    if storage_dir:
        return localize_path_parameters(point, declared, Path(storage_dir), store_uri), None
    temporary = Path(tempfile.mkdtemp(prefix="cairn-project-data-"))
    try:
        return localize_path_parameters(point, declared, temporary, store_uri), temporary
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _remove(directories: list[str]) -> None:
    for directory in directories:
        shutil.rmtree(directory, ignore_errors=True)


def resolve_experiment_id(client: Any, name: str | None, experiment_id: str | None) -> str:
    if name and experiment_id:
        raise CairnError.invalid("Give an experiment name or an experiment id, not both.")
    if experiment_id:
        experiment = client.get_experiment(str(experiment_id))
    elif name:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            return client.create_experiment(name)
    else:
        from cairn.tracking.fluent import _current_experiment_id

        experiment = client.get_experiment(_current_experiment_id())
    if experiment.lifecycle_stage != "active":
        raise CairnError.invalid(
            f"Experiment {experiment.name!r} is deleted: restore it or choose another."
        )
    return experiment.experiment_id


def _enclosing_run_id() -> str | None:
    """The run this call happens inside, if any: a project step that runs other projects
    makes their runs its children."""
    from cairn.tracking.fluent import active_run

    active = active_run()
    if active is not None:
        return active.info.run_id
    return next((os.environ[v] for v in RUN_ID_VARIABLES if os.environ.get(v)), None)


def _run_tags(
    fetched: FetchedProject,
    name: str,
    entry_point: str,
    manager: str,
    version: str | None,
    declared: dict[str, str],
    extra: dict[str, str],
) -> dict[str, str]:
    tags = {
        context.USER: context.current_user(),
        context.SOURCE_TYPE: SOURCE_TYPE_PROJECT,
        context.SOURCE_NAME: fetched.uri,
        ENTRY_POINT_TAG: entry_point,
        ENV_TAG: manager,
        BACKEND_TAG: "local",
        PROJECT_NAME_TAG: name,
        URI_TAG: fetched.uri,
        PARAMETERS_TAG: json.dumps({**declared, **extra}, sort_keys=True),
    }
    if version is not None:
        tags[VERSION_TAG] = version
    if fetched.git_commit:
        tags[context.GIT_COMMIT] = fetched.git_commit
    if fetched.git_repo_url:
        tags[context.GIT_REPO_URL] = fetched.git_repo_url
        tags[LEGACY_REPO_URL_TAG] = fetched.git_repo_url
    if fetched.git_branch:
        tags[context.GIT_BRANCH] = fetched.git_branch
    if fetched.git_dirty:
        tags[DIRTY_TAG] = "true"
    return tags


def _child_environment(client: Any, run_id: str, store_uri: str, experiment: str) -> dict[str, str]:
    """What the command needs to log into this run, whatever directory it runs in."""
    env = {
        "CAIRN_RUN_ID": run_id,
        "MLFLOW_RUN_ID": run_id,
        config.TRACKING_URI_ENV: store_uri,
        "CAIRN_EXPERIMENT_ID": experiment,
        "MLFLOW_EXPERIMENT_ID": experiment,
        "CAIRN_EXPERIMENT_NAME": "",
        "PYTHONUNBUFFERED": "1",
    }
    if store_uri.startswith(("http://", "https://")):
        env["MLFLOW_TRACKING_URI"] = store_uri  # mlflow scripts can log to a server too
    root = getattr(client.store, "artifact_root", None)
    if isinstance(root, str) and root:
        env[config.ARTIFACT_ROOT_ENV] = root
    return env
