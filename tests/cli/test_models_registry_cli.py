"""The registry commands of ``cairn models``: list, describe, versions, register, alias, tag,
stage, rename, delete and history, in tables and JSON, and their errors."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed")
pytest.importorskip("skops", reason="skops is not installed")

from sklearn.linear_model import LogisticRegression

import cairn
import cairn.sklearn
from cairn.cli import main
from cairn.registry.client import RegistryClient
from cli_support import Cli


@pytest.fixture
def logged(cli: Cli) -> list[str]:
    """Two logged models (their models:/<model_id> URIs) in the CLI's store."""
    cairn.set_tracking_uri(cli.tracking_uri)
    uris = []
    for c in (1.0, 2.0):
        model = LogisticRegression(C=c).fit([[0.0], [1.0]], [0, 1])
        with cairn.start_run():
            uris.append(cairn.sklearn.log_model(model, name="clf").model_uri)
    return uris


@pytest.fixture
def churn(cli: Cli, logged: list[str]) -> RegistryClient:
    """'churn' with versions 1 and 2 (the two logged models)."""
    for uri in logged:
        cli("models", "register", uri, "churn")
    return RegistryClient(cli.tracking_uri)


def test_help_lists_every_command(cli: Cli) -> None:
    text = cli("models", "--help").stdout
    for command in (
        "list",
        "describe",
        "versions",
        "register",
        "alias",
        "tag",
        "stage",
        "rename",
        "delete",
        "history",
        "inspect",
        "prepare-env",
    ):
        assert f"  {command} " in text, command


# ----------------------------------------------------------------------------- register


def test_register_creates_the_model_and_a_version(cli: Cli, logged: list[str]) -> None:
    text = cli("models", "register", logged[0], "churn").stdout
    assert f"Registered {logged[0]} as version 1 of 'churn'." in text
    assert "Load it with: models:/churn/1" in text
    data = cli.json("models", "register", logged[1], "churn", "--tag", "team=risk")
    assert data["version"] == 2 and data["name"] == "churn" and data["tags"] == {"team": "risk"}
    assert data["source"] == logged[1] and data["model_id"] == logged[1].split("/")[-1]


def test_register_errors(cli: Cli, logged: list[str]) -> None:
    err = cli.fails("models", "register", "models:/m-00000000000000000000000000000000", "churn")
    assert "m-00000000000000000000000000000000" in err
    err = cli.fails("models", "register", logged[0], "churn", "--tag", "novalue", exit_code=2)
    assert "'novalue' is not KEY=VALUE" in err
    err = cli.fails("models", "register", logged[0], "a/b")
    assert "names cannot contain '/'" in err


# ----------------------------------------------------------------------------- list, describe


def test_list(cli: Cli, churn: RegistryClient) -> None:
    churn.create_registered_model("attrition", description="first line\nsecond line")
    churn.set_registered_model_alias("churn", "champion", 1)
    table = cli("models", "list").stdout
    assert "churn" in table and "@champion -> 1" in table and "first line" in table
    assert "second line" not in table
    data = cli.json("models", "list")
    assert sorted(m["name"] for m in data) == ["attrition", "churn"]
    by_name = {m["name"]: m for m in data}
    assert by_name["churn"]["aliases"] == {"champion": 1}
    assert [v["version"] for v in by_name["churn"]["latest_versions"]] == [2]
    only = cli.json("models", "list", "--filter", "name = 'attrition'")
    assert [m["name"] for m in only] == ["attrition"]
    assert len(cli.json("models", "list", "--max-results", "1")) == 1


def test_list_empty_and_bad_filters(cli: Cli) -> None:
    result = cli("models", "list")
    assert result.stdout == "" and "No registered models found." in result.stderr
    assert cli.json("models", "list") == []
    err = cli.fails("models", "list", "--filter", "name ==")
    assert "Invalid" in err
    cli.fails("models", "list", "--max-results", "0", exit_code=2)


