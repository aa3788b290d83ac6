"""REST scoring servers: ``cairn models serve`` vs ``mlflow models serve`` (issue #7).

One scikit-learn ``LogisticRegression`` fitted on iris is saved once with
``cairn.sklearn.save_model`` (signature inferred from an input example) into a temp directory;
both servers serve that same directory (cairn writes MLflow's model format), MLflow with
``--env-manager local``. Each server configuration runs as a subprocess in its own process group
on a free port: it is started, ``GET /ping`` is awaited, one request of each body is checked
(HTTP 200 and the predictions of the model loaded in this process), then wrk drives it:

1. single-row ``dataframe_split`` requests, ``-t2 -c8`` for 10 s after a 3 s warm-up:
   requests/s and latency p50 / p90 / p99 (wrk's own histogram);
2. 10,000-row ``dataframe_split`` requests, ``-t2 -c2`` for 10 s after a warm-up: rows/s.

wrk POSTs the body through ``bench_serving.lua``, whose ``done()`` prints the summary as JSON;
errors (non-2xx answers, socket errors, timeouts) are counted and shown: a server that answers
fast with 400s has no result. The server's CPU time (its whole process group, from /proc) and
wrk's are measured too, since client and server share the machine's cores.

The headline pair is each tool's default (``--workers 1``); cairn also runs with ``--workers 2``
and ``--no-batching`` (when its ``--help`` lists them) and MLflow with ``--workers 2``.
``--quick``: the two defaults only, 3 s per measurement. ``--duration``, ``--connections``,
``--threads``, ``--batch-rows``, ``--cairn ARGS`` / ``--mlflow ARGS`` (repeatable: the server
configurations to run, the first of each is the headline) change the load. ``--nice -15``
(root): servers and wrk run in sessions of that niceness, so other work on the machine does not
take their CPUs (the kernel shares CPU time between sessions before niceness counts).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from bench_server_tracking import free_port, stop_group, tail
from common import (
    BENCH_DIR,
    MISSING,
    CallFailed,
    Row,
    bench_main,
    call_mlflow,
    clean_env,
    log,
    mlflow_available,
    mlflow_python,
)

SCRIPT = Path(__file__).resolve()
LUA_SCRIPT = BENCH_DIR / "bench_serving.lua"
WRK_MARKER = "@@WRK-JSON@@ "
CAIRN_BIN = Path(sys.executable).with_name("cairn")
WRK_HELP = (
    "wrk: not installed -- the serving benchmark needs it (Debian/Ubuntu: "
    "`apt-get install -y wrk`; macOS: `brew install wrk`; or build https://github.com/wg/wrk) "
    "or set WRK=/path/to/wrk"
)

COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
SEED = 7
START_TIMEOUT_S = 180.0
WORKERS_TIMEOUT_S = 60.0
TARGET_RPS = 4000.0
TARGET_P99_S = 0.010
TARGET_BATCH_RATIO = 5.0


class Settings:
    """The load and the server configurations (command-line options of this script).

    A plain class, not a dataclass: ``common.py --call`` loads this file as an unregistered
    module in the MLflow venv, where ``@dataclass`` cannot resolve its annotations.
    """

    def __init__(self, duration_s: float = 10.0, warmup_s: float = 3.0, quick: bool = False):
        self.duration_s = duration_s
        self.warmup_s = warmup_s
        self.threads = 2
        self.connections = 8
        self.batch_connections = 2
        self.batch_rows = 10_000
        self.cairn = ["-w 1"] if quick else ["-w 1", "-w 2", "-w 1 --no-batching"]
        self.mlflow = ["-w 1"] if quick else ["-w 1", "-w 2"]
        self.nice: int | None = None


SETTINGS = Settings()


# --------------------------------------------------------------------------- the model


def save_model(root: Path) -> tuple[Path, str]:
    """The iris model saved once by cairn; MLflow serves the same directory if it loads it,
    else a copy saved by MLflow's own ``save_model`` (the returned note says which)."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import cairn.sklearn

    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(X, y)
    path = root / "model"
    cairn.sklearn.save_model(model, path, input_example=X[:5])
    if not mlflow_available():
        return path, ""
    try:
        call_mlflow(SCRIPT, "mlflow_load", path=str(path))
        return path, "MLflow serves the directory cairn saved"
    except CallFailed as exc:
        log(f"mlflow cannot load cairn's model directory ({exc}); saving its own copy")
    theirs = root / "mlflow-model"
    try:
        call_mlflow(SCRIPT, "mlflow_save", path=str(theirs))
    except CallFailed as exc:
        return path, f"MLflow can neither load cairn's model directory nor save its own: {exc}"
    return theirs, "MLflow cannot load cairn's model directory: it serves its own copy"


