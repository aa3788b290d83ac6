"""cairn.serving.isolated: serving a model from its recreated environment.

The model here needs ``text-unidecode``, which the development environment does not have: it
fails to load there, and answers over HTTP when served from the environment cairn builds for
it. Each server runs as a real process tree (the ``run_isolated`` parent and the scoring server
it starts with the environment's Python), stopped with real signals.

Building an environment installs cairn's dependencies with pip (about 20 s; 6 s with uv), so
the environments are built once per test run, under a root shared by the pytest-xdist workers
(``prepare_env`` locks each environment while one process builds it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from click.testing import CliRunner

import cairn
import cairn.pyfunc
from cairn.cli import main
from cairn.errors import CairnError
from cairn.models.environment import PYTHON_ENV_FILE, pinned
from cairn.models.envs import prepare_env
from cairn.serving.isolated import run_isolated
from cairn.serving.model_source import local_model
from cairn.version import __version__
from rest_server import free_port

# A test that builds an environment may take minutes on a machine busy with other tests.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PACKAGE, MODULE = "text-unidecode==1.3", "text_unidecode"
TEXT, TRANSLITERATED = "Škoda café Ωmega", "Skoda cafe Omega"


def transliterator() -> cairn.pyfunc.PythonModel:
    """A model that needs ``text_unidecode`` to load. An input ``hold:<path>`` makes it touch
    ``<path>.started`` and wait until ``<path>`` exists: a request the test keeps in flight.
    (A class local to a function, so cloudpickle stores it by value.)"""

    class Transliterate(cairn.pyfunc.PythonModel):
        def load_context(self, context: Any) -> None:
            from text_unidecode import unidecode

            self.unidecode = unidecode

        def predict(self, context: Any, model_input: Any, params: Any = None) -> list[str]:
            import time
            from pathlib import Path

            out = []
            for text in model_input["text"]:
                if text.startswith("hold:"):
                    gate = Path(text[len("hold:") :])
                    Path(f"{gate}.started").touch()
                    deadline = time.monotonic() + 120
                    while not gate.exists() and time.monotonic() < deadline:
                        time.sleep(0.01)
                    text = "released"
                out.append(self.unidecode(text))
            return out

    return Transliterate()


REQUIREMENTS = [
    PACKAGE,
    *(pinned(d) for d in ("cloudpickle", "numpy", "pandas")),
    f"cairn=={__version__}",
]
EXAMPLE = pd.DataFrame({"text": ["café"]})


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("isolated") / "model"
    cairn.pyfunc.save_model(
        path, python_model=transliterator(), input_example=EXAMPLE, pip_requirements=REQUIREMENTS
    )
    return path


def shared_root(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A directory of this test run shared by all its xdist workers."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    return base / name


@pytest.fixture(scope="module")
def env_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_root(tmp_path_factory, "isolated-envs")


def uv_directory() -> str | None:
    """Where uv is: on PATH, or beside this Python (installed into the venv)."""
    found = shutil.which("uv") or shutil.which("uv", path=sysconfig.get_path("scripts"))
    return str(Path(found).parent) if found else None


# ----------------------------------------------------------------------------- processes

_PARENT = r"""
import json, sys
from cairn.errors import CairnError
from cairn.serving.isolated import run_isolated

options = json.loads(sys.argv[1])
def log(message):
    print(message, file=sys.stderr, flush=True)
try:
    code = run_isolated(log=log, **options)
except CairnError as exc:
    log(f"Error: {exc.message}")
    code = 2
