"""Experiments: named groups of runs with their own artifact location."""

from __future__ import annotations

import msgspec


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"


class ExperimentTag(msgspec.Struct, frozen=True):
    key: str
    value: str


class Experiment(msgspec.Struct, frozen=True):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = {}
    creation_time: int | None = None
    last_update_time: int | None = None
