"""Shared helpers for the cairn-vs-MLflow benchmarks.

Every ``bench_*.py`` script runs in cairn's venv and exposes ``run() -> list[Row]``. MLflow is
measured by running a function of the same script in the MLflow venv (``call_mlflow``), so the
cairn and MLflow halves of each benchmark sit next to each other in one file. Scripts import
cairn only inside their cairn functions, and mlflow only inside their MLflow functions.

Run as ``python common.py --call SCRIPT FUNCTION KWARGS_JSON`` (which ``call_mlflow`` does, with
the MLflow interpreter), this module imports SCRIPT, calls FUNCTION(**KWARGS) and prints the
JSON-encoded result on a line starting with ``RESULT_MARKER``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR / ".cache"
DEFAULT_MLFLOW_PYTHON = "/opt/mlflow-venv/bin/python"
MLFLOW_PYTHON_ENV = "MLFLOW_PYTHON"
RESULT_MARKER = "@@BENCH-RESULT@@ "
NOT_INSTALLED = "not installed"
_NO_RESULT = object()  # parse_result found no result line
MISSING = NOT_INSTALLED  # what an MLflow cell shows when MLflow is not installed

# Display units: name -> seconds per unit.
UNITS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}


# --------------------------------------------------------------------------- progress


def log(message: str) -> None:
    """Progress goes to stderr, so ``--json`` output on stdout stays machine-readable."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- timing


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_time(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time in seconds of ``repeats`` calls, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    return statistics.median(timed(fn)[0] for _ in range(repeats))


# --------------------------------------------------------------------------- sandboxes


@contextlib.contextmanager
def fresh_dir(prefix: str = "cairn-bench-", keep: bool = False) -> Iterator[Path]:
    """cd into a new temp directory whose ``cairn.db`` is the cairn tracking store."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    old_cwd = os.getcwd()
    old_env = {k: os.environ.get(k) for k in ("CAIRN_TRACKING_URI", "CAIRN_ARTIFACT_ROOT")}
    os.chdir(path)
    os.environ["CAIRN_TRACKING_URI"] = f"sqlite:///{path / 'cairn.db'}"
    os.environ["CAIRN_ARTIFACT_ROOT"] = str(path / "cairn-artifacts")
    try:
        yield path
    finally:
        os.chdir(old_cwd)
        for key, value in old_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- MLflow side


class CallFailed(RuntimeError):
    """A benchmark subprocess exited with an error; the message holds its stderr tail."""


def mlflow_python() -> str | None:
    """The MLflow venv's interpreter (``$MLFLOW_PYTHON`` or /opt/mlflow-venv), if it exists."""
    path = os.environ.get(MLFLOW_PYTHON_ENV) or DEFAULT_MLFLOW_PYTHON
    return shutil.which(path)


@functools.cache
def mlflow_available() -> bool:
    """Whether ``mlflow_python()`` can import mlflow (probed once per process: ~1 s)."""
    python = mlflow_python()
    if python is None:
        return False
    probe = subprocess.run(
        [python, "-c", "import mlflow"], capture_output=True, text=True, check=False
    )
    return probe.returncode == 0


def mlflow_version() -> str | None:
    python = mlflow_python()
    if python is None:
        return None
    probe = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def call_mlflow(
    script: str | Path,
    function: str,
    timeout: float = 3600,
    cwd: str | Path | None = None,
    **kwargs: Any,
) -> Any:
    """``function(**kwargs)`` from ``script``, run by the MLflow interpreter in a fresh dir.

    Raises :class:`CallFailed` if MLflow is missing or the call fails; callers check
    :func:`mlflow_available` first.
    """
    python = mlflow_python()
    if python is None:
        raise CallFailed("mlflow: " + NOT_INSTALLED)
    return call_python(python, script, function, timeout, cwd, **kwargs)


def call_python(
    python: str,
    script: str | Path,
    function: str,
    timeout: float = 3600,
    cwd: str | Path | None = None,
    **kwargs: Any,
) -> Any:
    """``function(**kwargs)`` from ``script`` in a new ``python`` process (cwd: a fresh dir).

    The process gets no CAIRN_* / MLFLOW_* variables, so each tool uses its default store in
    the working directory. The result must be JSON-serialisable. Raises :class:`CallFailed`
    with the stderr tail if the subprocess fails.
    """
    with contextlib.ExitStack() as stack:
        workdir = Path(cwd) if cwd is not None else stack.enter_context(fresh_dir("bench-call-"))
        proc = subprocess.run(
            call_command(python, script, function, **kwargs),
            cwd=workdir,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    result = parse_result(proc.stdout)
    if result is not _NO_RESULT:
        return result
    tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
    raise CallFailed(f"{function} ({python}) exited {proc.returncode}:\n{tail}")


def call_command(python: str, script: str | Path, function: str, **kwargs: Any) -> list[str]:
    """The command line that runs ``function(**kwargs)`` from ``script`` under ``python``."""
    here = str(Path(__file__).resolve())
    return [python, here, "--call", str(script), function, json.dumps(kwargs)]


def clean_env() -> dict[str, str]:
    """This environment without CAIRN_* / MLFLOW_* variables: each tool uses its defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "MLFLOW_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def parse_result(stdout: str) -> Any:
    """The JSON value after the last ``RESULT_MARKER`` in ``stdout`` (``_NO_RESULT`` if none)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    return _NO_RESULT


def _serve_call(script: str, function: str, kwargs_json: str) -> None:
    """Entry point in the child interpreter: import ``script`` and run one of its functions."""
    sys.path.insert(0, str(Path(script).resolve().parent))
    spec = importlib.util.spec_from_file_location("_bench_script", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = getattr(module, function)(**json.loads(kwargs_json))
    sys.stdout.flush()
    print(RESULT_MARKER + json.dumps(result), flush=True)


# --------------------------------------------------------------------------- results


Value = float | str | None


@dataclasses.dataclass
class Row:
    """One line of the summary table.

    ``cairn`` and ``mlflow`` are seconds (displayed in ``unit``) or a word such as "ok";
    ``target`` is in seconds too (or the word cairn must show). ``ratio`` is mlflow / cairn:
    how many times faster cairn is ("x").
    """

    name: str
    cairn: Value
    mlflow: Value
    unit: str = "ms"
    target: Value = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if isinstance(self.cairn, float) and isinstance(self.mlflow, float) and self.cairn > 0:
            return self.mlflow / self.cairn
        return None

    @property
    def met(self) -> bool | None:
        if self.target is None or self.cairn is None:
            return None
        if isinstance(self.target, float) and isinstance(self.cairn, float):
            return self.cairn <= self.target
        return self.cairn == self.target

    def cells(self) -> list[str]:
        ratio = self.ratio
        return [
            self.name,
            format_value(self.cairn, self.unit),
            format_value(self.mlflow, self.unit),
            "-" if ratio is None else f"{ratio:,.{0 if ratio >= 100 else 1}f}x",
            "-"
            if self.target is None
            else "≤ " + format_value(self.target, self.unit)
            if isinstance(self.target, float)
            else str(self.target),
            {None: "-", True: "yes", False: "NO"}[self.met],
        ]


def format_value(value: Value, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    scaled = value / UNITS[unit]
    digits = 0 if scaled >= 100 else 1 if scaled >= 10 else 2
    return f"{scaled:,.{digits}f} {unit}"


HEADER = ["benchmark", "cairn", "mlflow", "ratio", "target", "met?"]


def format_table(rows: Sequence[Row]) -> str:
    """A Markdown table of the rows, then their numbered notes."""
    cells = [HEADER, *(row.cells() for row in rows)]
    notes: list[str] = []
    for row, line in zip(rows, cells[1:], strict=True):
        if row.note:
            notes.append(row.note)
            line[0] += f" [{len(notes)}]"
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]

    def render(line: list[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    out = [render(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [render(line) for line in cells[1:]]
    if notes:
        out.append("")
        out += [f"[{i}] {note}" for i, note in enumerate(notes, 1)]
    return "\n".join(out)


def rows_to_json(rows: Sequence[Row]) -> str:
    return json.dumps([dataclasses.asdict(row) for row in rows])


def rows_from_json(data: list[dict[str, Any]]) -> list[Row]:
    """Rows from the decoded JSON that ``bench_main(..., --json)`` printed."""
    return [Row(**fields) for fields in data]


def bench_main(run: Callable[[], list[Row]], description: str) -> None:
    """The ``__main__`` of every bench script: print a table, or JSON rows with ``--json``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON (run_all)")
    args = parser.parse_args()
    if not mlflow_available():
        log("mlflow: " + NOT_INSTALLED + f" (set {MLFLOW_PYTHON_ENV}); cairn figures only")
    rows = run()
    if args.json:
        print(RESULT_MARKER + rows_to_json(rows))
    else:
        print(format_table(rows))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--call":
        _serve_call(*sys.argv[2:])
    else:
        sys.exit(f"usage: {sys.argv[0]} --call SCRIPT FUNCTION KWARGS_JSON")
