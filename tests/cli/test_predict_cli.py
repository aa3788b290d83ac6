"""``cairn models predict``: the command line over real files and a real sklearn model.

The tests call the command through the ``cairn models`` group once it is registered there,
and the command object itself before that, so they run the same either way.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

import cairn.pyfunc
from cairn.cli.batch_predict import ProgressBar
from cairn.cli.batch_predict import predict as predict_command
from cairn.cli.models import models

pytest.importorskip("skops", reason="the sklearn flavor saves with skops")

COLUMNS = ["a", "b"]
WIRED = "predict" in models.commands


def invoke(*args: str, input: str | None = None) -> Result:
    command: click.Command = models if WIRED else predict_command
    argv = ["predict", *args] if WIRED else list(args)
    return CliRunner().invoke(command, argv, input=input)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, pd.DataFrame, Path]:
    from sklearn.linear_model import LogisticRegression

    import cairn.sklearn

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 2)).round(3), columns=COLUMNS)
    model = LogisticRegression().fit(frame, frame["a"] + frame["b"] > 0)
    path = tmp_path_factory.mktemp("predict-cli") / "model"
    cairn.sklearn.save_model(model, path, input_example=frame.head(2))
    return model, frame, path


def test_scores_a_csv_into_parquet(fitted: tuple[Any, pd.DataFrame, Path], tmp_path: Path) -> None:
    model, frame, path = fitted
    frame.to_csv(tmp_path / "in.csv", index=False)

    result = invoke(
        *("-m", str(path), "-i", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.parquet")),
        *("--chunk-rows", "64"),
    )

    assert result.exit_code == 0, result.output
    assert "Scored 200 rows in 4 chunk(s)" in result.stderr
    assert result.stdout == ""
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.columns) == [*COLUMNS, "prediction"]
    np.testing.assert_array_equal(out["prediction"], model.predict(frame))


def test_stdin_to_stdout(fitted: tuple[Any, pd.DataFrame, Path]) -> None:
    model, frame, path = fitted
    result = invoke(
        *("-m", str(path), "-i", "-", "--input-format", "csv"),
        *("-o", "-", "--output-format", "json", "--predictions-only"),
        *("--prediction-column", "positive"),
        input=frame.to_csv(index=False),
    )

    assert result.exit_code == 0, result.stderr
    out = pd.read_json(io.StringIO(result.stdout), lines=True)
    assert list(out.columns) == ["positive"]
    np.testing.assert_array_equal(out["positive"], model.predict(frame))
    assert "-> stdout" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-i", "{tmp}/missing.csv", "-o", "{tmp}/out.csv"], "Input file not found"),
        (["-i", "{tmp}/in.txt", "-o", "{tmp}/out.csv"], "Cannot tell the input format"),
        (["-i", "-", "-o", "{tmp}/out.csv"], "give its format with --input-format"),
        (["-i", "{tmp}/bad.csv", "-o", "{tmp}/out.csv"], "Rows 1-2: .*'b'"),
    ],
)
def test_bad_input_is_a_clear_error_without_output(
    fitted: tuple[Any, pd.DataFrame, Path], tmp_path: Path, args: list[str], message: str
) -> None:
    _, frame, path = fitted
    (tmp_path / "in.txt").write_text(frame.to_csv(index=False))
    (tmp_path / "bad.csv").write_text("a,c\n1,2\n3,4\n")  # no column b

    result = invoke("-m", str(path), *(a.format(tmp=tmp_path) for a in args), input="")

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a click error, not a traceback
    assert result.stderr.startswith("Error: ")
    assert re.search(message, result.stderr), result.stderr
    assert not (tmp_path / "out.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "in.txt"]


def test_unknown_model(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("a,b\n1,2\n")
    result = invoke("-m", str(tmp_path / "nope"), "-i", str(tmp_path / "in.csv"), "-o", "-")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")


def test_progress_bar_draws_rows_and_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    """The bar itself (CliRunner's stderr is no terminal, so the command draws none)."""
    with ProgressBar(enabled=True) as bar:
        bar.start(total_rows=None, total_bytes=2048)
        bar.update(rows=1500, bytes_read=1024)
    err = capsys.readouterr().err
    assert "Scoring" in err and "1,500 rows" in err


def test_disabled_progress_bar_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    with ProgressBar(enabled=False) as bar:
        bar.start(total_rows=10, total_bytes=None)
        bar.update(rows=10, bytes_read=None)
    assert capsys.readouterr().err == ""


@pytest.mark.skipif(not WIRED, reason="the child runs `cairn models predict` once registered")
def test_in_the_models_environment(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """--env-manager virtualenv: the same command runs in the model's recreated env."""
    from model_envs import built_env

    env = built_env(tmp_path_factory)
    source = tmp_path / "in.csv"
    frame = pd.DataFrame({"a": [0.0, 3.0, 1.0], "b": [1.0, 0.0, 0.0]})
    frame.to_csv(source, index=False)
    target = tmp_path / "out.csv"

    proc = subprocess.run(
        [
            *(sys.executable, "-m", "cairn", "models", "predict", "-m", str(env.model_dir)),
            *("-i", str(source), "-o", str(target), "--env-manager", "virtualenv"),
            *("--env-dir", str(env.env_root)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert "Scored 3 rows" in proc.stderr
    expected = cairn.pyfunc.load_model(str(env.model_dir)).predict(frame)
    np.testing.assert_array_equal(pd.read_csv(target)["prediction"], expected)
