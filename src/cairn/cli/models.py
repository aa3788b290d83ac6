"""``cairn models``: registered models (list, describe, versions, register, alias, tag, stage,
rename, delete, history: see :mod:`cairn.cli.registry`) and model directories (inspect,
prepare-env).

``describe NAME`` is about a registered model; ``inspect MODEL_URI`` reads a model directory's
MLmodel (flavors, signature, requirements) wherever the URI points.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from typing import Any

import click

from cairn.cli import batch_predict, container, output, registry, serving


@click.group(cls=output.CairnGroup)
def models() -> None:
    """Registered models and their versions; inspect a model, build its environment."""


for _command in registry.COMMANDS:
    models.add_command(_command)


for _command in (*serving.COMMANDS, *batch_predict.COMMANDS, *container.COMMANDS):
    models.add_command(_command)


@contextlib.contextmanager
def _local(model_uri: str) -> Iterator[str]:
    """The model's local directory; a downloaded copy is removed when the command ends."""
    from cairn.models.uri import local_model_path

    with tempfile.TemporaryDirectory(prefix="cairn-model-") as scratch:
        yield local_model_path(model_uri, dst_path=scratch)


@models.command("prepare-env")
@click.argument("model_uri")
@click.option(
    "--env-dir",
    type=click.Path(file_okay=False),
    envvar="CAIRN_ENV_ROOT",
    help="Where environments are cached. [env: CAIRN_ENV_ROOT; default: ~/.cache/cairn/envs]",
)
@click.option(
    "--env-manager",
    type=click.Choice(["uv", "virtualenv"]),
    default=None,
    help="How to build the environment. [default: uv if it is on PATH, else virtualenv]",
)
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="The interpreter to build the environment with (cairn never downloads one).",
)
def prepare_env(
    model_uri: str, env_dir: str | None, env_manager: str | None, python: str | None
) -> None:
    """Build (or reuse) a virtualenv for MODEL_URI and check the model loads in it.

    Exits 0 when the model loads in the environment and predicts on its input example (if it
    has one).
    """
    from cairn.models.envs import describe_prediction, prepare_env, verify_env

    with _local(model_uri) as path:
        env = prepare_env(
            path, env_root=env_dir, env_manager=env_manager, python=python, log=output.note
        )
        result = verify_env(env, path)
    output.echo(f"Environment: {env.path}")
    output.echo(f"Python: {env.python} ({env.python_version})")
    output.echo("Reused the cached environment." if env.reused else "Created the environment.")
    load = f"import cairn.pyfunc; cairn.pyfunc.load_model({model_uri!r})"
    rerun = f'(for the whole error run: {env.python} -c "{load}")'
    if not result.loaded:
        raise click.ClickException(
            f"The model does not load in the environment: {result.error} {rerun}"
        )
    output.echo("Model loaded: ok")
    if result.predicted is None:
        output.echo("Input example: none saved with the model; prediction not checked.")
    elif result.predicted:
        output.echo(f"Prediction on the input example: {describe_prediction(result.output)}")
    else:
        raise click.ClickException(
            f"The model loads but predicting on its input example failed: {result.error}"
        )


def describe_json(model_dir: str) -> dict[str, Any]:
    """The MLmodel's essentials with stable keys."""
    from cairn.models.environment import read_requirements
    from cairn.models.mlmodel import Model

    meta = Model.load(model_dir)
    signature = meta.signature.to_dict() if meta.signature is not None else None
    if signature:
        signature = {k: (json.loads(v) if isinstance(v, str) else v) for k, v in signature.items()}
    return {
        "model_id": meta.model_id,
        "run_id": meta.run_id,
        "artifact_path": meta.artifact_path,
        "flavors": meta.flavors,
        "signature": signature,
        "input_example": meta.saved_input_example_info,
        "requirements": read_requirements(model_dir),
        "created": meta.utc_time_created,
        "mlflow_version": meta.mlflow_version,
        "cairn_version": meta.cairn_version,
    }


def _schema_text(schema: Any) -> str:
    if not schema:
        return ""
    parts = []
    for spec in schema:
        name = spec.get("name")
        kind = spec.get("type")
        if kind == "tensor":
            kind = f"tensor<{spec.get('tensor-spec', {}).get('dtype')}>"
        parts.append(f"{name}: {kind}" if name else str(kind))
    return ", ".join(parts)


@models.command("inspect")
@click.argument("model_uri")
@output.output_option
def inspect(model_uri: str, fmt: str) -> None:
    """Show MODEL_URI's flavors, signature, requirements, run and model ids (any model URI:
    a path, runs:/, models:/<model_id>, models:/<name>/<version>, models:/<name>@<alias>)."""
    with _local(model_uri) as path:
        data = describe_json(path)
    if fmt == output.JSON:
        output.print_json(data)
        return
    signature = data["signature"] or {}
    fields = {
        "model_id": data["model_id"] or "",
        "run_id": data["run_id"] or "",
        "flavors": ", ".join(sorted(data["flavors"])),
        "inputs": _schema_text(signature.get("inputs")),
        "outputs": _schema_text(signature.get("outputs")),
        "params": _schema_text(signature.get("params")),
        "input_example": "yes" if data["input_example"] else "no",
        "requirements": "\n".join(data["requirements"]),
        "created": data["created"] or "",
        "cairn_version": data["cairn_version"] or "",
        "mlflow_version": data["mlflow_version"] or "",
    }
    output.print_fields(fields, title="Model")
