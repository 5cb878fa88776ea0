"""Which files of a repository decide how its requirements are installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from charms.layer.wsgi_app import lockfiles
from charms.layer.wsgi_app.lockfiles import Kind
from charms.layer.wsgi_app.python_version import PythonVersionError
from charms.layer.wsgi_app.repo_files import RepoFileError

LOCK_APPS = Path(__file__).resolve().parents[1] / "e2e" / "lock_apps"
UV_LOCK = (LOCK_APPS / "uvapp" / "uv.lock").read_text()
POETRY_LOCK = (LOCK_APPS / "poetryapp" / "poetry.lock").read_text()
HASHED = (LOCK_APPS / "hashedapp" / "requirements.txt").read_text()
PACKAGED = "[project]\nname='x'\nversion='1'\n[build-system]\nrequires=['hatchling']\n"
POETRY_VIRTUAL = "[tool.poetry]\nname='x'\npackage-mode=false\n[build-system]\nrequires=['poetry-core']\n"


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


@pytest.mark.parametrize(
    ("files", "kind", "per_release", "installs_project"),
    [
        ({"uv.lock": UV_LOCK, "pyproject.toml": "[project]\nname='x'\n"}, Kind.UV_LOCK, False, False),
        (  # a packaged uv project is built into the venv: its code is the release's
            {"uv.lock": UV_LOCK.replace("virtual =", "editable ="), "pyproject.toml": PACKAGED},
            Kind.UV_LOCK,
            True,
            False,  # uv sync installs it itself
        ),
        ({"poetry.lock": POETRY_LOCK, "pyproject.toml": POETRY_VIRTUAL}, Kind.POETRY_LOCK, False, False),
        ({"poetry.lock": POETRY_LOCK, "pyproject.toml": PACKAGED}, Kind.POETRY_LOCK, True, True),
        (
            {"poetry.lock": POETRY_LOCK + '[[package]]\nname="lib"\n[package.source]\ntype="directory"\n'},
            Kind.POETRY_LOCK,
            True,
            False,
        ),
        (
            {"uv.lock": UV_LOCK, "poetry.lock": POETRY_LOCK, "requirements.txt": "x\n"},
            Kind.UV_LOCK,
            False,
            False,
        ),
        ({"poetry.lock": POETRY_LOCK, "requirements.txt": HASHED}, Kind.POETRY_LOCK, False, False),
        ({"requirements.txt": HASHED, "pyproject.toml": PACKAGED}, Kind.HASHED_REQUIREMENTS, False, False),
        ({"requirements.txt": "six==1.16.0 --hash=sha256:00\n"}, Kind.HASHED_REQUIREMENTS, False, False),
        ({"requirements.txt": "flask\n# one day --hash=sha256:00\n"}, Kind.REQUIREMENTS, False, False),
        ({"requirements.txt": "flask\n", "pyproject.toml": PACKAGED}, Kind.REQUIREMENTS, False, False),
        ({"requirements.txt": "-rbase.txt\n", "base.txt": "flask\n"}, Kind.REQUIREMENTS, True, False),
        ({"requirements.txt": "flask\n--constraint c.txt\n"}, Kind.REQUIREMENTS, True, False),
        ({"requirements.txt": "-e .\n"}, Kind.REQUIREMENTS, True, False),
        ({"requirements.txt": "./libs/shared\n"}, Kind.REQUIREMENTS, True, False),
        ({"requirements.txt": "lib @ file:///srv/x\n"}, Kind.REQUIREMENTS, True, False),
        ({"requirements.txt": HASHED + "-r more.txt\n"}, Kind.HASHED_REQUIREMENTS, True, False),
        (
            {"requirements.txt": "flask  # -r not.txt\n--index-url https://x/simple\n"},
            Kind.REQUIREMENTS,
            False,
            False,
        ),
        ({"pyproject.toml": PACKAGED}, Kind.PROJECT, True, True),
        ({"setup.py": "from setuptools import setup\nsetup()\n"}, Kind.PROJECT, True, True),
        ({"app.py": "app = None\n"}, Kind.NONE, False, False),
    ],
    ids=[
        "uv-virtual",
        "uv-packaged",
        "poetry-virtual",
        "poetry-packaged",
        "poetry-path-dependency",
        "uv-lock-first",
        "poetry-before-requirements",
        "hashed",
        "hashed-inline",
        "hash-in-a-comment",
        "requirements",
        "requirements-include",
        "requirements-constraint",
        "requirements-editable",
        "requirements-local-path",
        "requirements-file-url",
        "hashed-include",
        "requirements-no-reference",
        "pyproject",
        "setup-py",
        "nothing",
    ],
)
def test_the_files_decide_how_the_app_is_installed(
    tmp_path: Path, files: dict[str, str], kind: Kind, per_release: bool, installs_project: bool
) -> None:
    found = lockfiles.read(write(tmp_path, files))
    assert (found.kind, found.per_release, found.installs_project) == (kind, per_release, installs_project)
    assert found.kind.locked is (kind in (Kind.UV_LOCK, Kind.POETRY_LOCK, Kind.HASHED_REQUIREMENTS))


def test_every_file_that_names_a_python_is_read(tmp_path: Path) -> None:
    found = lockfiles.read(
        write(
            tmp_path,
            {
                "pyproject.toml": "[project]\nrequires-python='>=3.9'\n",
                "uv.lock": UV_LOCK,
                ".python-version": "3.11\n",
                "runtime.txt": "python-3.11.4\n",
            },
        )
    )
    assert [(r.origin, r.text) for r in found.python] == [
        ("pyproject.toml", ">=3.9"),
        (".python-version", "3.11"),
        ("runtime.txt", "3.11.4"),
        ("uv.lock", ">=3.10"),
    ]


@pytest.mark.parametrize(
    ("files", "error", "words"),
    [
        ({"uv.lock": "version = 1\n[[package]\n"}, RepoFileError, "uv.lock is not valid TOML"),
        ({"poetry.lock": "\x00"}, RepoFileError, "poetry.lock is not valid TOML"),
        ({"pyproject.toml": "[project\n", "requirements.txt": "flask\n"}, RepoFileError, "pyproject.toml"),
        ({"uv.lock": "requires-python = 3\n"}, PythonVersionError, "uv.lock: the Python requirement"),
        ({".python-version": "latest\n", "requirements.txt": "flask\n"}, PythonVersionError, "'latest'"),
    ],
    ids=["uv-lock", "poetry-lock", "pyproject", "requires-python-type", "series"],
)
def test_hostile_files_are_clear_errors(tmp_path: Path, files: dict[str, str], error, words: str) -> None:
    with pytest.raises(error) as raised:
        lockfiles.read(write(tmp_path, files))
    assert words in str(raised.value)


def test_shapes_the_tools_never_write_are_read_as_far_as_they_make_sense(tmp_path: Path) -> None:
    files = {"uv.lock": "package = 'x'\n", "pyproject.toml": "[tool]\npoetry = 3\n"}
    odd = lockfiles.read(write(tmp_path, files))
    assert (odd.kind, odd.per_release, odd.python) == (Kind.UV_LOCK, False, ())
    (tmp_path / "uv.lock").write_text("package = [1, {source = 2}, {source = {path = 'x.whl'}}]\n")
    assert lockfiles.read(tmp_path).per_release  # a local archive is the release's code
