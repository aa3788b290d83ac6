"""What uvicorn imports in each worker: the app, built from a config passed by environment.

``cairn server --workers N`` cannot hand an app object to N worker processes, so it puts the
:class:`ServerConfig` in ``CAIRN_SERVER_CONFIG`` (JSON) and gives uvicorn the import string
``cairn.server.main:create_app_from_env`` with ``factory=True``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from starlette.applications import Starlette

from cairn.server.app import create_app
from cairn.server.config import ServerConfig

CONFIG_ENV = "CAIRN_SERVER_CONFIG"
APP_FACTORY = "cairn.server.main:create_app_from_env"


def config_to_env(config: ServerConfig) -> str:
    return json.dumps(dataclasses.asdict(config))


def config_from_env(text: str) -> ServerConfig:
    """The config ``config_to_env`` wrote; JSON lists become the config's tuples again."""
    values: dict[str, Any] = json.loads(text)
    for field in dataclasses.fields(ServerConfig):
        if isinstance(values.get(field.name), list):
            values[field.name] = tuple(values[field.name])
    return ServerConfig(**values)


def create_app_from_env() -> Starlette:
    text = os.environ.get(CONFIG_ENV)
    return create_app(config_from_env(text) if text else ServerConfig())
