"""``cairn server``: the tracking server, speaking MLflow's REST API (flags as ``mlflow server``).

The database schema is checked before uvicorn starts, so an outdated database fails at once
with the command that fixes it instead of in every worker. Workers get their configuration
through ``CAIRN_SERVER_CONFIG`` (see :mod:`cairn.server.main`).
"""

from __future__ import annotations

import os

import click

from cairn.cli import output
from cairn.server.config import DEFAULT_ARTIFACTS_DESTINATION, DEFAULT_BACKEND_STORE_URI

# Generous: the mlflow client keeps connections open between calls that may be minutes apart.
KEEP_ALIVE_S = 120


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def _local_path_or_uri(value: str) -> str:
    """URIs as given; local paths made absolute, so every worker resolves the same place."""
    return value if "://" in value else os.path.abspath(os.path.expanduser(value))


@click.command()
@click.option(
    "--backend-store-uri",
    default=DEFAULT_BACKEND_STORE_URI,
    show_default=True,
    metavar="URI",
    help="Tracking database: sqlite:///path.db, postgresql://... or a path to a SQLite file.",
)
@click.option(
    "--default-artifact-root",
    metavar="URI",
    help="Artifact root recorded in new experiments, for clients that write artifacts "
    "directly. [default: mlflow-artifacts:/ (the proxy) with --serve-artifacts]",
)
@click.option(
    "--artifacts-destination",
    default=DEFAULT_ARTIFACTS_DESTINATION,
    show_default=True,
    metavar="URI",
    help="Where the artifact proxy keeps files: a local path or s3://bucket/prefix.",
)
@click.option(
    "--serve-artifacts/--no-serve-artifacts",
    default=True,
    show_default=True,
    help="Proxy artifact uploads and downloads through this server.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", "-p", default=5000, show_default=True, type=int, help="Port to bind.")
@click.option(
    "--workers", "-w", default=1, show_default=True, type=click.IntRange(min=1), help="Processes."
)
@click.option(
    "--allowed-hosts",
    metavar="HOSTS",
    help="Comma-separated Host header values to accept. [default: localhost and private ranges]",
)
@click.option(
    "--cors-allowed-origins",
    metavar="ORIGINS",
    help="Comma-separated extra origins allowed to call the API from a browser.",
)
@click.option(
    "--access-log/--no-access-log", default=False, show_default=True, help="Log every request."
)
@click.option(
    "--trust-user-header/--no-trust-user-header",
    default=True,
    show_default=True,
    envvar="CAIRN_SERVER_TRUST_USER_HEADER",
    help="Let X-Cairn-User name the acting user when there is no basic auth "
    "[env: CAIRN_SERVER_TRUST_USER_HEADER].",
)
def server(
    backend_store_uri: str,
    default_artifact_root: str | None,
    artifacts_destination: str,
    serve_artifacts: bool,
    host: str,
    port: int,
    workers: int,
    allowed_hosts: str | None,
    cors_allowed_origins: str | None,
    access_log: bool,
    trust_user_header: bool,
) -> None:
    """Run the tracking server (MLflow-compatible REST API)."""
    import uvicorn

    from cairn.cli.db import _database_uri
    from cairn.server.config import ServerConfig
    from cairn.server.main import APP_FACTORY, CONFIG_ENV, config_to_env
    from cairn.store.db.engine import get_engine
    from cairn.store.db.migrate import ensure_schema
    from cairn.tracking.config import resolve_uri

    backend_store_uri = resolve_uri(_database_uri(backend_store_uri))
    config = ServerConfig(
        backend_store_uri=backend_store_uri,
        default_artifact_root=default_artifact_root or None,
        artifacts_destination=_local_path_or_uri(artifacts_destination),
        serve_artifacts=serve_artifacts,
        allowed_hosts=_split(allowed_hosts) or None,
        cors_allowed_origins=_split(cors_allowed_origins),
        trust_user_header=trust_user_header,
    )
    engine = get_engine(backend_store_uri)
    ensure_schema(engine)  # a CairnError here is printed as "Error: ..." with exit code 1
    engine.dispose()  # workers open their own connections
    os.environ[CONFIG_ENV] = config_to_env(config)
    shown = engine.url.render_as_string(hide_password=True)
    output.echo(f"cairn server: tracking store {shown}, artifacts {config.artifacts_destination}")
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        timeout_keep_alive=KEEP_ALIVE_S,
        log_level="info",
    )


@click.command()
@click.option(
    "--backend-store-uri",
    metavar="URI",
    help="Tracking database. [default: $CAIRN_TRACKING_URI, else sqlite:///cairn.db]",
)
@click.option(
    "--default-artifact-root",
    metavar="URI",
    help="Where runs of new experiments keep artifacts. [default: $CAIRN_ARTIFACT_ROOT, "
    "else ./cairn-artifacts, as the embedded client]",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", "-p", default=5000, show_default=True, type=int, help="Port to bind.")
@click.pass_context
def ui(
    ctx: click.Context,
    backend_store_uri: str | None,
    default_artifact_root: str | None,
    host: str,
    port: int,
) -> None:
    """Serve the web UI over the embedded store (what the Python API writes without a server).

    The same application as ``cairn server``; artifacts are read where the embedded client
    wrote them, so runs logged from scripts show their files.
    """
    from cairn.tracking.config import get_artifact_root, get_tracking_uri

    root = default_artifact_root or get_artifact_root() or DEFAULT_ARTIFACTS_DESTINATION
    output.echo(f"cairn ui: open http://{host}:{port}/ in a browser (Ctrl+C stops it)")
    ctx.invoke(
        server,
        backend_store_uri=backend_store_uri or get_tracking_uri(),
        default_artifact_root=_local_path_or_uri(root),
        artifacts_destination=_local_path_or_uri(root),
        serve_artifacts=False,
        host=host,
        port=port,
        workers=1,
        allowed_hosts=None,
        cors_allowed_origins=None,
        access_log=False,
    )
