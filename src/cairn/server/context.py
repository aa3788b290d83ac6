"""What every route module is handed: the stores the server fronts and its configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cairn.server.config import ServerConfig

if TYPE_CHECKING:
    from cairn.store.tracking.protocol import TrackingStore


@dataclass(frozen=True)
class ServerContext:
    config: ServerConfig
    tracking: TrackingStore
