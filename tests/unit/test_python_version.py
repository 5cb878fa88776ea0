"""Which Python a repository asks for, read from each file that can say it, and checked
against the machine's."""

from __future__ import annotations

import pytest

from charms.layer.wsgi_app import python_version
from charms.layer.wsgi_app.python_version import PythonVersionError, check


@pytest.mark.parametrize(
    ("constraint", "machine", "allowed"),
    [
        ("^3.12", "3.11.2", False),
        ("^3.12", "3.12.0", True),
        ("^3.12", "4.0.0", False),
        ("^3.10", "3.11.2", True),
        ("~3.11", "3.11.9", True),
        ("~3.11", "3.12.0", False),
        ("~3.11.4", "3.11.2", False),
        (">=3.10,<3.12", "3.11.2", True),
        (">=3.8 <3.11", "3.11.2", False),
        ("3.10 || 3.11", "3.11.2", True),
        ("3.9 | 3.10", "3.11.2", False),
        ("3.11.*", "3.11.2", True),
        ("*", "3.11.2", True),
        ("^0.2.3", "0.2.9", True),
        ("^0.2.3", "0.3.0", False),
        ("^0.0.3", "0.0.4", False),
        (">= 3.8, < 4.0", "3.11.2", True),  # Poetry allows a space after the operator
        (">= 3.12, < 4.0", "3.11.2", False),
        ("^ 3.12", "3.11.2", False),
        ("== 3.11.*", "3.11.2", True),
    ],
)
def test_poetry_constraints_as_poetry_means_them(constraint: str, machine: str, allowed: bool) -> None:
    requirement = python_version.from_poetry(constraint, "pyproject.toml")
    assert requirement.allows(python_version.Version(machine)) is allowed


@pytest.mark.parametrize(
    ("text", "machine", "allowed"),
    [
        ("3.12\n", "3.11.2", False),
        ("3.11\n", "3.11.2", True),
        ("3.11.9\n", "3.11.2", True),  # the series is enforced, not the patch level
        ("python-3.11.4", "3.11.2", True),  # Heroku's runtime.txt
        ("python-3.12.1", "3.11.2", False),
        ("cpython@3.10", "3.11.2", False),
        ("# a comment\n3.11\n3.12\n", "3.11.2", True),  # uv: the first version listed
        (">=3.12", "3.11.2", False),
    ],
)
def test_version_files_name_a_series(text: str, machine: str, allowed: bool) -> None:
    requirement = python_version.from_series_file(text, ".python-version")
    assert requirement is not None
    assert requirement.allows(python_version.Version(machine)) is allowed


@pytest.mark.parametrize("text", ["", "\n# nothing\n", "system\n"])
def test_version_files_that_name_no_version_ask_nothing(text: str) -> None:
    assert python_version.from_series_file(text, ".python-version") is None


def test_the_message_names_both_versions_and_the_file() -> None:
    requirement = python_version.from_pep440(">=3.12", "pyproject.toml")
    with pytest.raises(PythonVersionError) as raised:
        check((requirement,), "3.11.2")
    assert str(raised.value) == "app requires Python >=3.12 (pyproject.toml); this machine has 3.11.2"
    check((requirement,), "3.12.0")  # met: no error


def test_pyproject_says_it_in_the_project_table_and_in_poetrys() -> None:
    found = python_version.from_pyproject(
        {"project": {"requires-python": ">=3.9"}, "tool": {"poetry": {"dependencies": {"python": "^3.12"}}}}
    )
    assert [(r.text, r.origin) for r in found] == [
        (">=3.9", "pyproject.toml"),
        ("^3.12", "pyproject.toml [tool.poetry.dependencies]"),
    ]
    assert python_version.from_pyproject({"tool": "not a table", "project": []}) == ()


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: python_version.from_pep440(">=three", "uv.lock"), "uv.lock: requires-python '>=three'"),
        (lambda: python_version.from_pep440(3.12, "pyproject.toml"), "not a string"),
        (lambda: python_version.from_poetry("^x.y", "pyproject.toml"), "is not a version constraint"),
        (lambda: python_version.from_series_file("pypy3.10\n", ".python-version"), "'pypy3.10' is not"),
        (lambda: check((python_version.from_pep440(">=" + "9" * 500, "uv.lock"),), "3.11"), "... (uv.lock)"),
    ],
    ids=["bad-specifier", "not-a-string", "bad-poetry", "unknown-series", "long-text-shortened"],
)
def test_unreadable_requirements_are_clear_errors(call, words: str) -> None:
    with pytest.raises(PythonVersionError) as raised:
        call()
    assert words in str(raised.value) and len(str(raised.value)) < 200
