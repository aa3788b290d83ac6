"""Run one project command to its end and record how it ended.

A :class:`LaunchPlan` says everything needed once the run exists (its id, the store, the
directory, the command, the environment manager). :class:`Supervisor` builds or reuses the
environment, starts the command in its own process group (so cancelling reaches every process
it started), streams its output line by line to the console and to a log file, saves the log
as the run's ``project.log`` artifact and sets the run FINISHED, FAILED or KILLED.

The same supervisor runs in three places: in the caller's thread (``synchronous=True``), on a
background thread (``synchronous=False``) and as a detached process (``cairn run --detach``:
``python -m cairn.projects.supervisor PLAN.json``), which outlives the command line that
started it. A detached supervisor records its pid on the run so ``cairn runs cancel`` can find
it; SIGTERM makes it cancel the command and record KILLED.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from cairn.entities import RunStatus
from cairn.errors import CairnError

if TYPE_CHECKING:
    from cairn.tracking.client import TrackingClient

LOG_ARTIFACT = "project.log"
PID_TAG = "cairn.project.pid"
HOST_TAG = "cairn.project.host"
LOG_FILE_TAG = "cairn.project.log_file"
STATE_DIR_VARIABLE = "CAIRN_PROJECT_STATE_DIR"
KILL_GRACE_SECONDS = 5.0

Write = Callable[[str], None]


@dataclass
class LaunchPlan:
    """What a supervisor needs to run a created run's command (JSON-serialisable)."""

    run_id: str
    tracking_uri: str
    directory: str
    command: str
    env_manager: str
    environment: dict[str, str] = field(default_factory=dict)  # added to the child's env
    python: str | None = None
    env_root: str | None = None
    # Removed at the end: a fetched copy of the project, downloaded path parameters.
    cleanup_dirs: list[str] = field(default_factory=list)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> LaunchPlan:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def state_dir(run_id: str) -> Path:
    """Where a run's log is written while it runs (``~/.cache/cairn/project-runs/<id>``)."""
    configured = os.environ.get(STATE_DIR_VARIABLE)
    if configured:
        base = Path(configured)
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = Path(cache) / "cairn" / "project-runs"
    path = base / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path


class Supervisor:
    """Runs a plan's command once; :meth:`cancel` may be called from any thread."""

    def __init__(self, plan: LaunchPlan, *, echo: IO[str] | None = None) -> None:
        self.plan = plan
        self.echo = echo
        self.status: str | None = None
        self.returncode: int | None = None
        self.log_path = state_dir(plan.run_id) / LOG_ARTIFACT
        self._process: subprocess.Popen[bytes] | None = None
        self._cancelled = threading.Event()
        self._stopped = threading.Event()  # set once a cancel has stopped everything
        self._lock = threading.Lock()

    # -------------------------------------------------------------- running

    def run(self) -> str:
        """Prepare, run and record; returns the final status. Never raises for a failing
        command or environment: that is the run's FAILED status and its log."""
        from cairn.tracking.client import TrackingClient

        client = TrackingClient(self.plan.tracking_uri)
        status = RunStatus.FAILED
        try:
            with open(self.log_path, "wb") as log:
                status = self._run_logged(log)
        except KeyboardInterrupt:
            self.cancel()
            self._reap()
            status = RunStatus.KILLED
            raise
        finally:
            self.status = status
            self._finish(client, status)
        return status

    def _run_logged(self, log: IO[bytes]) -> str:
        def say(message: str) -> None:
            self._write(log, f"[cairn] {message}\n".encode())

        from cairn.projects.environments import prepare_environment
        from cairn.projects.spec import load_project

        try:
            project = load_project(self.plan.directory)
            environment = prepare_environment(
                project,
                self.plan.env_manager,
                python=self.plan.python,
                env_root=self.plan.env_root,
                log=say,
            )
            child_env = {**os.environ, **self.plan.environment}
            argv, env = environment.wrap(
                self.plan.command, workdir=Path(self.plan.directory), env=child_env
            )
        except CairnError as error:
            say(f"Could not prepare the environment: {error.message}")
            return RunStatus.FAILED
        if self._cancelled.is_set():
            return RunStatus.KILLED
        say(f"Run {self.plan.run_id}, in {environment.describe()}: {self.plan.command}")
        with self._lock:
            if self._cancelled.is_set():  # cancel() found no process to stop: do not start one
                return RunStatus.KILLED
            try:
                self._process = subprocess.Popen(
                    argv,
                    cwd=self.plan.directory,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as error:
                say(f"Could not start the command: {error}")
                return RunStatus.FAILED
        process = self._process
        assert process.stdout is not None
        reader = threading.Thread(target=self._pump, args=(process.stdout, log), daemon=True)
        reader.start()
        self.returncode = process.wait()
        # A background child may keep the pipe open after the command ends: do not wait on it.
        reader.join(timeout=2.0)
        if self._cancelled.is_set():
            self._reap()
            say("Cancelled: the command and every process it started were stopped.")
            return RunStatus.KILLED
        if self.returncode == 0:
            say("The command finished successfully.")
            return RunStatus.FINISHED
        say(f"The command failed with exit code {self.returncode}.")
        return RunStatus.FAILED

    def _pump(self, stream: IO[bytes], log: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self._write(log, line)

    def _write(self, log: IO[bytes], data: bytes) -> None:
        with self._lock:
            log.write(data)
            log.flush()
        if self.echo is not None:
            try:
                self.echo.write(data.decode("utf-8", errors="replace"))
                self.echo.flush()
            except (OSError, ValueError):
                self.echo = None  # the terminal went away; keep logging to the file

    def _finish(self, client: TrackingClient, status: str) -> None:
        try:
            if self.log_path.is_file():
                client.log_artifact(self.plan.run_id, str(self.log_path))
        finally:
            client.set_terminated(self.plan.run_id, status)
            for directory in self.plan.cleanup_dirs:
                shutil.rmtree(directory, ignore_errors=True)

    # ------------------------------------------------------------ cancelling

    def cancel(self) -> None:
        """Stop the command and everything it started: SIGTERM to its process group and to
        every descendant (one that left the group with setsid too), SIGKILL after a grace
        period for whatever is still there."""
        self._cancelled.set()
        with self._lock:
            process = self._process
        if process is None or process.poll() is not None:
            self._stopped.set()
            return
        tree = _descendants(process.pid)
        _kill_tree(process.pid, tree, signal.SIGTERM)
        if self.plan.env_manager == "docker":
            _remove_container(self.plan.run_id)  # killing `docker run` leaves the container

        def escalate() -> None:
            try:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=KILL_GRACE_SECONDS)
                _kill_tree(process.pid, tree | _descendants(process.pid), signal.SIGKILL)
            finally:
                self._stopped.set()

        threading.Thread(target=escalate, daemon=True).start()

    def _reap(self) -> None:
        """After a cancel: wait until the SIGKILL that follows the grace period was sent."""
        self._stopped.wait(timeout=KILL_GRACE_SECONDS + 10)


def _kill_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _kill_tree(pid: int, tree: set[int], signum: int) -> None:
    _kill_group(pid, signum)
    for member in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, signum)


