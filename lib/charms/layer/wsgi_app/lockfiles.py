"""What an application's repository says to install: a lock file, a requirements file or
the project itself, and which Python it needs (pure: reads the release's files with
:mod:`.repo_files`, runs nothing).

The first of these decides: ``uv.lock`` (uv's lock of a ``pyproject.toml`` project),
``poetry.lock`` (Poetry's), ``requirements.txt`` (with ``--hash`` on any line, every
requirement must then match a hash), a project (``pyproject.toml`` or ``setup.py``),
nothing. Lock files and hashed requirements are the app's exact set: the charm's own
packages are added afterwards without changing it (:mod:`.python_env`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from . import python_version, repo_files
from .python_version import Requirement

PYPROJECT = "pyproject.toml"
REQUIREMENTS = "requirements.txt"
# a requirement line with a hash: pip (and uv) then check every requirement's hash
_HASH_OPTION = re.compile(r"(?:^|\s)--hash[=\s]", re.MULTILINE)
# a requirement line that reads more of the repository: another requirements or
# constraints file, an editable or a local path (a directory, a wheel), a file: URL
_REPO_REFERENCE = re.compile(
    r"^\s*(?:-[rce]|--(?:requirement|constraint|editable)\b|[./]|file:)|@\s*file:", re.MULTILINE
)
# sources of locked packages that are code of the repository itself (not a registry's)
_UV_LOCAL = ("editable", "directory", "path")
_POETRY_LOCAL = ("directory", "file")


class Kind(Enum):
    """How the app's own requirements are installed."""

    UV_LOCK = "uv.lock"
    POETRY_LOCK = "poetry.lock"
    HASHED_REQUIREMENTS = "requirements.txt with hashes"
    REQUIREMENTS = REQUIREMENTS
    PROJECT = "project"
    NONE = "nothing"

    @property
    def locked(self) -> bool:
        """Whether the app's set is exact: the charm's packages must not change it."""
        return self in (Kind.UV_LOCK, Kind.POETRY_LOCK, Kind.HASHED_REQUIREMENTS)


@dataclass(frozen=True)
class AppRequirements:
    """The app's side of a venv."""

    kind: Kind
    files: tuple[str, ...]  # whose content decides the venv
    per_release: bool  # the repository's own code is installed into the venv
    installs_project: bool  # the project is installed (after a lock export, without deps)
    python: tuple[Requirement, ...]  # what it says of the Python it needs


def read(app_dir: Path) -> AppRequirements:
    """What ``app_dir`` asks for; raises :class:`~.repo_files.RepoFileError` or
    :class:`~.python_version.PythonVersionError` (both status messages)."""
    has_pyproject = _has(app_dir, PYPROJECT)
    pyproject = repo_files.read_toml(app_dir, PYPROJECT, repo_files.MEDIUM) if has_pyproject else {}
    python = (*python_version.from_pyproject(pyproject), *_series_files(app_dir))
    packaged = bool(pyproject) and _packaged(pyproject)
    if _has(app_dir, "uv.lock"):
        lock = repo_files.read_toml(app_dir, "uv.lock", repo_files.LARGE)
        if "requires-python" in lock:
            python = (*python, python_version.from_pep440(lock["requires-python"], "uv.lock"))
        local = _local_sources(lock, "source", _UV_LOCAL)
        # uv.toml: uv's settings beside the project's (no-binary, config-settings...) change
        # what it builds from the same lock
        return AppRequirements(Kind.UV_LOCK, ("uv.lock", PYPROJECT, "uv.toml"), local, False, python)
    if _has(app_dir, "poetry.lock"):
        lock = repo_files.read_toml(app_dir, "poetry.lock", repo_files.LARGE)
        local = packaged or _local_sources(lock, "source", _POETRY_LOCAL, key="type")
        return AppRequirements(Kind.POETRY_LOCK, ("poetry.lock", PYPROJECT), local, packaged, python)
    if _has(app_dir, REQUIREMENTS):
        text = _uncommented(repo_files.read_text(app_dir, REQUIREMENTS, repo_files.MEDIUM))
        kind = Kind.HASHED_REQUIREMENTS if _HASH_OPTION.search(text) else Kind.REQUIREMENTS
        # what the file reads besides itself is not in the venv's key: a venv per release
        per_release = bool(_REPO_REFERENCE.search(text))
        return AppRequirements(kind, (REQUIREMENTS,), per_release, False, python)
    if has_pyproject or _has(app_dir, "setup.py"):
        return AppRequirements(Kind.PROJECT, (), True, True, python)
    return AppRequirements(Kind.NONE, (), False, False, python)


def _has(app_dir: Path, name: str) -> bool:
    return repo_files.present(app_dir, name)


def _series_files(app_dir: Path) -> tuple[Requirement, ...]:
    """``.python-version`` and ``runtime.txt``, where present."""
    found = []
    for name in (".python-version", "runtime.txt"):
        if _has(app_dir, name):
            text = repo_files.read_text(app_dir, name, repo_files.SMALL)
            requirement = python_version.from_series_file(text, name)
            if requirement is not None:
                found.append(requirement)
    return tuple(found)


def _packaged(pyproject: Mapping[str, Any]) -> bool:
    """Whether the project is a package its tools install (a build backend, and Poetry's
    ``package-mode`` or uv's ``package`` not switched off)."""
    tool = pyproject.get("tool")
    tool = tool if isinstance(tool, Mapping) else {}
    for name, setting in (("poetry", "package-mode"), ("uv", "package")):
        table = tool.get(name)
        if isinstance(table, Mapping) and table.get(setting) is False:
            return False
    return isinstance(pyproject.get("build-system"), Mapping)


def _local_sources(lock: Mapping[str, Any], field: str, kinds: tuple[str, ...], key: str = "") -> bool:
    """Whether a locked package comes from the repository's own files."""
    packages = lock.get("package")
    for package in packages if isinstance(packages, list) else ():
        source = package.get(field) if isinstance(package, Mapping) else None
        if not isinstance(source, Mapping):
            continue
        if (source.get(key) in kinds) if key else any(kind in source for kind in kinds):
            return True
    return False


def _uncommented(text: str) -> str:
    """Requirement lines without their comments (a ``#`` after whitespace or at the start)."""
    return "\n".join(re.sub(r"(^|\s)#.*", "", line) for line in text.splitlines())
