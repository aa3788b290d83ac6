"""The code base stays ruff-clean (lint and format), and CI runs the README's test command."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff() -> list[str]:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    return [found]


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]])
def test_ruff(args: list[str]) -> None:
    result = subprocess.run(
        [*_ruff(), *args, "src", "tests", "benchmarks", "examples", "scripts"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(python3 -m venv \.venv && .*pytest.*)$", readme, re.M)
    assert len(commands) == 1, commands
    readme_command = commands[0]
    ci = (ROOT / ".ci" / "run").read_text()
    # .ci/run may quieten pip and pytest; otherwise it runs the very same command.
    ci_command = next(line for line in ci.splitlines() if line.startswith("python3 -m venv"))
    normalise = lambda s: re.sub(r" -q\b", "", s).strip()  # noqa: E731
    assert normalise(readme_command) in normalise(ci_command)