def _remove_container(run_id: str) -> None:
    from cairn.projects.environments import container_name

    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            ["docker", "rm", "-f", container_name(run_id)],
            capture_output=True,
            timeout=30,
            check=False,
        )


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux ``/proc``; empty elsewhere, where the process
    group has to do)."""
    children: dict[int, list[int]] = {}
    try:
        entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return set()
    for name in entries:
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


# ----------------------------------------------------------------------- detached runs


def launch_detached(plan: LaunchPlan) -> int:
    """Start a supervisor process for ``plan`` that outlives this one; returns its pid."""
    directory = state_dir(plan.run_id)
    plan_file = directory / "plan.json"
    plan.save(plan_file)
    (directory / LOG_ARTIFACT).touch()  # `cairn runs logs -f` may start before the supervisor
    with open(directory / "supervisor.err", "wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "cairn.projects.supervisor", str(plan_file)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
            close_fds=True,
        )
    return process.pid


def _record_process(plan: LaunchPlan) -> None:
    from cairn.tracking.client import TrackingClient

    client = TrackingClient(plan.tracking_uri)
    client.set_tag(plan.run_id, PID_TAG, str(os.getpid()))
    client.set_tag(plan.run_id, HOST_TAG, socket.gethostname())
    client.set_tag(plan.run_id, LOG_FILE_TAG, str(state_dir(plan.run_id) / LOG_ARTIFACT))


def main(argv: list[str] | None = None) -> int:
    """Entry point of a detached supervisor: ``python -m cairn.projects.supervisor PLAN``."""
    args = sys.argv[1:] if argv is None else argv
    plan = LaunchPlan.load(Path(args[0]))
    supervisor = Supervisor(plan)

    def on_term(signum: int, frame: object) -> None:
        supervisor.cancel()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the terminal that started us may close
    _record_process(plan)
    status = supervisor.run()
    return 0 if status == RunStatus.FINISHED else 1


# ----------------------------------------------------------------------- cancelling by id


def cancel_run(run_id: str, tracking_uri: str | None = None, *, timeout: float = 30.0) -> str:
    """Cancel a detached run started on this machine; returns its final status.

    The supervisor gets SIGTERM and records KILLED itself (saving the log). If it is gone
    (the machine rebooted, it was killed), the run is marked KILLED here.
    """
    from cairn.tracking.client import TrackingClient

    client = TrackingClient(tracking_uri)
    run = client.get_run(run_id)
    if run.info.status in RunStatus.TERMINATED:
        raise CairnError.invalid(f"Run {run_id} has already ended ({run.info.status}).")
    tags = run.data.tags
    if PID_TAG not in tags:
        raise CairnError.invalid(
            f"Run {run_id} was not started by `cairn run --detach`, so there is no process to "
            "cancel here. A synchronous run stops with Ctrl-C in its terminal."
        )
    host = tags.get(HOST_TAG)
    if host and host != socket.gethostname():
        raise CairnError.invalid(
            f"Run {run_id} runs on host {host!r}; cancel it there "
            f"(this is {socket.gethostname()!r})."
        )
    pid = int(tags[PID_TAG])
    if _is_supervisor(pid, run_id):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = client.get_run(run_id).info.status
            if status in RunStatus.TERMINATED:
                return status
            time.sleep(0.2)
        _kill_group(pid, signal.SIGKILL)
    client.set_terminated(run_id, RunStatus.KILLED)
    return RunStatus.KILLED


def supervisor_gone(tags: dict[str, str], run_id: str) -> bool:
    """Whether a detached run's supervisor is known to have died on this host (it was killed,
    the machine rebooted): then nothing will ever end the run but `cairn runs cancel`."""
    pid = tags.get(PID_TAG)
    if pid is None or tags.get(HOST_TAG) != socket.gethostname():
        return False
    return not _is_supervisor(int(pid), run_id)


def _is_supervisor(pid: int, run_id: str) -> bool:
    """Whether ``pid`` is still this run's supervisor (a reused pid must not be killed)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the recorded pid
    mentions = (run_id.encode(), b"cairn.projects.supervisor")
    return all(any(word in part for part in cmdline) for word in mentions)


if __name__ == "__main__":
    sys.exit(main())
