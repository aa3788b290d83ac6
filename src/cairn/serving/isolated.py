"""``cairn models serve --env-manager virtualenv|uv``: serve a model from its own environment.

The model's captured environment is recreated (or reused from the cache, see
:mod:`cairn.models.envs`) and the scoring server runs there as a child process, started with
``--env-manager local`` on a local copy of the model. So the child needs no registry access
and a ``models:/`` URI is resolved exactly once, here: an alias moved while the environment
builds does not change what is served.

The child runs in its own process group, so a Ctrl-C in the terminal reaches it once (forwarded
by this process) rather than twice (which would make the server skip its graceful shutdown).
SIGTERM and SIGINT are forwarded as they are, SIGHUP as SIGTERM; on Linux the child also gets
SIGTERM if this process dies without forwarding anything (``kill -9``), so no server is left
behind holding the port.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from types import FrameType

from cairn.errors import CairnError
from cairn.models.envs import UV, VIRTUALENV, PreparedEnv
from cairn.serving.model_source import local_model

Log = Callable[[str], None]

ENV_MANAGERS = (VIRTUALENV, UV)
WATCH_ALIAS = "--watch-alias"


def run_isolated(
    model_uri: str,
    *,
    env_manager: str,
    env_root: str | None,
    python: str | None,
    serve_args: list[str],
    log: Log,
) -> int:
    """Serve ``model_uri`` from its recreated environment until the server exits; returns the
    server's exit code.

    ``serve_args`` are the other ``cairn models serve`` options (host, port, workers, ...),
    passed to the server unchanged; not ``-m`` or the environment options, which are set here.
    """
    check_options(env_manager, serve_args)
    from cairn.models.envs import prepare_env

    with local_model(model_uri, log) as (_, model_dir):
        env = prepare_env(
            model_dir, env_root=env_root, env_manager=env_manager, python=python, log=log
        )
        return run_forwarding_signals(
            serve_command(env, model_dir, serve_args), child_environment(env), log
        )


def check_options(env_manager: str, serve_args: list[str]) -> None:
    """Refuse what cannot work before anything is downloaded or built."""
    if env_manager not in ENV_MANAGERS:
        raise CairnError.invalid(
            f"--env-manager {env_manager!r}: serving from an isolated environment takes "
            f"{' or '.join(ENV_MANAGERS)} (local serves from the running environment)."
        )
    if any(arg == WATCH_ALIAS or arg.startswith(f"{WATCH_ALIAS}=") for arg in serve_args):
        raise CairnError.invalid(
            f"{WATCH_ALIAS} cannot be combined with --env-manager {env_manager}: the server in "
            "the recreated environment serves a copy of the version the alias named at start, "
            "and a new version may need a different environment. Restart the server to pick up "
            f"a moved alias, or serve with --env-manager local {WATCH_ALIAS} ..."
        )


def serve_command(env: PreparedEnv, model_dir: str, serve_args: list[str]) -> list[str]:
    """The scoring server, run by the environment's Python on the local model directory."""
    return [
        os.path.abspath(env.python),
        "-m",
        "cairn",
        "models",
        "serve",
        "-m",
        os.path.abspath(model_dir),
        "--env-manager",
        "local",
        *serve_args,
    ]


def child_environment(env: PreparedEnv) -> dict[str, str]:
    """This process's environment with the model's environment activated, so tools a model
    runs (``python``, console scripts) are the environment's too."""
    scripts = os.path.abspath(env.python.parent)
    path = os.pathsep.join([scripts, os.environ.get("PATH", "")])
    return {**os.environ, "VIRTUAL_ENV": os.path.abspath(env.path), "PATH": path}


# ----------------------------------------------------------------------------- the child

_FORWARDED: dict[int, int] = {signal.SIGTERM: signal.SIGTERM, signal.SIGINT: signal.SIGINT}
if hasattr(signal, "SIGHUP"):
    _FORWARDED[signal.SIGHUP] = signal.SIGTERM

_PR_SET_PDEATHSIG = 1


def _parent_death_signal() -> Callable[[], None] | None:
    """Linux: a function for the forked child that asks the kernel to send it SIGTERM when
    its parent dies. Looked up here, before the fork, so the child only makes the call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def set_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return set_signal


def run_forwarding_signals(command: list[str], env: dict[str, str], log: Log) -> int:
    """Run ``command`` until it exits, forwarding shutdown signals; returns its exit code
    (128 + N when signal N ended it, as a shell reports it)."""
    child: subprocess.Popen[bytes] | None = None
    pending: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        target = _FORWARDED.get(signum, signum)
        if child is None:
            pending.append(target)  # arrived while the child was being started
        else:
            child.send_signal(target)  # a no-op once the child has exited

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in _FORWARDED:
            previous[signum] = signal.signal(signum, forward)
    try:
        child = subprocess.Popen(
            command, env=env, start_new_session=True, preexec_fn=_parent_death_signal()
        )
        log(f"Starting the scoring server in {env.get('VIRTUAL_ENV', '?')} (pid {child.pid}).")
        for target in pending:
            child.send_signal(target)
        code = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if child is not None and child.poll() is None:  # this process is failing: no orphan
            child.kill()
            child.wait()
    return 128 - code if code < 0 else code
