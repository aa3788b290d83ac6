"""``cairn runs logs RUN_ID [--follow]``: what a project run's command printed.

While the run is going the supervisor writes the output to a file on this machine (its path is
the run's ``cairn.project.log_file`` tag); when the run ends the file is saved as the run's
``project.log`` artifact, readable from anywhere the store is.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.entities import RunStatus
from cairn.errors import CairnError
from cairn.projects.supervisor import LOG_ARTIFACT, LOG_FILE_TAG, state_dir, supervisor_gone
from cairn.tracking.context import SOURCE_TYPE, SOURCE_TYPE_PROJECT

if TYPE_CHECKING:
    from cairn.tracking.client import TrackingClient

POLL_SECONDS = 0.3


def stream_logs(
    run_id: str,
    *,
    follow: bool = False,
    write: Callable[[str], None],
    tracking_uri: str | None = None,
) -> None:
    """Write the run's log with ``write``; with ``follow``, keep going until the run ends."""
    from cairn.tracking.client import TrackingClient

    client = TrackingClient(tracking_uri)
    run = client.get_run(run_id)
    local = Path(run.data.tags.get(LOG_FILE_TAG) or state_dir(run_id) / LOG_ARTIFACT)
    running = run.info.status not in RunStatus.TERMINATED
    if running and run.data.tags.get(SOURCE_TYPE) == SOURCE_TYPE_PROJECT and not local.is_file():
        return  # started elsewhere, or its command has printed nothing yet
    if not running or not local.is_file():
        text = _saved_log(client, run_id)
        if text is None and local.is_file():
            text = local.read_text(encoding="utf-8", errors="replace")
        if text is None:
            raise CairnError.invalid(
                f"Run {run_id} has no project log: only runs started by `cairn run` have one."
            )
        write(text)
        return
    with open(local, encoding="utf-8", errors="replace") as handle:
        while True:
            chunk = handle.read()
            if chunk:
                write(chunk)
            if not follow:
                return
            current = client.get_run(run_id)
            if current.info.status in RunStatus.TERMINATED:
                rest = handle.read()
                if rest:
                    write(rest)
                return
            if supervisor_gone(current.data.tags, run_id):
                write(handle.read())
                raise CairnError.invalid(
                    f"Run {run_id} is still RUNNING but the process that ran it is gone (killed "
                    f"or the machine restarted). `cairn runs cancel {run_id}` marks it KILLED."
                )
            time.sleep(POLL_SECONDS)


def _saved_log(client: TrackingClient, run_id: str) -> str | None:
    if not any(f.path == LOG_ARTIFACT for f in client.list_artifacts(run_id)):
        return None
    with tempfile.TemporaryDirectory() as directory:
        path = client.download_artifacts(run_id, LOG_ARTIFACT, directory)
        return (
            Path(path).read_text(encoding="utf-8", errors="replace")
            if os.path.isfile(path)
            else None
        )
