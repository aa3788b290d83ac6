"""Train a gradient-boosted regressor and log it to cairn: its parameters, the training data,
metrics on the training rows and on the held-out rows, and the model with its signature.

Run it with `cairn run . -e train -P max_depth=5`, or on its own: `python train.py --max-depth 5`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import common
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor

import cairn
from cairn.models import ModelInfo, infer_signature


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-estimators", type=int, default=200, help="boosting stages")
    parser.add_argument("--max-depth", type=int, default=3, help="depth limit of each tree")
    parser.add_argument(
        "--learning-rate", type=float, default=0.05, help="how much each tree contributes"
    )
    return common.data_options(parser)


def train(
    data: str,
    target: str,
    test_size: float,
    n_estimators: int,
    max_depth: int,
    learning_rate: float,
) -> ModelInfo:
    """Fit on the training rows, log everything to the active run; returns the logged model."""
    features, labels = common.load(data, target)
    x_train, x_test, y_train, y_test = common.split(features, labels, test_size)
    common.log_params_once(
        {
            "n_estimators": n_estimators,
            "max_depth": max_depth,
            "learning_rate": learning_rate,
            "test_size": test_size,
            "data": data,
            "target": target,
        }
    )
    cairn.log_params(
        {
            "model_class": "GradientBoostingRegressor",
            "train_rows": len(x_train),
            "seed": common.SEED,
        }
    )
    dataset = cairn.log_input(
        pd.concat([x_train, y_train], axis=1), context="training", name=Path(data).stem
    )

    model = GradientBoostingRegressor(
        n_estimators=n_estimators,
        max_depth=max_depth,
        learning_rate=learning_rate,
        random_state=common.SEED,
    )
    model.fit(x_train, y_train)

    info = cairn.sklearn.log_model(
        model,
        name="model",
        signature=infer_signature(x_train, model.predict(x_train)),
        input_example=x_train.head(5),
    )
    for key, value in common.score(model, x_train, y_train).items():
        cairn.log_metric(f"train_{key}", value)
    for key, value in common.score(model, x_test, y_test).items():
        # Held-out metrics also belong to the logged model: `cairn ui` shows them on it.
        cairn.log_metric(f"test_{key}", value, model_id=info.model_id, dataset=dataset)
        print(f"test_{key}: {value:.4f}")
    print(f"Logged the model as {info.model_uri}")
    return info


def main() -> None:
    args = parser().parse_args()
    with cairn.start_run():
        train(
            args.data,
            args.target,
            args.test_size,
            args.n_estimators,
            args.max_depth,
            args.learning_rate,
        )


if __name__ == "__main__":
    main()
