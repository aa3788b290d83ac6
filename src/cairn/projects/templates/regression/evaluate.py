"""Evaluate a logged model: load it by URI, score it on the held-out rows of the data (or on
every row of a new file with --test-size 1), and log the metrics as eval_rmse, eval_mae and
eval_r2 with a table of the predictions.

Run it with `cairn run . -e evaluate -P model_uri=runs:/<run_id>/model`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import common
import pandas as pd

import cairn


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-uri", required=True, help="runs:/<run_id>/model, models:/...")
    return common.data_options(parser)


def evaluate(model_uri: str, data: str, target: str, test_size: float) -> dict[str, float]:
    """Score the model, log the metrics to the active run (and to the model); returns them."""
    features, labels = common.load(data, target)
    x_test, y_test = common.held_out(features, labels, test_size)
    common.log_params_once(
        {"model_uri": model_uri, "data": data, "target": target, "test_size": test_size}
    )
    dataset = cairn.log_input(
        pd.concat([x_test, y_test], axis=1), context="evaluation", name=Path(data).stem
    )

    model = cairn.sklearn.load_model(model_uri)
    model_id = cairn.models.get_model_info(model_uri).model_id
    metrics = common.score(model, x_test, y_test)
    for key, value in metrics.items():
        cairn.log_metric(f"eval_{key}", value, model_id=model_id, dataset=dataset)
        print(f"eval_{key}: {value:.4f}")
    cairn.log_table(
        pd.DataFrame({"label": y_test.to_numpy(), "predicted": model.predict(x_test)}),
        "eval_predictions.json",
    )
    return metrics


def main() -> None:
    args = parser().parse_args()
    with cairn.start_run():
        evaluate(args.model_uri, args.data, args.target, args.test_size)


if __name__ == "__main__":
    main()