sys.exit(code)
"""


class Parent:
    """``cairn models serve --env-manager ...`` (or, with ``serve_args``, ``run_isolated``
    called directly) in a process of its own; its output and the server's in a file."""

    def __init__(
        self,
        tmp: Path,
        model_uri: str,
        manager: str,
        env_root: Path,
        serve_args: list[str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"parent-{self.port}.log"
        if serve_args is None:
            command = [sys.executable, "-m", "cairn", "models", "serve", "-m", model_uri]
            command += ["--env-manager", manager, "--env-dir", str(env_root)]
            command += ["--port", str(self.port)]
        else:
            options = {
                "model_uri": model_uri,
                "env_manager": manager,
                "env_root": str(env_root),
                "python": None,
                "serve_args": ["--port", str(self.port), *serve_args],
            }
            command = [sys.executable, "-c", _PARENT, json.dumps(options)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        uv = uv_directory()
        if uv:
            env["PATH"] = os.pathsep.join([uv, env.get("PATH", "")])
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp, env=env
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        """Until /ping answers (the first start includes building the environment)."""
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop(signal.SIGKILL)
        pytest.fail(f"the server did not answer /ping:\n{self.log()}")

    def child_pid(self) -> int:
        for line in self.log().splitlines():
            if line.startswith("Starting the scoring server in "):
                return int(line.rsplit("(pid ", 1)[1].rstrip(").").strip())
        raise AssertionError(f"no child pid in the log:\n{self.log()}")

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def predict(self, *texts: str) -> list[str]:
        body = {"dataframe_split": {"columns": ["text"], "data": [[t] for t in texts]}}
        response = httpx.post(f"{self.url}/invocations", json=body, timeout=120)
        assert response.status_code == 200, response.text
        return response.json()["predictions"]


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie nobody reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def gone(pid: int) -> bool:
    """Wait (up to a minute) for ``pid`` to end; whether it did."""
    deadline = time.monotonic() + 60
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


@pytest.fixture
def stop_all() -> Iterator[list[Parent]]:
    """Parents a test started, killed with their servers if the test failed half-way."""
    parents: list[Parent] = []
    yield parents
    for parent in parents:
        child = parent.child_pid() if "(pid " in parent.log() else None
        if parent.process.poll() is None:
            parent.process.kill()
            parent.process.wait()
        if child and alive(child):
            os.kill(child, signal.SIGKILL)


# ----------------------------------------------------------------------------- the model


def test_the_model_does_not_load_in_the_development_environment(model_dir: Path) -> None:
    assert importlib.util.find_spec(MODULE) is None, f"{MODULE} is installed in the dev venv"
    with pytest.raises(ModuleNotFoundError, match=MODULE):
        cairn.pyfunc.load_model(str(model_dir))
    assert PACKAGE in (model_dir / "requirements.txt").read_text().splitlines()


# ----------------------------------------------------------------------------- serving


def test_serves_from_the_recreated_environment_and_shuts_down_gracefully(
    model_dir: Path, env_root: Path, tmp_path: Path, stop_all: list[Parent]
) -> None:
    parent = Parent(tmp_path, str(model_dir), "virtualenv", env_root)
    stop_all.append(parent)
    parent.wait_ready()
    log = parent.log()
    # The first start in this run builds it, unless another xdist worker did first.
    assert "Creating the environment" in log or "Reusing the cached environment" in log, log
    assert parent.predict(TEXT, "cafe") == [TRANSLITERATED, "cafe"]

    # SIGTERM to the parent while a request is in flight: the server finishes it, then exits.
    gate = tmp_path / "gate"
    answers: list[httpx.Response | BaseException] = []

    def hold() -> None:
        body = {"dataframe_split": {"columns": ["text"], "data": [[f"hold:{gate}"]]}}
        try:
            answers.append(httpx.post(f"{parent.url}/invocations", json=body, timeout=120))
        except BaseException as exc:
            answers.append(exc)

    request = threading.Thread(target=hold)
    request.start()
    started = Path(f"{gate}.started")
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started.exists(), parent.log()
    child = parent.child_pid()
    parent.process.send_signal(signal.SIGTERM)
    gate.touch()
    request.join(timeout=120)
    code = parent.process.wait(timeout=60)
    assert len(answers) == 1 and isinstance(answers[0], httpx.Response), answers
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["predictions"] == ["released"]
    # The parent reports how the server ended: normally, or by the SIGTERM it re-raised.
    assert code in (0, 128 + signal.SIGTERM), (code, parent.log())
    assert gone(child), f"the server (pid {child}) outlived its parent"


@pytest.fixture(scope="module")
def virtualenv_built(model_dir: Path, env_root: Path) -> None:
    """The model's virtualenv exists (built now, or by an earlier test or xdist worker)."""
    prepare_env(model_dir, env_root=env_root, env_manager="virtualenv")


def test_a_second_start_reuses_the_environment_and_pins_the_alias(
    virtualenv_built: None, env_root: Path, tmp_path: Path, stop_all: list[Parent]
) -> None:
    with cairn.start_run():
        info = cairn.pyfunc.log_model(
            name="model",
            python_model=transliterator(),
            input_example=EXAMPLE,
            pip_requirements=REQUIREMENTS,
        )
    cairn.register_model(info.model_uri, "transliterate")
    cairn.RegistryClient().set_registered_model_alias("transliterate", "champion", 1)

    parent = Parent(tmp_path, "models:/transliterate@champion", "virtualenv", env_root)
    stop_all.append(parent)
    parent.wait_ready()
    log = parent.log()
    assert "models:/transliterate@champion resolved to version 1 of 'transliterate'." in log
    assert "Reusing the cached environment" in log and "Creating the environment" not in log
    assert parent.predict(TEXT) == [TRANSLITERATED]

    child = parent.child_pid()
    code = parent.stop(signal.SIGINT)
    assert code in (0, 128 + signal.SIGINT), (code, parent.log())
    assert gone(child), f"the server (pid {child}) outlived its parent"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_the_server_stops_when_its_parent_is_killed(
    virtualenv_built: None, model_dir: Path, env_root: Path, tmp_path: Path, stop_all: list[Parent]
) -> None:
    parent = Parent(tmp_path, str(model_dir), "virtualenv", env_root)
    stop_all.append(parent)
    parent.wait_ready()
    child = parent.child_pid()
    assert parent.stop(signal.SIGKILL) == -signal.SIGKILL
    assert gone(child), f"the server (pid {child}) was left behind by a killed parent"


def test_the_server_exit_code_is_the_parents(
    virtualenv_built: None, model_dir: Path, env_root: Path, tmp_path: Path, stop_all: list[Parent]
) -> None:
    parent = Parent(tmp_path, str(model_dir), "virtualenv", env_root, ["--workers", "nope"])
    stop_all.append(parent)
    code = parent.process.wait(timeout=120)
    log = parent.log()
    assert code == 2, log  # click's usage error, from the server in the environment
    assert "Starting the scoring server in" in log and "'nope' is not a valid integer" in log, log


@pytest.mark.skipif(uv_directory() is None, reason="uv is not installed (pip install uv)")
def test_serves_from_an_environment_built_with_uv(
    model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    stop_all: list[Parent],
) -> None:
    # Its own root, so the log shows a build with uv (or a reuse of one built with uv).
    root = shared_root(tmp_path_factory, "isolated-uv-envs")
    parent = Parent(tmp_path, str(model_dir), "uv", root)
    stop_all.append(parent)
    parent.wait_ready()
    assert " with uv " in parent.log() or "Reusing the cached environment" in parent.log()
    marker = json.loads(next(root.glob("*/.cairn-env.json")).read_text())
    assert marker["manager"] == "uv" and PACKAGE in marker["requirements"]
    assert parent.predict(TEXT) == [TRANSLITERATED]
    child = parent.child_pid()
    parent.stop(signal.SIGTERM)
    assert gone(child)


# ----------------------------------------------------------------------------- bad input


def _run(model_uri: str, manager: str = "virtualenv", *serve_args: str, root: Path) -> None:
    run_isolated(
        model_uri,
        env_manager=manager,
        env_root=str(root),
        python=None,
        serve_args=list(serve_args),
        log=lambda message: None,
    )


@pytest.mark.parametrize("manager", ["conda", "local", ""])
def test_an_unknown_env_manager_is_refused(model_dir: Path, tmp_path: Path, manager: str) -> None:
    with pytest.raises(CairnError, match="takes virtualenv or uv") as excinfo:
        _run(str(model_dir), manager, root=tmp_path / "envs")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    assert not (tmp_path / "envs").exists()


@pytest.mark.parametrize("option", [["--watch-alias", "5"], ["--watch-alias=5"]])
def test_watch_alias_is_refused_with_an_env_manager(
    model_dir: Path, tmp_path: Path, option: list[str]
) -> None:
    with pytest.raises(CairnError, match="--watch-alias cannot be combined with --env-manager uv"):
        _run("models:/transliterate@champion", "uv", *option, root=tmp_path / "envs")
    assert not (tmp_path / "envs").exists()


def test_the_command_line_reports_a_refusal_without_a_traceback(model_dir: Path) -> None:
    args = ["models", "serve", "-m", str(model_dir), "--env-manager", "uv", "--watch-alias", "5"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "Error: --watch-alias cannot be combined with --env-manager uv" in result.output
    assert "Traceback" not in result.output


def test_a_model_without_its_python_environment_is_refused(model_dir: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(model_dir, bare)
    (bare / PYTHON_ENV_FILE).unlink()
    with pytest.raises(CairnError, match=f"has no {PYTHON_ENV_FILE}"):
        _run(str(bare), root=tmp_path / "envs")
    assert not (tmp_path / "envs").exists()


def test_an_unknown_model_is_refused_before_building(tmp_path: Path) -> None:
    with pytest.raises(CairnError, match="no registered model named 'nope'"):
        _run("models:/nope@champion", root=tmp_path / "envs")
    with pytest.raises(CairnError, match="the path does not exist"):
        _run(str(tmp_path / "missing"), root=tmp_path / "envs")


def test_local_model_pins_a_registry_uri_and_removes_the_download(model_dir: Path) -> None:
    with cairn.start_run():
        info = cairn.pyfunc.log_model(
            name="model", python_model=transliterator(), pip_requirements=REQUIREMENTS
        )
    for _ in range(2):
        cairn.register_model(info.model_uri, "pinned")
    cairn.RegistryClient().set_registered_model_alias("pinned", "live", 1)
    messages: list[str] = []
    for uri, said in [
        ("models:/pinned@live", "models:/pinned@live resolved to version 1 of 'pinned'."),
        ("models:/pinned/latest", "models:/pinned/latest resolved to version 2 of 'pinned'."),
    ]:
        with local_model(uri, messages.append) as (_, path):
            assert (Path(path) / PYTHON_ENV_FILE).is_file()
            downloaded = Path(path)
        assert messages[-1] == said
        assert not downloaded.exists(), "the downloaded copy outlived the server"
    with local_model("models:/pinned/2", messages.append) as (_, path):
        assert (Path(path) / "MLmodel").is_file()
    assert len(messages) == 2  # a version number needs no resolving
    with local_model(str(model_dir), messages.append) as (_, path):
        assert Path(path) == model_dir  # a local model is served in place
    assert model_dir.is_dir()
