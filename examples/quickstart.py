"""cairn quickstart: train a few scikit-learn models on iris, track every run, and register
the best one in the model registry.

Run it, then look at the results in the web UI or on the command line:

    python examples/quickstart.py
    cairn ui                                    # http://127.0.0.1:5000 (models: #/models)
    cairn runs list --experiment quickstart --order-by "metrics.val_accuracy DESC"
    cairn models describe iris-classifier       # its versions, aliases and history
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_iris
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss
from sklearn.model_selection import train_test_split

import cairn

EPOCHS = 30
REGISTERED_MODEL = "iris-classifier"


def main() -> None:
    iris = load_iris(as_frame=True)
    frame: pd.DataFrame = iris.frame
    x_train, x_val, y_train, y_val = train_test_split(
        iris.data, iris.target, test_size=0.3, random_state=0, stratify=iris.target
    )
    cairn.set_experiment("quickstart")
    grid = [
        (loss, alpha) for loss in ("log_loss", "modified_huber") for alpha in (1e-4, 1e-3, 1e-2)
    ]
    with cairn.start_run(run_name="sgd-sweep", description="Sweep over loss and alpha"):
        cairn.log_input(frame, context="training", name="iris")
        for loss, alpha in grid:
            with cairn.start_run(run_name=f"{loss}-alpha{alpha:g}", nested=True):
                train_one(loss, alpha, x_train, x_val, y_train, y_val)
    best = cairn.search_runs(
        filter_string="tags.mlflow.parentRunId IS NOT NULL and metrics.val_accuracy > 0",
        order_by=["metrics.val_accuracy DESC", "metrics.val_log_loss ASC"],
        max_results=3,
    )
    print(best[["tags.mlflow.runName", "params.alpha", "metrics.val_accuracy"]].to_string())
    print(f"\nLogged {len(grid)} runs to {cairn.get_tracking_uri()}.")
    register_champion(best["run_id"].iloc[0], best["tags.mlflow.runName"].iloc[0], x_val, y_val)
    print("See them in the web UI: run `cairn ui` here and open http://127.0.0.1:5000")
    print(
        f"Serve the champion over REST: `cairn models serve -m models:/{REGISTERED_MODEL}@champion"
        " --port 8080`"
    )


def register_champion(run_id: str, run_name: str, x_val, y_val) -> None:
    """Register the best run's model, point the alias 'champion' at it, load it back by alias."""
    version = cairn.register_model(f"runs:/{run_id}/model", REGISTERED_MODEL)
    cairn.RegistryClient().set_registered_model_alias(REGISTERED_MODEL, "champion", version.version)
    print(
        f"Registered the best run's model ({run_name}) as {REGISTERED_MODEL!r} version "
        f"{version.version} with the alias 'champion'."
    )
    champion = cairn.pyfunc.load_model(f"models:/{REGISTERED_MODEL}@champion")
    accuracy = accuracy_score(y_val, champion.predict(x_val))
    print(
        f"Loaded models:/{REGISTERED_MODEL}@champion and predicted the validation set: "
        f"accuracy {accuracy:.3f}."
    )


def train_one(loss: str, alpha: float, x_train, x_val, y_train, y_val) -> None:
    cairn.log_params({"loss": loss, "alpha": alpha, "epochs": EPOCHS, "model": "SGDClassifier"})
    model = SGDClassifier(loss=loss, alpha=alpha, random_state=0)
    classes = np.unique(y_train)
    for epoch in range(EPOCHS):
        model.partial_fit(x_train, y_train, classes=classes)
        proba = model.predict_proba(x_val)
        cairn.log_metrics(
            {
                "train_accuracy": accuracy_score(y_train, model.predict(x_train)),
                "val_accuracy": accuracy_score(y_val, proba.argmax(axis=1)),
                "val_log_loss": log_loss(y_val, np.clip(proba, 1e-9, 1), labels=classes),
            },
            step=epoch,
        )
    matrix = confusion_matrix(y_val, model.predict(x_val))
    cairn.log_dict({"confusion_matrix": matrix.tolist()}, "confusion_matrix.json")
    cairn.log_table(
        pd.DataFrame({"true": y_val.to_numpy(), "predicted": model.predict(x_val)}),
        "predictions.json",
    )
    cairn.log_text(f"SGDClassifier(loss={loss!r}, alpha={alpha})\n", "model.txt")
    cairn.sklearn.log_model(model, name="model", input_example=x_val[:5])


if __name__ == "__main__":
    main()
