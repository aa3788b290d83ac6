"""Run the scoring server: resolve and fetch the model once, then uvicorn with N workers.

The parent process resolves ``models:/...@alias`` to a version and downloads the model once,
so every worker serves the same version from the same files (an alias moving during start-up
cannot split them). It also loads the model once before binding the port, so a model that
cannot load fails the command with its reason instead of failing in every worker. Workers
get their configuration through ``CAIRN_SERVING_CONFIG`` (JSON), like ``cairn server``'s.

With ``--watch-alias`` each worker resolves and follows the alias itself.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cairn.serving.app import AppSettings, ScoringApp
from cairn.serving.batching import LoadedModel
from cairn.serving.metrics import MULTIPROC_ENV
from cairn.serving.model_source import (
    ResolvedModel,
    check_followable,
    load,
    local_model,
    resolve,
)

CONFIG_ENV = "CAIRN_SERVING_CONFIG"
APP_FACTORY = "cairn.serving.server:app_from_env"
# Seconds uvicorn keeps an idle keep-alive connection: load generators and proxies reuse them.
KEEP_ALIVE_S = 75


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``cairn models serve`` was told."""

    model_uri: str
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    settings: AppSettings = field(default_factory=AppSettings)
    access_log: bool = False
    # Filled in by serve(): the pinned model and where its files are, for the workers.
    resolved: ResolvedModel | None = None
    local_path: str | None = None


def _loader(config: ServeConfig) -> Callable[[], tuple[ResolvedModel, LoadedModel]]:
    """What a worker runs at start-up to get its model."""

    def load_model() -> tuple[ResolvedModel, LoadedModel]:
        resolved = config.resolved
        if resolved is None or config.settings.watch_interval_s:
            resolved = resolve(config.model_uri)  # each worker follows the alias itself
            return resolved, load(resolved)
        return resolved, load(resolved, config.local_path)

    return load_model


def build_app(config: ServeConfig) -> ScoringApp:
    return ScoringApp(_loader(config), config.settings)


def config_to_env(config: ServeConfig) -> str:
    return json.dumps(dataclasses.asdict(config))


def config_from_env(text: str) -> ServeConfig:
    values = json.loads(text)
    values["settings"] = AppSettings(**values["settings"])
    if values.get("resolved"):
        values["resolved"] = ResolvedModel(**values["resolved"])
    return ServeConfig(**values)


def app_from_env() -> ScoringApp:
    """uvicorn's factory in each worker process."""
    return build_app(config_from_env(os.environ[CONFIG_ENV]))


def _serving(resolved: ResolvedModel, loaded: LoadedModel, settings: AppSettings) -> ScoringApp:
    """The app of a single-worker server: the model the command loaded already."""
    return ScoringApp(lambda: (resolved, loaded), settings)


def serve(config: ServeConfig, log: Callable[[str], None] = print) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (in-flight requests finish first)."""
    import uvicorn

    with local_model(config.model_uri, log) as (resolved, local_path):
        if config.settings.watch_interval_s:
            check_followable(resolved)
        # Loaded here, so a model that cannot load fails the command with its reason rather
        # than failing in every worker; one worker serves this very copy.
        loaded = load(resolved, local_path)
        config = dataclasses.replace(config, resolved=resolved, local_path=local_path)
        options: dict[str, Any] = {
            "host": config.host,
            "port": config.port,
            "access_log": config.access_log,
            "timeout_keep_alive": KEEP_ALIVE_S,
            "timeout_graceful_shutdown": max(1, int(config.settings.timeout_s)),
            "log_level": "info",
            "lifespan": "on",
        }
        if config.workers == 1:
            uvicorn.run(_serving(resolved, loaded, config.settings), **options)
            return
        del loaded  # each worker loads its own
        with tempfile.TemporaryDirectory(prefix="cairn-serve-metrics-") as metrics_dir:
            os.environ[MULTIPROC_ENV] = metrics_dir
            os.environ[CONFIG_ENV] = config_to_env(config)
            uvicorn.run(APP_FACTORY, factory=True, workers=config.workers, **options)
