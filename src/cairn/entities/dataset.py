"""Datasets a run consumed: identified by name and digest, described by source/schema/profile."""

from __future__ import annotations

import msgspec


class Dataset(msgspec.Struct, frozen=True):
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


class InputTag(msgspec.Struct, frozen=True):
    key: str
    value: str


class DatasetInput(msgspec.Struct, frozen=True):
    dataset: Dataset
    tags: list[InputTag] = []


class RunInputs(msgspec.Struct, frozen=True):
    dataset_inputs: list[DatasetInput] = []
