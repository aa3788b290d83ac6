"""Wall time of ``python -c "import cairn"`` vs ``python -c "import mlflow"``.

Each is a new subprocess (so it includes interpreter start-up, as a user sees it), run from a
fresh temp directory, one untimed warm-up (disk cache, .pyc files) then the median of 7.
``python -c pass`` of each interpreter is reported for reference.
"""

from __future__ import annotations

import subprocess
import sys

from common import (
    MISSING,
    Row,
    bench_main,
    fresh_dir,
    log,
    median_time,
    mlflow_available,
    mlflow_python,
)

REPEATS = 7
TARGET_S = 0.3


def import_time(python: str, code: str) -> float:
    """Median wall seconds of ``python -c code`` in a new process."""

    def once() -> None:
        subprocess.run([python, "-c", code], check=True, capture_output=True)

    return median_time(once, REPEATS, warmup=1)


def run() -> list[Row]:
    mlf_python = mlflow_python() if mlflow_available() else None
    with fresh_dir():
        cairn = import_time(sys.executable, "import cairn")
        cairn_bare = import_time(sys.executable, "pass")
        log(f"import cairn: {cairn * 1e3:.0f} ms (python alone {cairn_bare * 1e3:.0f} ms)")
        mlflow: float | str = MISSING
        mlflow_bare: float | str = MISSING
        if mlf_python is not None:
            mlflow = import_time(mlf_python, "import mlflow")
            mlflow_bare = import_time(mlf_python, "pass")
            log(f"import mlflow: {mlflow * 1e3:.0f} ms (python alone {mlflow_bare * 1e3:.0f} ms)")
    return [
        Row(
            'python -c "import cairn" / "import mlflow"',
            cairn,
            mlflow,
            unit="ms",
            target=TARGET_S,
            note=f"New process each time, median of {REPEATS} after a warm-up.",
        ),
        Row('python -c "pass" (interpreter start-up)', cairn_bare, mlflow_bare, unit="ms"),
    ]


if __name__ == "__main__":
    bench_main(run, __doc__ or "")
