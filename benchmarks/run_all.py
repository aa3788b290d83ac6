"""Run every benchmark and print one summary table: cairn vs MLflow, with ratios and targets.

Usage: ``.venv/bin/python benchmarks/run_all.py [--only import,search_runs,...]``

Each ``bench_*.py`` runs in its own process (so no state leaks between them) with ``--json``;
its progress goes to stderr as it runs. Timings never set the exit code: a failing target shows
as "NO" in the table. The exit code is non-zero only if a benchmark script itself crashed.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time

from common import (
    BENCH_DIR,
    MLFLOW_PYTHON_ENV,
    NOT_INSTALLED,
    Row,
    format_table,
    log,
    mlflow_available,
    mlflow_python,
    mlflow_version,
    parse_result,
    rows_from_json,
)

BENCHMARKS = [
    "log_metric",
    "search_runs",
    "metric_history",
    "import",
    "concurrent_start",
    "server_tracking",
    "ui",
    "log_model",
    "registry",
    "serving",
    "projects",
]


def run_benchmark(name: str) -> list[Row]:
    script = BENCH_DIR / f"bench_{name}.py"
    log(f"=== {script.name}")
    proc = subprocess.run(
        [sys.executable, str(script), "--json"], stdout=subprocess.PIPE, text=True, check=False
    )
    result = parse_result(proc.stdout)
    if proc.returncode != 0 or not isinstance(result, list):
        return [Row(f"{name}: benchmark script FAILED (exit {proc.returncode})", None, None)]
    return rows_from_json(result)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated subset of {BENCHMARKS}"
    )
    names = [n.strip() for n in parser.parse_args().only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; choose from {BENCHMARKS}")

    import cairn

    if mlflow_available():
        mlflow = f"mlflow {mlflow_version()} ({mlflow_python()})"
    else:
        mlflow = f"mlflow: {NOT_INSTALLED} (set {MLFLOW_PYTHON_ENV} to its python)"
        print(mlflow, flush=True)
    start = time.perf_counter()
    rows = [row for name in names for row in run_benchmark(name)]
    elapsed = time.perf_counter() - start

    print()
    print(
        f"cairn {cairn.__version__} ({sys.executable}) vs {mlflow}; Python "
        f"{platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs; ratio = mlflow / cairn; {elapsed / 60:.1f} min"
    )
    print()
    print(format_table(rows))
    return 1 if any("FAILED" in row.name for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