def test_describe_a_model_and_a_version(cli: Cli, churn: RegistryClient) -> None:
    churn.update_registered_model("churn", "predicts churn")
    churn.set_registered_model_tag("churn", "team", "risk")
    churn.set_registered_model_alias("churn", "champion", 2)
    text = cli("models", "describe", "churn").stdout
    for expected in ("predicts churn", "team=risk", "@champion -> 2", "Latest version"):
        assert expected in text, expected
    data = cli.json("models", "describe", "churn")
    assert data["description"] == "predicts churn" and data["tags"] == {"team": "risk"}

    version = cli.json("models", "describe", "churn", "--version", "2")
    assert version["version"] == 2 and version["aliases"] == ["champion"]
    text = cli("models", "describe", "churn", "--version", "2").stdout
    assert "models:/churn/2" in text and "@champion" in text and "READY" in text


def test_describe_errors(cli: Cli, churn: RegistryClient) -> None:
    assert "nope" in cli.fails("models", "describe", "nope")
    err = cli.fails("models", "describe", "churn", "--version", "9")
    assert "churn" in err and "9" in err
    cli.fails("models", "describe", "churn", "--version", "x", exit_code=2)
    err = cli.fails("models", "describe", "models:/m-0123", exit_code=2)
    assert "`cairn models inspect models:/m-0123`" in err


def test_versions(cli: Cli, churn: RegistryClient) -> None:
    data = cli.json("models", "versions", "churn")
    assert [v["version"] for v in data] == [2, 1]
    text = cli("models", "versions", "churn").stdout
    assert text.index(" 2 ") < text.index(" 1 ")
    assert "nope" in cli.fails("models", "versions", "nope")
    churn.create_registered_model("it's")
    assert cli.json("models", "versions", "it's") == []


def test_inspect_a_registered_version(cli: Cli, churn: RegistryClient) -> None:
    churn.set_registered_model_alias("churn", "champion", 1)
    data = cli.json("models", "inspect", "models:/churn@champion")
    assert data["model_id"] == churn.get_model_version("churn", 1).model_id
    err = cli.fails("models", "inspect", "models:/churn@nope")
    assert "registered model 'churn' has no alias 'nope'" in err


# ----------------------------------------------------------------------------- changes


def test_alias_set_move_and_delete(cli: Cli, churn: RegistryClient) -> None:
    out = cli("models", "alias", "churn", "champion", "1").stdout
    assert "@champion of 'churn' -> version 1 (models:/churn@champion)" in out
    cli("models", "alias", "churn", "champion", "2")
    assert churn.get_model_version_by_alias("churn", "champion").version == 2
    assert (
        "Removed alias @champion" in cli("models", "alias", "churn", "champion", "--delete").stdout
    )
    assert churn.get_registered_model("churn").aliases == {}


def test_alias_errors(cli: Cli, churn: RegistryClient) -> None:
    assert "Missing VERSION" in cli.fails("models", "alias", "churn", "a", exit_code=2)
    err = cli.fails("models", "alias", "churn", "a", "1", "--delete", exit_code=2)
    assert "not both" in err
    assert "Invalid model version 'one'" in cli.fails("models", "alias", "churn", "a", "one")
    assert "reserved" in cli.fails("models", "alias", "churn", "latest", "1")
    assert "churn" in cli.fails("models", "alias", "churn", "a", "9")


def test_tag_a_model_and_a_version(cli: Cli, churn: RegistryClient) -> None:
    assert "Set tag team=risk on 'churn'." in cli("models", "tag", "churn", "team", "risk").stdout
    out = cli("models", "tag", "churn", "ok", "yes", "--version", "2").stdout
    assert "Set tag ok=yes on version 2 of 'churn'." in out
    assert churn.get_registered_model("churn").tags == {"team": "risk"}
    assert churn.get_model_version("churn", 2).tags == {"ok": "yes"}
    cli("models", "tag", "churn", "team", "--delete")
    cli("models", "tag", "churn", "ok", "--delete", "--version", "2")
    assert churn.get_registered_model("churn").tags == {}
    assert churn.get_model_version("churn", 2).tags == {}
    assert "Missing VALUE" in cli.fails("models", "tag", "churn", "k", exit_code=2)
    assert "not both" in cli.fails("models", "tag", "churn", "k", "v", "--delete", exit_code=2)
    assert "nope" in cli.fails("models", "tag", "nope", "k", "v")


