"""MLflow 3 logged models: a model's files, params, tags and metrics, apart from any run."""

from __future__ import annotations

import msgspec

from cairn.errors import CairnError


class LoggedModelStatus:
    """Where a model's upload stands. Stored and compared as the short names (``READY``).

    MLflow's wire uses ``LOGGED_MODEL_READY`` or the enum number 2; :meth:`validate` accepts
    those too so the server and the clients share one rule.
    """

    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"

    ALL = (PENDING, READY, FAILED)
    _WIRE = {
        PENDING: "LOGGED_MODEL_PENDING",
        READY: "LOGGED_MODEL_READY",
        FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
    }
    _NUMBERS = {1: PENDING, 2: READY, 3: FAILED}
    _BY_NAME = {**{s: s for s in ALL}, **{wire: s for s, wire in _WIRE.items()}}

    @classmethod
    def canonical(cls, value: object) -> str | None:
        """The status ``value`` spells (any accepted spelling), or None if it spells none."""
        if type(value) is int:
            return cls._NUMBERS.get(value)
        return cls._BY_NAME.get(value) if isinstance(value, str) else None

    @classmethod
    def validate(cls, value: object) -> str:
        status = cls.canonical(value)
        if status is None:
            names = ", ".join(cls._WIRE.values())
            raise CairnError.invalid(f"Invalid logged model status {value!r}; expected {names}.")
        return status

    @classmethod
    def to_wire(cls, status: str) -> str:
        return cls._WIRE.get(status, "LOGGED_MODEL_STATUS_UNSPECIFIED")


class LoggedModelMetric(msgspec.Struct, frozen=True):
    """One metric point linked to a model, with the run and dataset it was measured in."""

    key: str
    value: float
    timestamp: int
    step: int
    run_id: str
    dataset_name: str | None = None
    dataset_digest: str | None = None


class LoggedModelOutput(msgspec.Struct, frozen=True):
    """A run produced ``model_id`` (at ``step``): MLflow's ``runs/outputs``."""

    model_id: str
    step: int = 0


class LoggedModel(msgspec.Struct, frozen=True):
    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str
    model_type: str | None = None
    source_run_id: str | None = None
    status_message: str | None = None
    tags: dict[str, str] = {}
    params: dict[str, str] = {}
    metrics: list[LoggedModelMetric] = []

    @property
    def model_uri(self) -> str:
        """The URI that loads this model: ``models:/<model_id>``."""
        return f"models:/{self.model_id}"