def mlflow_load(path: str) -> list[int]:
    """In the MLflow venv: load the model cairn saved and predict one row."""
    import mlflow.pyfunc
    import pandas as pd

    model = mlflow.pyfunc.load_model(path)
    return [int(x) for x in model.predict(pd.DataFrame([[5.1, 3.5, 1.4, 0.2]], columns=COLUMNS))]


def mlflow_save(path: str) -> str:
    """In the MLflow venv: the same model saved by MLflow itself (the fallback)."""
    import mlflow.sklearn
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(X, y)
    mlflow.sklearn.save_model(model, path, input_example=X[:5])
    return path


def make_rows(n: int) -> list[list[float]]:
    """``n`` iris-like rows (iris rows plus seeded noise, 2 decimals)."""
    from sklearn.datasets import load_iris

    base = load_iris().data.tolist()
    rng = random.Random(SEED)
    return [[round(v + rng.uniform(-0.3, 0.3), 2) for v in base[i % len(base)]] for i in range(n)]


def body(rows: list[list[float]]) -> bytes:
    return json.dumps({"dataframe_split": {"columns": COLUMNS, "data": rows}}).encode()


def expected_predictions(model_dir: Path, rows: list[list[float]]) -> list[Any]:
    """What a correct server answers: the model loaded in this process."""
    import pandas as pd

    import cairn.pyfunc

    model = cairn.pyfunc.load_model(str(model_dir))
    return [int(x) for x in model.predict(pd.DataFrame(rows, columns=COLUMNS))]


# --------------------------------------------------------------------------- servers


class Config(NamedTuple):
    """One server configuration: tool and its extra command-line arguments."""

    tool: str
    args: str

    @property
    def label(self) -> str:
        return f"{self.tool} {self.args}".strip()

    @property
    def workers(self) -> int:
        parts = shlex.split(self.args)
        for flag in ("-w", "--workers"):
            if flag in parts and parts.index(flag) + 1 < len(parts):
                return int(parts[parts.index(flag) + 1])
        return 1


def server_command(config: Config, model_dir: Path, port: int) -> list[str]:
    if config.tool == "cairn":
        cmd = [str(CAIRN_BIN), "models", "serve", "-m", str(model_dir), "--port", str(port)]
    else:
        mlflow_bin = Path(str(mlflow_python())).with_name("mlflow")
        cmd = [str(mlflow_bin), "models", "serve", "-m", str(model_dir), "-p", str(port)]
        cmd += ["--env-manager", "local"]
    return cmd + shlex.split(config.args)