def test_stage(cli: Cli, churn: RegistryClient) -> None:
    out = cli("models", "stage", "churn", "1", "production").stdout
    assert "Version 1 of 'churn' is now in stage Production." in out
    cli("models", "stage", "churn", "2", "Production", "--archive-existing")
    assert churn.get_model_version("churn", 1).current_stage == "Archived"
    assert "Invalid model version stage 'Live'" in cli.fails(
        "models", "stage", "churn", "2", "Live"
    )
    cli.fails("models", "stage", "churn", "0", "Staging", exit_code=2)


def test_rename(cli: Cli, churn: RegistryClient) -> None:
    out = cli("models", "rename", "churn", "attrition").stdout
    assert "Renamed registered model 'churn' to 'attrition'." in out
    assert [v["version"] for v in cli.json("models", "versions", "attrition")] == [2, 1]
    assert "nope" in cli.fails("models", "rename", "nope", "other")
    churn.create_registered_model("taken")
    assert "taken" in cli.fails("models", "rename", "attrition", "taken")


def test_delete_asks_first(cli: Cli, churn: RegistryClient) -> None:
    refused = cli.runner.invoke(
        main, ["--tracking-uri", cli.tracking_uri, "models", "delete", "churn"], input="n\n"
    )
    assert refused.exit_code == 1 and "Delete registered model 'churn' and all its versions?" in (
        refused.stderr
    )
    assert churn.get_registered_model("churn").name == "churn"

    one = cli.runner.invoke(
        main,
        ["--tracking-uri", cli.tracking_uri, "models", "delete", "churn", "--version", "1"],
        input="y\n",
    )
    assert one.exit_code == 0 and "Deleted version 1 of 'churn'." in one.stdout
    assert [v["version"] for v in cli.json("models", "versions", "churn")] == [2]

    assert "Deleted registered model 'churn' and all its versions." in (
        cli("models", "delete", "churn", "--yes").stdout
    )
    assert "churn" in cli.fails("models", "describe", "churn")


def test_delete_errors(cli: Cli, churn: RegistryClient) -> None:
    assert "nope" in cli.fails("models", "delete", "nope", "--yes")
    err = cli.fails("models", "delete", "churn", "--version", "9", "--yes")
    assert "churn" in err and "9" in err
    assert churn.get_model_version("churn", 1).version == 1


# ----------------------------------------------------------------------------- history


def test_history_shows_who_changed_what(cli: Cli, churn: RegistryClient) -> None:
    cli("models", "stage", "churn", "1", "Staging")
    cli("models", "alias", "churn", "champion", "1")
    table = cli("models", "history", "churn").stdout
    assert "current_stage: None → Staging" in table
    assert "model_version_alias.created" in table and "registered_model.created" in table
    events = cli.json("models", "history", "churn")
    assert events[0]["event"] == "model_version_alias.created"  # newest first
    assert events[-1]["event"] == "registered_model.created"
    assert {e["user_id"] for e in events} == {churn.get_registered_model("churn").user_id}
    only = cli.json("models", "history", "churn", "--version", "1")
    assert only and {e["version"] for e in only} == {1}
    assert len(cli.json("models", "history", "churn", "--max-results", "2")) == 2


def test_history_of_an_unknown_model_is_empty(cli: Cli) -> None:
    result = cli("models", "history", "nope")
    assert "No recorded changes of 'nope'." in result.stderr
    assert cli.json("models", "history", "nope") == []
