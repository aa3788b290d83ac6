"""What train.py and evaluate.py share: how the data is read and split, how a model is scored,
and how parameters are recorded. Both steps use the same split, so evaluate.py scores the model
on exactly the rows train.py held out."""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

import cairn

SEED = 42  # fixed, so every step (and every rerun) splits the rows the same way


def data_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options every step takes: which file, which column, how much to hold out."""
    parser.add_argument("--data", default="data/diabetes.csv", help="a CSV file")
    parser.add_argument("--target", default="progression", help="the column to predict")
    parser.add_argument(
        "--test-size", type=float, default=0.25, help="share of rows held out for scoring"
    )
    return parser


def load(path: str, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """The features and the labels of a CSV file."""
    frame = pd.read_csv(path)
    if target not in frame.columns:
        raise SystemExit(
            f"{path} has no column {target!r} (columns: {', '.join(frame.columns)}). "
            "Name the label column with -P target=<column>."
        )
    return frame.drop(columns=[target]), frame[target]


def split(
    features: pd.DataFrame, labels: pd.Series, test_size: float
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """(x_train, x_test, y_train, y_test)."""
    if not 0 < test_size < 1:
        raise SystemExit(f"test_size must be between 0 and 1, got {test_size}.")
    return train_test_split(features, labels, test_size=test_size, random_state=SEED)


def held_out(
    features: pd.DataFrame, labels: pd.Series, test_size: float
) -> tuple[pd.DataFrame, pd.Series]:
    """The rows to score: the held-out part, or every row when test_size is 1 (a new file)."""
    if test_size >= 1:
        return features, labels
    _, x_test, _, y_test = split(features, labels, test_size)
    return x_test, y_test


def score(model: Any, features: pd.DataFrame, labels: pd.Series) -> dict[str, float]:
    """rmse, mae and r2 of a fitted regressor."""
    predicted = model.predict(features)
    return {
        "rmse": float(mean_squared_error(labels, predicted) ** 0.5),
        "mae": float(mean_absolute_error(labels, predicted)),
        "r2": float(r2_score(labels, predicted)),
    }


def log_params_once(params: dict[str, Any]) -> None:
    """Log parameters the active run does not have yet.

    Under `cairn run`, the run already holds the entry point's parameters as given on the
    command line (learning_rate=.1 stays ".1"); logging them again with another spelling would
    be refused, so only the missing ones are logged (all of them when the script runs alone).
    """
    run = cairn.active_run()
    if run is None:
        raise RuntimeError("log_params_once needs an active run (cairn.start_run()).")
    logged = cairn.get_run(run.info.run_id).data.params
    cairn.log_params({key: value for key, value in params.items() if key not in logged})
