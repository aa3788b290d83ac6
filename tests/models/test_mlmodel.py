"""The MLmodel file: MLflow's field names, round trips, unknown fields kept, clear errors."""

from __future__ import annotations

import pytest
import yaml

from cairn.errors import CairnError
from cairn.models.mlmodel import MLFLOW_VERSION, Model


def test_round_trip_keeps_every_field(tmp_path) -> None:
    model = Model(artifact_path="model", run_id="r1", model_id="m-1", model_size_bytes=12)
    model.add_flavor("python_function", loader_module="mlflow.sklearn", model_path="model.skops")
    model.add_flavor("sklearn", pickled_model="model.skops", serialization_format="skops")
    model.saved_input_example_info = {"artifact_path": "input_example.json", "type": "ndarray"}
    model.metadata = {"team": "a"}
    model.save(tmp_path)

    raw = yaml.safe_load((tmp_path / "MLmodel").read_text())
    assert raw["mlflow_version"] == MLFLOW_VERSION
    assert raw["cairn_version"]
    assert raw["model_uuid"] == model.model_uuid and len(model.model_uuid) == 32
    assert {"artifact_path", "flavors", "model_id", "run_id", "utc_time_created"} <= set(raw)

    loaded = Model.load(tmp_path)
    assert loaded.to_dict() == model.to_dict()


def test_fields_cairn_does_not_know_survive_a_re_save(tmp_path) -> None:
    (tmp_path / "MLmodel").write_text(
        "flavors: {}\nprompts: null\nis_signature_from_type_hint: false\nnew_field: [1, 2]\n"
    )
    Model.load(tmp_path).save(tmp_path)
    raw = yaml.safe_load((tmp_path / "MLmodel").read_text())
    assert raw["new_field"] == [1, 2] and "prompts" in raw


def test_missing_or_broken_mlmodel_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(CairnError, match="No MLmodel file"):
        Model.load(tmp_path)
    (tmp_path / "MLmodel").write_text("flavors: [unclosed")
    with pytest.raises(CairnError, match="not valid YAML"):
        Model.load(tmp_path)
    (tmp_path / "MLmodel").write_text("- a list\n")
    with pytest.raises(CairnError, match="mapping"):
        Model.load(tmp_path)


def test_missing_flavor_names_the_ones_there() -> None:
    model = Model().add_flavor("sklearn")
    with pytest.raises(CairnError, match=r"no 'pytorch' flavor \(it has: sklearn\)"):
        model.flavor("pytorch")
