"""The whole pipeline in one run: train a model, then evaluate the model just logged.

Run it with `cairn run .` (the project's main entry point) or `python main.py`.
"""

from __future__ import annotations

import evaluate
import train

import cairn


def main() -> None:
    args = train.parser().parse_args()
    with cairn.start_run():
        info = train.train(
            args.data,
            args.target,
            args.test_size,
            args.n_estimators,
            args.max_depth,
            args.learning_rate,
        )
        evaluate.evaluate(info.model_uri, args.data, args.target, args.test_size)


if __name__ == "__main__":
    main()