@contextlib.contextmanager
def serving(config: Config, model_dir: Path, workdir: Path) -> Iterator[tuple[int, int]]:
    """The server on a free port in its own process group; yields (port, pid) once ``/ping``
    answers 200 and every uvicorn worker has started."""
    port = free_port()
    cmd = server_command(config, model_dir, port)
    env = clean_env()
    if config.tool == "mlflow":  # it runs `uvicorn` by name: its venv's bin must be on PATH
        env["PATH"] = str(Path(cmd[0]).parent) + os.pathsep + env.get("PATH", "")
    log_path = workdir / f"{config.tool}-{port}.log"
    log(f"starting: {shlex.join(cmd)}")
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        if SETTINGS.nice is not None:
            set_autogroup_nice(proc.pid, SETTINGS.nice)
        start = time.perf_counter()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"exited {proc.returncode}: {tail(log_path)}")
            if time.perf_counter() - start > START_TIMEOUT_S:
                raise RuntimeError(f"did not answer /ping in {START_TIMEOUT_S:g} s")
            if ping(port):
                break
            time.sleep(0.2)
        # /ping answers once one worker is up: wait (a while) for uvicorn to start the others.
        deadline = time.perf_counter() + WORKERS_TIMEOUT_S
        while time.perf_counter() < deadline:
            if log_path.read_bytes().count(b"Application startup complete") >= config.workers:
                break
            time.sleep(0.2)
        log(f"{config.label} up in {time.perf_counter() - start:.1f} s")
        yield port, proc.pid
    except BaseException:
        log(f"{config.label} log:\n{tail(log_path, 30)}")
        raise
    finally:
        stop_group(proc)


def set_autogroup_nice(pid: int, nice: int) -> None:
    """Give ``pid``'s session (a scheduler autogroup: the kernel shares CPU time between
    sessions before niceness counts) the niceness ``nice``. On a machine busy with other work
    the servers and wrk (each started in a session of its own) then get the CPUs (``--nice``,
    root only)."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError as exc:
        log(f"--nice: cannot set the autogroup niceness of {pid}: {exc}")


def ping(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/ping")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def check_answer(port: int, payload: bytes, expected: list[Any]) -> None:
    """One request: HTTP 200 and exactly the model's predictions, or RuntimeError."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", "/invocations", payload, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise RuntimeError(f"POST /invocations: HTTP {resp.status}: {data[:300]!r}")
    answer = json.loads(data)
    got = answer.get("predictions") if isinstance(answer, dict) else None
    if got != expected:
        raise RuntimeError(f"wrong predictions: {str(got)[:200]} (expected {str(expected)[:200]})")


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


# --------------------------------------------------------------------------- wrk


def find_wrk() -> str | None:
    return shutil.which(os.environ.get("WRK") or "wrk")


def wrk_command(wrk: str, port: int, threads: int, connections: int, seconds: float) -> list[str]:
    return [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "60s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        f"http://127.0.0.1:{port}/invocations",
    ]


def run_wrk(cmd: list[str], body_file: Path, server_pgid: int | None = None) -> dict[str, Any]:
    """Run wrk with ``bench_serving.lua``; its JSON summary plus wrk's and the server's CPU."""
    env = dict(os.environ, BENCH_BODY_FILE=str(body_file))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu0 = group_cpu_s(server_pgid) if server_pgid else 0.0
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    if SETTINGS.nice is not None:
        set_autogroup_nice(proc.pid, SETTINGS.nice)
    stdout, stderr = proc.communicate()
    server_cpu = group_cpu_s(server_pgid) - server_cpu0 if server_pgid else 0.0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [ln for ln in stdout.splitlines() if ln.startswith(WRK_MARKER)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"wrk exited {proc.returncode}: {(stderr or stdout)[-500:]}")
    out: dict[str, Any] = json.loads(lines[-1][len(WRK_MARKER) :])
    seconds = out["duration_us"] / 1e6
    out["seconds"] = seconds
    out["rps"] = out["requests"] / seconds
    out["failed"] = sum(out["errors"].values())
    out["wrk_cpu_cores"] = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / (
        seconds
    )
    out["server_cpu_cores"] = server_cpu / seconds
    return out


# --------------------------------------------------------------------------- one configuration


