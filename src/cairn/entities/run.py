"""Runs: one execution of training code, with what it logged."""

from __future__ import annotations

import msgspec

from cairn.entities.dataset import RunInputs
from cairn.errors import CairnError


class RunStatus:
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    ALL = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
    TERMINATED = (FINISHED, FAILED, KILLED)

    @classmethod
    def validate(cls, status: object) -> str:
        if status not in cls.ALL:
            raise CairnError.invalid(
                f"Invalid run status {status!r}; expected one of {', '.join(cls.ALL)}."
            )
        return status  # type: ignore[return-value]


class ViewType:
    """Which lifecycle stages a search includes."""

    ACTIVE_ONLY = "ACTIVE_ONLY"
    DELETED_ONLY = "DELETED_ONLY"
    ALL = "ALL"

    @classmethod
    def validate(cls, view_type: object) -> str:
        # MLflow's client passes ints (1, 2, 3); accept both spellings.
        by_number = {1: cls.ACTIVE_ONLY, 2: cls.DELETED_ONLY, 3: cls.ALL}
        if isinstance(view_type, int) and view_type in by_number:
            return by_number[view_type]
        if isinstance(view_type, str) and view_type.upper() in (
            cls.ACTIVE_ONLY,
            cls.DELETED_ONLY,
            cls.ALL,
        ):
            return view_type.upper()
        raise CairnError.invalid(
            f"Invalid view type {view_type!r}; expected ACTIVE_ONLY, DELETED_ONLY or ALL."
        )

    @classmethod
    def stages(cls, view_type: str) -> tuple[str, ...]:
        return {
            cls.ACTIVE_ONLY: ("active",),
            cls.DELETED_ONLY: ("deleted",),
            cls.ALL: ("active", "deleted"),
        }[view_type]


class Param(msgspec.Struct, frozen=True):
    key: str
    value: str


class RunTag(msgspec.Struct, frozen=True):
    key: str
    value: str


class RunInfo(msgspec.Struct, frozen=True):
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str

    @property
    def run_uuid(self) -> str:
        return self.run_id


class RunData(msgspec.Struct, frozen=True):
    """Latest value of each metric, every param, every tag.

    ``latest`` holds each metric's latest point as ``(value, step, timestamp)`` for those who
    need more than the value, such as the REST API; stores fill it when they know it. Plain
    tuples, as the store decodes them: a thousand runs' worth costs nothing extra.
    """

    metrics: dict[str, float] = {}
    params: dict[str, str] = {}
    tags: dict[str, str] = {}
    latest: dict[str, tuple[float, int, int]] = {}


class Run(msgspec.Struct, frozen=True):
    info: RunInfo
    data: RunData
    inputs: RunInputs = RunInputs()
