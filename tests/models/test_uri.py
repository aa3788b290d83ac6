"""``models:/`` URIs: every form MLflow knows, parsed, resolved through the registry on the
embedded SQLite store, and the errors that say what the registered model does have."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed")
pytest.importorskip("skops", reason="skops is not installed")

from sklearn.linear_model import LogisticRegression

import cairn
import cairn.pyfunc
import cairn.sklearn
from cairn.errors import CairnError
from cairn.models.uri import local_model_path, model_artifact_location
from cairn.registry.uri import ParsedModelUri, parse_model_uri

# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        ("models:/churn/3", ParsedModelUri(name="churn", version=3)),
        ("models:churn/3", ParsedModelUri(name="churn", version=3)),
        ("models:/churn@champion", ParsedModelUri(name="churn", alias="champion")),
        ("models:/a@b@c", ParsedModelUri(name="a@b", alias="c")),  # the last @ (MLflow)
        ("models:/churn/latest", ParsedModelUri(name="churn")),
        ("models:/churn/LATEST", ParsedModelUri(name="churn")),
        ("models:/churn/Production", ParsedModelUri(name="churn", stage="Production")),
        ("models:/churn/staging", ParsedModelUri(name="churn", stage="staging")),
        ("models:/m-0123", ParsedModelUri(model_id="m-0123")),
        ("models:/churn", ParsedModelUri(model_id="churn")),  # no suffix: a logged model id
    ],
)
def test_parse_every_form(uri: str, parsed: ParsedModelUri) -> None:
    assert parse_model_uri(uri) == parsed


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("models:/", "expected a name and one suffix"),
        ("models:", "expected a name and one suffix"),
        ("models:/a/b/c", "expected a name and one suffix"),
        ("models:/ /1", "expected a name and one suffix"),
        ("models:/churn/", "after the name is empty"),
        ("models:/churn@champion/1", "an alias and a version"),
        ("models:/churn@", "expected <name>@<alias>"),
        ("models:/@champion", "expected <name>@<alias>"),
        ("runs:/abc/model", "not a models:/ URI"),
    ],
)
def test_malformed_uris_say_which_forms_exist(uri: str, why: str) -> None:
    with pytest.raises(CairnError) as excinfo:
        parse_model_uri(uri)
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    assert why in excinfo.value.message and repr(uri) in excinfo.value.message
    assert "models:/<name>@<alias>" in excinfo.value.message


# ----------------------------------------------------------------------------- resolving


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"x": rng.random(40)})


@pytest.fixture(scope="module")
def fitted(data: pd.DataFrame) -> list[LogisticRegression]:
    up, down = (data.x > 0.5).astype(int), (data.x <= 0.5).astype(int)
    return [LogisticRegression(C=100).fit(data, up), LogisticRegression(C=100).fit(data, down)]


@pytest.fixture
def churn(fitted, data) -> list[str]:
    """'churn' with version 1 (Production, @champion) and version 2 (stage None)."""
    ids = []
    for model in fitted:
        with cairn.start_run():
            info = cairn.sklearn.log_model(model, name="model", input_example=data[:2])
        cairn.register_model(info.model_uri, "churn")
        ids.append(info.model_id)
    client = cairn.RegistryClient()
    client.transition_model_version_stage("churn", 1, "Production")
    client.set_registered_model_alias("churn", "champion", 1)
    return ids


def _predicts(uri: str, model: LogisticRegression, data: pd.DataFrame) -> None:
    np.testing.assert_array_equal(cairn.pyfunc.load_model(uri).predict(data), model.predict(data))


def test_every_form_loads_the_version_it_names(churn, fitted, data) -> None:
    _predicts("models:/churn/1", fitted[0], data)
    _predicts("models:/churn/2", fitted[1], data)
    _predicts("models:/churn@champion", fitted[0], data)
    _predicts("models:/churn/latest", fitted[1], data)  # the newest version in any stage
    _predicts("models:/churn/Production", fitted[0], data)
    _predicts("models:/churn/production", fitted[0], data)  # stages ignore case
    _predicts("models:/churn/None", fitted[1], data)
    _predicts(f"models:/{churn[1]}", fitted[1], data)  # logged model ids still work
    assert cairn.sklearn.load_model("models:/churn@champion").predict(data).tolist() == (
        fitted[0].predict(data).tolist()
    )


def test_the_location_is_the_logged_models(churn) -> None:
    root, path = model_artifact_location("models:/churn@champion")
    assert root == cairn.get_logged_model(churn[0]).artifact_location and path == ""


def test_a_copied_version_follows_its_source(churn, fitted, data) -> None:
    cairn.RegistryClient().copy_model_version("models:/churn/2", "churn-prod")
    _predicts("models:/churn-prod/1", fitted[1], data)
    _predicts("models:/churn-prod/latest", fitted[1], data)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (
            "models:/churn/7",
            "registered model 'churn' has no version 7; latest version 2 "
            "(newest by stage: Production: 1, None: 2); aliases champion -> 1.",
        ),
        ("models:/churn@nope", "registered model 'churn' has no alias 'nope'; latest version 2"),
        ("models:/churn/Staging", "has no version in stage 'Staging'; latest version 2"),
        ("models:/nope/1", "no registered model named 'nope'."),
        ("models:/nope@champion", "no registered model named 'nope'."),
        ("models:/nope/latest", "no registered model named 'nope'."),
    ],
)
def test_missing_versions_say_what_the_model_has(churn, uri: str, message: str) -> None:
    with pytest.raises(CairnError) as excinfo:
        cairn.pyfunc.load_model(uri)
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert excinfo.value.message.startswith(f"Model URI {uri!r}: ")
    assert message in excinfo.value.message


def test_a_model_without_versions_says_so() -> None:
    cairn.RegistryClient().create_registered_model("empty")
    with pytest.raises(CairnError, match=r"registered model 'empty' has no versions\.$"):
        local_model_path("models:/empty/latest")
    with pytest.raises(CairnError, match="'empty' has no version 1; it has no versions; no alias"):
        local_model_path("models:/empty/1")


def test_an_unknown_stage_is_invalid(churn) -> None:
    with pytest.raises(CairnError) as excinfo:
        cairn.pyfunc.load_model("models:/churn/Champion")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "'Champion' is not a version, 'latest' or a stage" in excinfo.value.message


def test_an_unknown_logged_model_id() -> None:
    with pytest.raises(CairnError) as excinfo:
        cairn.pyfunc.load_model("models:/m-00000000000000000000000000000000")
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_bare_name_is_a_logged_model_id_and_the_error_says_how_to_name_a_version(churn) -> None:
    with pytest.raises(CairnError) as excinfo:
        cairn.pyfunc.load_model("models:/churn")
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "models:/churn/<version>, models:/churn@<alias> or models:/churn/latest" in (
        excinfo.value.message
    )