def measure(
    config: Config,
    model_dir: Path,
    workdir: Path,
    bodies: dict[str, Path],
    expected: dict[str, list[Any]],
    wrk: str,
    s: Settings,
) -> dict[str, Any]:
    """Start one server, check its answers, then the single-row and the batch load."""
    out: dict[str, Any] = {"label": config.label}
    with serving(config, model_dir, workdir) as (port, pid):
        out["server_command"] = shlex.join(server_command(config, model_dir, port))
        for kind in ("single", "batch"):
            check_answer(port, bodies[kind].read_bytes(), expected[kind])
        runs = {
            "single": (s.threads, s.connections),
            "batch": (min(s.threads, s.batch_connections), s.batch_connections),
        }
        for kind, (threads, conns) in runs.items():
            run_wrk(wrk_command(wrk, port, threads, conns, s.warmup_s), bodies[kind])
            cmd = wrk_command(wrk, port, threads, conns, s.duration_s)
            result = run_wrk(cmd, bodies[kind], server_pgid=pid)
            result["command"] = f"BENCH_BODY_FILE={bodies[kind]} {shlex.join(cmd)}"
            log(
                f"{config.label} {kind}: {result['rps']:,.0f} req/s, p50/p99 "
                f"{result['latency_us']['p50'] / 1e3:.2f}/{result['latency_us']['p99'] / 1e3:.2f}"
                f" ms, {result['failed']} errors"
            )
            out[kind] = result
    return out


