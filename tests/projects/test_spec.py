"""The MLproject file: entry points, typed parameters, safe command lines."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from cairn.errors import CairnError
from cairn.projects.spec import load_project


def write_project(directory: Path, mlproject: str, **files: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "MLproject").write_text(mlproject)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def test_reads_entry_points_parameters_and_defaults(basic_project: Path) -> None:
    project = load_project(basic_project)
    assert project.name == "basic"
    assert {"main", "echo", "fail", "wait", "pipeline", "version"} <= set(project.entry_points)
    main = project.entry_point("main")
    assert main.parameters["alpha"].type == "float"
    assert main.parameters["alpha"].default == "0.5"
    assert main.parameters["epochs"].type == "int"
    declared, extra = main.resolve_parameters({"epochs": 7}, project_dir=basic_project)
    assert declared == {"alpha": "0.5", "epochs": "7"}
    assert extra == {}
    assert main.command_line(declared, extra) == "python train.py --alpha 0.5 --epochs 7"


def test_values_are_quoted_so_no_parameter_becomes_a_second_command(
    basic_project: Path, tmp_path: Path
) -> None:
    point = load_project(basic_project).entry_point("echo")
    hostile = "a; touch pwned $(touch pwned2) `touch pwned3` 'q\" \n"
    declared, extra = point.resolve_parameters(
        {"message": hostile, "tail": "x y"},
        project_dir=basic_project,
    )
    command = point.command_line(declared, extra)
    words = shlex.split(command)
    assert words[2] == hostile
    assert words[-2:] == ["--tail", "x y"]
    # Run it through a real shell: the argv arrives intact and nothing else ran.
    done = subprocess.run(
        ["bash", "-c", command.replace("python echo.py", "printf '%s\\n'")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert hostile in done.stdout
    assert not any((tmp_path / name).exists() for name in ("pwned", "pwned2", "pwned3"))


def test_parameter_types_are_checked(basic_project: Path) -> None:
    main = load_project(basic_project).entry_point("main")
    with pytest.raises(CairnError, match=r"'alpha' of entry point 'main' must be a number"):
        main.resolve_parameters({"alpha": "abc"})
    with pytest.raises(CairnError, match=r"'epochs' .* must be an integer"):
        main.resolve_parameters({"epochs": "2.5"})
    declared, _ = main.resolve_parameters({"alpha": "1e-3", "epochs": " 4 "})
    assert declared == {"alpha": "1e-3", "epochs": "4"}


def test_missing_required_parameter_names_it(basic_project: Path) -> None:
    point = load_project(basic_project).entry_point("wait")
    with pytest.raises(CairnError, match=r"needs parameter\(s\) 'marker'.*-P marker="):
        point.resolve_parameters({})


def test_path_parameters_become_absolute(basic_project: Path, tmp_path: Path) -> None:
    point = load_project(basic_project).entry_point("echo")
    declared, _ = point.resolve_parameters(
        {"message": "m"}, base_dir=tmp_path, project_dir=basic_project
    )
    assert declared["data"] == str(basic_project / "data.txt")  # a default: the project's file
    declared, _ = point.resolve_parameters(
        {"message": "m", "data": "in/x.csv"}, base_dir=tmp_path, project_dir=basic_project
    )
    assert declared["data"] == str(tmp_path / "in" / "x.csv")  # given: where the user is
    declared, _ = point.resolve_parameters(
        {"message": "m", "data": "s3://bucket/x.csv"}, project_dir=basic_project
    )
    assert declared["data"] == "s3://bucket/x.csv"


def test_unknown_entry_point_lists_the_choices(basic_project: Path) -> None:
    with pytest.raises(CairnError, match=r"no entry point 'nope'.*echo, fail, main"):
        load_project(basic_project).entry_point("nope")


def test_scripts_run_by_convention(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print('hi')\n")
    (tmp_path / "prep.sh").write_text("echo hi\n")
    project = load_project(tmp_path)
    assert not project.has_mlproject
    point = project.entry_point("train.py")
    declared, extra = point.resolve_parameters({"alpha": 0.5, "flag": True})
    assert point.command_line(declared, extra) == "python train.py --alpha 0.5 --flag true"
    assert project.entry_point("prep.sh").command == "bash prep.sh"
    with pytest.raises(CairnError, match=r"no MLproject file.*prep.sh, train.py"):
        project.entry_point("main")
    with pytest.raises(CairnError, match="no entry point"):
        project.entry_point("../escape.py")


@pytest.mark.parametrize(
    ("mlproject", "message"),
    [
        ("name: [unclosed", "not valid YAML"),
        ("- a list", "must be a mapping"),
        ("entry_points:\n  main:\n    parameters: {}\n", "needs a command"),
        (
            "entry_points:\n  main:\n    parameters:\n      a: {type: tensor}\n    command: x",
            "has type 'tensor'",
        ),
        ("entry_points:\n  main:\n    command: python t.py {alpha}\n", r"uses \{alpha\}"),
        ("entry_points:\n  main:\n    command: python t.py {\n", "not a valid template"),
        ("python_env: missing.yaml\nentry_points: {}\n", "not a file inside the project"),
        ("python_env: a.yaml\nconda_env: b.yaml\n", "one environment"),
        ("docker_env: {volumes: [a]}\nentry_points: {}\n", "docker_env needs an image"),
    ],
)
def test_bad_mlproject_files_get_clear_errors(tmp_path: Path, mlproject: str, message: str) -> None:
    write_project(tmp_path / "p", mlproject)
    with pytest.raises(CairnError, match=message):
        load_project(tmp_path / "p").entry_point("main")


def test_shorthand_types_and_aliases(tmp_path: Path) -> None:
    write_project(
        tmp_path / "p",
        "entry_points:\n"
        "  main:\n"
        "    parameters:\n"
        "      a: double\n"
        "      b: {type: integer, default: 3}\n"
        "      c:\n"
        "    command: run {a} {b} {c}\n",
    )
    point = load_project(tmp_path / "p").entry_point("main")
    assert [p.type for p in point.parameters.values()] == ["float", "int", "string"]
    declared, _ = point.resolve_parameters({"a": 1, "c": ""})
    assert point.command_line(declared, {}) == "run 1 3 ''"


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CairnError, match="does not exist"):
        load_project(tmp_path / "nowhere")
