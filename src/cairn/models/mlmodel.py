"""The ``MLmodel`` file: what a model directory holds and how to load it, in MLflow's format.

Field names and layout follow MLflow 3's ``MLmodel`` YAML so a directory saved by cairn loads in
mlflow and the reverse. Fields cairn does not know are kept as they were read, so re-saving a
model written by a newer MLflow loses nothing.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import CairnError
from cairn.version import __version__ as CAIRN_VERSION

if TYPE_CHECKING:
    from cairn.models.signature import ModelSignature

MLMODEL_FILE_NAME = "MLmodel"
# The MLflow release whose model format cairn writes and reads (written as ``mlflow_version``).
MLFLOW_VERSION = "3.17.2"
PYFUNC_FLAVOR = "python_function"


def _yaml() -> tuple[Any, Any, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml, loader, dumper


def dump_yaml(data: Any) -> str:
    yaml, _, dumper = _yaml()
    text: str = yaml.dump(data, Dumper=dumper, default_flow_style=False, sort_keys=True)
    return text


def load_yaml(text: str, source: str) -> Any:
    yaml, loader, _ = _yaml()
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise CairnError.invalid(f"{source} is not valid YAML: {exc}") from exc


@dataclass
class Model:
    """One model's metadata: flavors, signature, input example, provenance.

    ``flavors`` maps a flavor name (``python_function``, ``sklearn`` ...) to its configuration;
    ``signature`` is a :class:`~cairn.models.signature.ModelSignature` (or None).
    """

    artifact_path: str | None = None
    run_id: str | None = None
    model_id: str | None = None
    flavors: dict[str, dict[str, Any]] = field(default_factory=dict)
    signature: ModelSignature | None = None
    saved_input_example_info: dict[str, Any] | None = None
    model_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    utc_time_created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    )
    model_size_bytes: int | None = None
    mlflow_version: str | None = MLFLOW_VERSION
    cairn_version: str | None = CAIRN_VERSION
    metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # fields cairn does not interpret

    # -- building ---------------------------------------------------------------------------

    def add_flavor(self, name: str, **params: Any) -> Model:
        self.flavors[name] = params
        return self

    def flavor(self, name: str) -> dict[str, Any]:
        """The flavor's configuration, or a clear error saying which flavors the model has."""
        conf = self.flavors.get(name)
        if conf is None:
            have = ", ".join(sorted(self.flavors)) or "none"
            raise CairnError.invalid(
                f"The model has no {name!r} flavor (it has: {have}); load it with the flavor it "
                "was saved with, or with cairn.pyfunc.load_model."
            )
        return conf

    # -- (de)serializing -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        data.update(
            {
                "artifact_path": self.artifact_path,
                "flavors": self.flavors,
                "model_uuid": self.model_uuid,
                "model_id": self.model_id,
                "utc_time_created": self.utc_time_created,
                "mlflow_version": self.mlflow_version,
                "cairn_version": self.cairn_version,
            }
        )
        if self.run_id is not None:
            data["run_id"] = self.run_id
        if self.model_size_bytes is not None:
            data["model_size_bytes"] = self.model_size_bytes
        if self.signature is not None:
            data["signature"] = self.signature.to_dict()
        if self.saved_input_example_info is not None:
            data["saved_input_example_info"] = self.saved_input_example_info
        if self.metadata is not None:
            data["metadata"] = self.metadata
        if data["artifact_path"] is None:
            del data["artifact_path"]
        return data

    def to_yaml(self) -> str:
        return dump_yaml(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        if not isinstance(data, dict) or not isinstance(data.get("flavors", {}), dict):
            raise CairnError.invalid("An MLmodel file must be a mapping with a 'flavors' mapping.")
        data = dict(data)
        signature = data.pop("signature", None)
        known = {
            "artifact_path",
            "run_id",
            "model_id",
            "flavors",
            "saved_input_example_info",
            "model_uuid",
            "utc_time_created",
            "model_size_bytes",
            "mlflow_version",
            "cairn_version",
            "metadata",
        }
        kwargs = {k: data.pop(k) for k in list(data) if k in known}
        kwargs.setdefault("flavors", {})
        kwargs.setdefault("mlflow_version", None)
        kwargs.setdefault("cairn_version", None)
        model = cls(**kwargs, extra=data)
        if model.flavors is None:
            model.flavors = {}
        if signature:
            from cairn.models.signature import ModelSignature

            model.signature = ModelSignature.from_dict(signature)
        return model

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the YAML to ``path`` (a model directory or the MLmodel file itself)."""
        target = Path(path)
        if target.is_dir():
            target = target / MLMODEL_FILE_NAME
        target.write_text(self.to_yaml(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read a model directory's MLmodel (``path`` may also name the file itself)."""
        target = Path(path)
        if target.is_dir():
            target = target / MLMODEL_FILE_NAME
        if not target.is_file():
            raise CairnError.not_found(
                f"No MLmodel file at {str(target)!r}: the path is not a saved model directory."
            )
        return cls.from_dict(
            load_yaml(target.read_text(encoding="utf-8"), str(target)) or {"flavors": {}}
        )

    # -- convenience -------------------------------------------------------------------------

    def load_input_example(self, path: str | os.PathLike[str]) -> Any:
        """The input example saved next to this MLmodel (None if there is none)."""
        from cairn.models.input_example import load_input_example

        return load_input_example(path, self.saved_input_example_info)


def directory_size(path: str | os.PathLike[str]) -> int:
    """Bytes of every file under a model directory, as ``model_size_bytes`` reports."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(dirpath, name))
    return total