def cairn_options() -> str:
    """``cairn models serve --help`` (empty if the command does not exist)."""
    proc = subprocess.run(
        [str(CAIRN_BIN), "models", "serve", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(),
    )
    return proc.stdout if proc.returncode == 0 else ""


def configs(s: Settings) -> tuple[list[Config], list[str]]:
    """The configurations to run (MLflow's and cairn's alternated) and notes on skipped ones."""
    notes: list[str] = []
    help_text = cairn_options()
    cairn: list[Config] = []
    if not help_text:
        notes.append("`cairn models serve` does not exist yet: cairn not measured")
    for args in s.cairn if help_text else []:
        missing = [p for p in shlex.split(args) if p.startswith("--") and p not in help_text]
        if missing:
            notes.append(f"cairn {args}: skipped, `cairn models serve` has no {missing}")
        else:
            cairn.append(Config("cairn", args))
    mlflow = [Config("mlflow", args) for args in s.mlflow] if mlflow_available() else []
    order: list[Config] = []
    for i in range(max(len(cairn), len(mlflow))):
        order += [c[i] for c in (mlflow, cairn) if i < len(c)]
    return order, notes


# --------------------------------------------------------------------------- report


_HEADER = "| p50 ms | p90 ms | p99 ms | max ms | errors | server CPU cores | wrk CPU | ratio |"
_RULE = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"


def detail_tables(results: list[dict[str, Any]], s: Settings) -> str:
    """Every configuration measured: throughput, latencies, errors, CPU; then the commands."""
    base = next((r for r in results if r["label"].startswith("mlflow") and "single" in r), None)
    lines = [
        f"single-row dataframe_split, wrk -t{s.threads} -c{s.connections} "
        f"-d{s.duration_s:g}s (ratio: req/s over {base['label'] if base else 'mlflow'}'s)",
        "",
        f"| server | req/s {_HEADER}",
        _RULE,
    ]
    for r in results:
        lines.append(_detail_line(r, "single", base, 1))
    lines += [
        "",
        f"{s.batch_rows:,}-row dataframe_split, wrk -c{s.batch_connections} -d{s.duration_s:g}s "
        "(ratio: rows/s over MLflow's)",
        "",
        f"| server | rows/s {_HEADER}",
        _RULE,
    ]
    for r in results:
        lines.append(_detail_line(r, "batch", base, s.batch_rows))
    lines += ["", "commands:"]
    for r in results:
        if "server_command" in r:
            lines.append(f"  {r['server_command']}")
            for kind in ("single", "batch"):
                if kind in r:
                    lines.append(f"    {r[kind]['command']}")
        else:
            lines.append(f"  {r['label']}: FAILED: {r.get('error', '')}")
    return "\n".join(lines)


def _detail_line(r: dict[str, Any], kind: str, base: dict[str, Any] | None, rows: int) -> str:
    if kind not in r:
        return f"| {r['label']} | failed: {str(r.get('error', ''))[:80]} |||||||||"
    m = r[kind]
    lat = m["latency_us"]
    ratio = f"{m['rps'] / base[kind]['rps']:.1f}x" if base and kind in base else "-"
    cpu_per = m["server_cpu_cores"] / m["rps"] * 1e6 if m["rps"] else 0.0
    errors = f"{m['failed']:,}" + (f" ({m['errors']['status']:,} non-2xx)" if m["failed"] else "")
    return (
        f"| {r['label']} | {m['rps'] * rows:,.0f} | {lat['p50'] / 1e3:.2f} | "
        f"{lat['p90'] / 1e3:.2f} | {lat['p99'] / 1e3:.2f} | {lat['max'] / 1e3:.1f} | {errors} | "
        f"{m['server_cpu_cores']:.2f} ({cpu_per:,.0f} µs/req) | {m['wrk_cpu_cores']:.2f} | "
        f"{ratio} |"
    )


def summary_rows(
    results: list[dict[str, Any]], s: Settings, notes: list[str], general: str
) -> list[Row]:
    """The common table's rows: each cairn configuration against MLflow with as many workers
    (else MLflow's first), as time per request / per row (ratio = how many times faster)."""
    by_label = {r["label"]: r for r in results}
    cairn = [r for r in results if r["label"].startswith("cairn")]
    mlflow = [r for r in results if r["label"].startswith("mlflow")]
    rows: list[Row] = []

    def value(r: dict[str, Any] | None, kind: str, key: str) -> float | str | None:
        if r is None:
            return MISSING if not mlflow_available() else None
        if kind not in r:
            return "failed"
        m = r[kind]
        if m["failed"]:
            return f"{m['failed']:,} errors"
        if key == "per":
            return 1 / m["rps"] if kind == "single" else 1 / (m["rps"] * s.batch_rows)
        return m["latency_us"][key] / 1e6

    def rate(r: dict[str, Any] | None, kind: str) -> str:
        if r is None or kind not in r:
            return "-"
        per = s.batch_rows if kind == "batch" else 1
        return f"{r[kind]['rps'] * per:,.0f}"

    pairs = []
    for c in cairn or [None]:
        workers = Config("cairn", c["label"][5:]).workers if c else 1
        m = next(
            (r for r in mlflow if Config("mlflow", r["label"][6:]).workers == workers),
            mlflow[0] if mlflow else None,
        )
        pairs.append((c, m))
    for i, (c, m) in enumerate(pairs):
        tag = f"{c['label'] if c else 'cairn'} vs {m['label'] if m else 'mlflow'}"
        name = f"serve 1 row, {s.connections} conns, {tag}: per request"
        name += f" ({rate(c, 'single')} vs {rate(m, 'single')} req/s)"
        rows.append(Row(name, value(c, "single", "per"), value(m, "single", "per"), "µs",
                        1 / TARGET_RPS if i == 0 else None))  # fmt: skip
        for q in ("p50", "p90", "p99") if i == 0 else ("p99",):
            target = TARGET_P99_S if q == "p99" else None
            rows.append(Row(f"serve 1 row, {tag}: {q}", value(c, "single", q),
                            value(m, "single", q), "ms", target))  # fmt: skip
    for i, (c, m) in enumerate(pairs):
        tag = f"{c['label'] if c else 'cairn'} vs {m['label'] if m else 'mlflow'}"
        theirs = value(m, "batch", "per")
        target = theirs / TARGET_BATCH_RATIO if isinstance(theirs, float) else None
        name = f"serve {s.batch_rows:,} rows, {s.batch_connections} conns, {tag}: per row"
        name += f" ({rate(c, 'batch')} vs {rate(m, 'batch')} rows/s)"
        rows.append(Row(name, value(c, "batch", "per"), theirs, "µs", target if i == 0 else None))
        if i == 0:
            rows.append(Row(f"serve {s.batch_rows:,} rows, {tag}: request p50",
                            value(c, "batch", "p50"), value(m, "batch", "p50"), "ms"))  # fmt: skip
    rows[0].note = general + (" " + " ".join(n + "." for n in notes) if notes else "")
    batch_row = next(i for i, r in enumerate(rows) if "rows," in r.name)
    rows[batch_row].note = (
        f"Target: {TARGET_BATCH_RATIO:g}x MLflow's rows/s (shown as time per row; the target "
        "column is MLflow's / 5). Configurations measured: " + ", ".join(by_label) + "."
    )
    return rows


def run() -> list[Row]:
    s = SETTINGS
    started = time.perf_counter()
    wrk = find_wrk()
    if wrk is None:
        log(WRK_HELP)
        return [Row("serve: wrk not installed (apt-get install -y wrk)", None, None, note=WRK_HELP)]
    order, notes = configs(s)
    if s.nice is not None:
        notes.append(f"servers and wrk ran in sessions of niceness {s.nice} (--nice)")
    load_before = os.getloadavg()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cairn-bench-serving-") as tmp:
        root = Path(tmp)
        model_dir, model_note = save_model(root)
        cairn_dir = root / "model"
        rows = {"single": make_rows(1), "batch": make_rows(s.batch_rows)}
        bodies = {kind: root / f"{kind}.json" for kind in rows}
        for kind, data in rows.items():
            bodies[kind].write_bytes(body(data))
        expected = {kind: expected_predictions(cairn_dir, data) for kind, data in rows.items()}
        for config in order:
            served = cairn_dir if config.tool == "cairn" else model_dir
            try:
                results.append(measure(config, served, root, bodies, expected, wrk, s))
            except (RuntimeError, OSError) as exc:
                log(f"{config.label}: FAILED: {exc}")
                results.append({"label": config.label, "error": str(exc).splitlines()[0]})
    if model_note:
        notes.append(model_note)
    out = sys.stderr if "--json" in sys.argv else sys.stdout
    print(detail_tables(results, s), file=out, flush=True)
    print(file=out, flush=True)
    general = (
        f"wrk {_wrk_version(wrk)}, -t{s.threads}, {s.duration_s:g} s per measurement after a "
        f"{s.warmup_s:g} s warm-up, on the same {os.cpu_count()} CPUs as the servers; measured in "
        f"{time.perf_counter() - started:.0f} s, load average {load_before[0]:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after. iris LogisticRegression saved by cairn.sklearn."
        "save_model; every server's answers checked (HTTP 200, the model's predictions) before "
        "the load, and errors during it counted (a cell shows them instead of a time). Time per "
        "request = 1 / requests per second (target 4,000 req/s = 250 µs)."
    )
    return summary_rows(results, s, notes, general)


def _wrk_version(wrk: str) -> str:
    proc = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (proc.stdout or proc.stderr).strip().splitlines()
    return first[0].split()[1] if first and len(first[0].split()) > 1 else "?"


def parse_options(argv: list[str]) -> list[str]:
    """This script's own options (set SETTINGS); the rest is left for bench_main (--json)."""
    global SETTINGS
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--duration", type=float)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--connections", type=int)
    parser.add_argument("--batch-connections", type=int)
    parser.add_argument("--batch-rows", type=int)
    parser.add_argument("--cairn", action="append", help="cairn models serve arguments")
    parser.add_argument("--mlflow", action="append", help="mlflow models serve arguments")
    parser.add_argument("--nice", type=int, help="autogroup niceness of servers and wrk (root)")
    args, rest = parser.parse_known_args(argv)
    s = Settings(3.0, 1.0, quick=True) if args.quick else Settings()
    for name in ("duration", "threads", "connections", "batch_connections", "batch_rows", "nice"):
        if getattr(args, name) is not None:
            setattr(s, "duration_s" if name == "duration" else name, getattr(args, name))
    s.cairn = args.cairn or s.cairn
    s.mlflow = args.mlflow or s.mlflow
    SETTINGS = s
    return rest


if __name__ == "__main__":
    sys.argv[1:] = parse_options(sys.argv[1:])
    bench_main(run, __doc__ or "")
