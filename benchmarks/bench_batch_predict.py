"""``cairn models predict`` on a large CSV vs ``mlflow models predict``: rows/s and peak memory.

An iris-like CSV (four float columns, two decimals, ~20 bytes a row) of ``--size-mb`` (default
1 GB) is generated once into the temp directory and reused by later runs. A LogisticRegression
fitted on iris is saved by each tool with its own ``save_model``; each tool then scores the
file as a child process, timed from start to exit (model loading included), and its peak RSS
is read from ``wait4`` (the child and any process it waited for).

- cairn: ``cairn models predict -m MODEL -i in.csv -o out.csv --no-progress``: streamed in
  chunks, the output holds the input columns plus ``prediction``.
- MLflow: ``mlflow models predict -m MODEL -i in.csv -o out.json -t csv --env-manager local``:
  reads the whole file into pandas and writes ``{"predictions": [...]}``.

MLflow holds the file (and its predictions) in memory, so by default it scores a smaller file
(``--mlflow-size-mb``, 100 MB), and cairn is measured on that file too for the side-by-side
rows; ``--mlflow-size-mb`` equal to ``--size-mb`` runs MLflow on the big file as well.
Per-row times (µs/row) are compared, so the ratio is how many times faster cairn scores a row.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    MISSING,
    RESULT_MARKER,
    CallFailed,
    Row,
    call_mlflow,
    clean_env,
    format_table,
    log,
    mlflow_available,
    mlflow_python,
    rows_to_json,
)

SCRIPT = Path(__file__).resolve()
DATA_DIR = Path(tempfile.gettempdir()) / "cairn-bench-batch-predict"
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
MB = 1 << 20


# --------------------------------------------------------------------------- data and models


def _iris() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = COLUMNS
    return X, y


def _fit() -> tuple[Any, Any]:
    from sklearn.linear_model import LogisticRegression

    X, y = _iris()
    return LogisticRegression(max_iter=500).fit(X, y), X


def make_csv(size_mb: int) -> Path:
    """An iris-like CSV of about ``size_mb`` MiB (cached in the temp directory)."""
    path = DATA_DIR / f"iris-{size_mb}mb.csv"
    if path.exists():
        return path
    import numpy as np
    import pyarrow as pa
    from pyarrow import csv

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    X, _ = _iris()
    base = X.to_numpy()
    rng = np.random.default_rng(0)
    partial = path.with_suffix(".partial")
    log(f"generating {path} ({size_mb} MiB) ...")
    with pa.OSFile(str(partial), "wb") as sink:
        writer = None
        while sink.tell() < size_mb * MB:
            picks = base[rng.integers(0, len(base), 100_000)]
            values = np.round(picks + rng.normal(0, 0.2, picks.shape), 2).clip(0.01)
            table = pa.table({c: values[:, i] for i, c in enumerate(COLUMNS)})
            if writer is None:
                writer = csv.CSVWriter(sink, table.schema)
            writer.write_table(table)
        assert writer is not None
        writer.close()
    partial.rename(path)
    return path


def count_rows(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b"")) - 1


def cairn_save(path: str) -> None:
    import cairn.sklearn

    model, X = _fit()
    cairn.sklearn.save_model(model, path, input_example=X[:5])


def mlflow_save(path: str) -> dict[str, str]:
    import mlflow.sklearn

    model, X = _fit()
    mlflow.sklearn.save_model(model, path, input_example=X[:5])
    return {"saved": path}


# --------------------------------------------------------------------------- measuring


def run_child(command: list[str], cwd: Path) -> tuple[float, int]:
    """(wall seconds, peak RSS in bytes) of ``command`` run to its end; raises on failure."""
    started = time.perf_counter()
    with open(cwd / "stderr.txt", "wb") as err:
        proc = subprocess.Popen(command, cwd=cwd, env=clean_env(), stdout=err, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = (cwd / "stderr.txt").read_text(errors="replace").strip().splitlines()[-15:]
        raise CallFailed(f"{command[:4]} exited {proc.returncode}:\n" + "\n".join(tail))
    return seconds, usage.ru_maxrss * 1024  # Linux reports KiB


def cairn_command(model: Path, data: Path, out: Path) -> list[str]:
    """``cairn models predict`` (through the group once it is registered there)."""
    cli = Path(sys.executable).with_name("cairn")
    probe = subprocess.run(
        [str(cli), "models", "predict", "--help"], capture_output=True, check=False
    )
    head = (
        [str(cli), "models", "predict"]
        if probe.returncode == 0
        else [sys.executable, "-c", "from cairn.cli.batch_predict import predict; predict()"]
    )
    return [*head, "-m", str(model), "-i", str(data), "-o", str(out), "--no-progress"]


def measure_cairn(data: Path, workdir: Path) -> tuple[float, int]:
    model = workdir / "cairn-model"
    if not model.exists():
        cairn_save(str(model))
    out = workdir / "cairn-out.csv"
    result = run_child(cairn_command(model, data, out), workdir)
    out.unlink()
    return result


def measure_mlflow(data: Path, workdir: Path) -> tuple[float, int]:
    python = mlflow_python()
    assert python is not None
    model = workdir / "mlflow-model"
    if not model.exists():
        call_mlflow(SCRIPT, "mlflow_save", path=str(model))
    out = workdir / "mlflow-out.json"
    mlflow_cli = Path(python).with_name("mlflow")
    command = [str(mlflow_cli), "models", "predict", "-m", str(model), "-i", str(data)]
    command += ["-o", str(out), "-t", "csv", "--env-manager", "local"]
    result = run_child(command, workdir)
    out.unlink()
    return result


def _mib(size: int) -> str:
    return f"{size / MB:,.0f} MiB"


# --------------------------------------------------------------------------- the table


def run(size_mb: int, mlflow_size_mb: int) -> list[Row]:
    big = make_csv(size_mb)
    small = make_csv(mlflow_size_mb) if mlflow_size_mb != size_mb else big
    rows_big = count_rows(big)
    rows_small = count_rows(small) if small != big else rows_big
    table: list[Row] = []
    workdir = Path(tempfile.mkdtemp(prefix="cairn-bench-predict-"))
    try:
        files = [(small, rows_small, mlflow_size_mb)] if small != big else []
        files.append((big, rows_big, size_mb))
        for data, n_rows, mb in files:
            log(f"cairn models predict: {data.name} ({n_rows:,} rows) ...")
            c_time, c_rss = measure_cairn(data, workdir)
            log(f"  cairn: {c_time:.1f} s, {n_rows / c_time:,.0f} rows/s, peak {_mib(c_rss)}")
            m_time: float | str | None = None
            m_rss: str = MISSING
            note_m = "mlflow: not installed"
            if not mlflow_available():
                m_time = MISSING
            elif mb != mlflow_size_mb:
                m_time = m_rss = f"not run (> {mlflow_size_mb} MiB)"
                note_m = f"MLflow loads the whole file; run on the {mlflow_size_mb} MiB file"
            else:
                log(f"mlflow models predict: {data.name} ...")
                try:
                    mt, mr = measure_mlflow(data, workdir)
                    log(f"  mlflow: {mt:.1f} s, {n_rows / mt:,.0f} rows/s, peak {_mib(mr)}")
                    m_time, m_rss = mt / n_rows, _mib(mr)
                    note_m = (
                        f"mlflow {n_rows / mt:,.0f} rows/s in {mt:.1f} s, peak RSS {_mib(mr)} "
                        f"({mr / c_rss:.1f}x cairn's)"
                    )
                except CallFailed as exc:
                    m_time = m_rss = "failed"
                    note_m = str(exc).splitlines()[0]
            label = f"{mb:,} MiB CSV, {n_rows:,} rows"
            table.append(
                Row(
                    f"predict {label}: time per row",
                    c_time / n_rows,
                    m_time,
                    unit="µs",
                    note=f"cairn {n_rows / c_time:,.0f} rows/s in {c_time:.1f} s "
                    f"(model load included); {note_m}",
                )
            )
            table.append(Row(f"predict {label}: peak RSS", _mib(c_rss), m_rss, unit="µs"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="CSV size (MiB) for cairn")
    parser.add_argument(
        "--mlflow-size-mb", type=int, default=100, help="CSV size (MiB) MLflow scores"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON (run_all)")
    args = parser.parse_args()
    if not mlflow_available():
        log("mlflow: " + MISSING + "; cairn figures only")
    rows = run(args.size_mb, min(args.mlflow_size_mb, args.size_mb))
    if args.json:
        print(RESULT_MARKER + rows_to_json(rows))
    else:
        print(format_table(rows))


if __name__ == "__main__":
    main()
