"""``cairn models serve``: a REST scoring server for one model (MLflow's scoring protocol)."""

from __future__ import annotations

import os
import sys

import click

from cairn.cli import output
from cairn.cli.env_options import environment_options


@click.command("serve")
@click.option("-m", "--model-uri", required=True, help="Path, runs:/ or models:/ URI to serve.")
@click.option("-h", "--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("-p", "--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "-w",
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    envvar="CAIRN_SERVING_WORKERS",
    help="Worker processes, each with its own copy of the model. [env: CAIRN_SERVING_WORKERS]",
)
@environment_options("serve")
@click.option(
    "--timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0.001),
    help="Seconds a request may take before it is answered 504.",
)
@click.option(
    "--max-batch-size",
    default=32,
    show_default=True,
    type=click.IntRange(1),
    help="Most rows scored together when concurrent requests are joined.",
)
@click.option(
    "--max-wait-ms",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0),
    help="How long a batch may wait for requests that are still arriving (never for a lone "
    "request).",
)
@click.option("--no-batching", is_flag=True, help="Score every request on its own.")
@click.option(
    "--max-request-mb",
    default=50.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Largest request body accepted (413 above).",
)
@click.option(
    "--watch-alias",
    "watch_interval",
    type=click.FloatRange(0.1),
    default=None,
    metavar="SECONDS",
    help="Ask the registry every SECONDS which version the alias names, and switch to it "
    "without dropping requests (models:/<name>@<alias>, /latest or /<stage> URIs).",
)
@click.option(
    "--log-predictions",
    "prediction_log_dir",
    type=click.Path(file_okay=False),
    default=None,
    metavar="DIR",
    help="Append every prediction (request id, model version, inputs, predictions) as JSON "
    "lines to DIR/predictions-<pid>.jsonl, to join with ground truth later.",
)
@click.option("--access-log/--no-access-log", default=False, show_default=True)
def serve(
    model_uri: str,
    host: str,
    port: int,
    workers: int,
    env_manager: str,
    env_dir: str | None,
    python: str | None,
    timeout: float,
    max_batch_size: int,
    max_wait_ms: float,
    no_batching: bool,
    max_request_mb: float,
    watch_interval: float | None,
    prediction_log_dir: str | None,
    access_log: bool,
) -> None:
    """Serve MODEL_URI over REST: POST /invocations, GET /ping, /health, /version, /metrics.

    \b
    curl -X POST localhost:5000/invocations -H 'Content-Type: application/json' \\
         -d '{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}}'
    """
    if env_manager != "local":
        from cairn.serving.isolated import run_isolated

        rest = [
            *("--host", host, "--port", str(port), "--workers", str(workers)),
            *("--timeout", repr(timeout), "--max-request-mb", repr(max_request_mb)),
            *("--max-batch-size", str(max_batch_size), "--max-wait-ms", repr(max_wait_ms)),
            *(["--no-batching"] if no_batching else []),
            *(["--watch-alias", repr(watch_interval)] if watch_interval else []),
            *(["--log-predictions", prediction_log_dir] if prediction_log_dir else []),
            *(["--access-log"] if access_log else []),
        ]
        code = run_isolated(
            model_uri,
            env_manager=env_manager,
            env_root=env_dir,
            python=python,
            serve_args=rest,
            log=output.note,
        )
        sys.exit(code)
    from cairn.serving.app import AppSettings
    from cairn.serving.server import ServeConfig
    from cairn.serving.server import serve as run

    settings = AppSettings(
        timeout_s=timeout,
        max_request_bytes=int(max_request_mb * 1024 * 1024),
        batching=not no_batching,
        max_batch_size=max_batch_size,
        max_wait_ms=max_wait_ms,
        watch_interval_s=watch_interval,
        prediction_log_dir=os.path.abspath(prediction_log_dir) if prediction_log_dir else None,
    )
    config = ServeConfig(model_uri, host, port, workers, settings, access_log)
    run(config, log=output.note)


COMMANDS = [serve]
