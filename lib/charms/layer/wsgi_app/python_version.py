"""Which Python the application's repository asks for, and whether this machine has it.

Read (pure, from texts the caller read with :mod:`.repo_files`): ``requires-python`` of
``pyproject.toml`` and of ``uv.lock``, Poetry's ``python`` dependency (``^3.12``,
``>=3.10,<4`` or ``3.11 || 3.12``), ``.python-version`` (uv, pyenv) and Heroku's
``runtime.txt``. A version file names a release series: its major and minor version must
be the machine's, its patch level is not enforced (the machine's Python is what the app
runs on; a patch release keeps its ABI). What cannot be met, or not be read, raises
:class:`PythonVersionError` whose text is a status message naming both versions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

# .python-version / runtime.txt: "3.12", "3.12.1", "python-3.12.1", "cpython@3.12", "cpython-3.12"
_SERIES = re.compile(r"(?:c?python)?[-@]?(\d{1,2})\.(\d{1,3})(?:\.(\d{1,4}))?", re.IGNORECASE)
_OPERATOR = re.compile(r"[<>=!~^*]")
_OPERATOR_SPACE = re.compile(r"(?<=[<>=!~^])\s+")
_SHOWN = 60  # at most this much of a requirement is quoted in a status message


class PythonVersionError(ValueError):
    """The app needs a Python this machine does not have (or says so unreadably)."""


@dataclass(frozen=True)
class Requirement:
    """One statement of which Python the app needs: ``text`` as written, and where."""

    text: str
    origin: str  # "pyproject.toml", "uv.lock", ".python-version"...
    specifier: tuple[SpecifierSet, ...]  # any one of them (poetry's "||") is enough

    def allows(self, version: Version) -> bool:
        """Whether ``version`` meets one of the alternatives (pre-releases count)."""
        return any(spec.contains(version, prereleases=True) for spec in self.specifier)

    def message(self, machine: str) -> str:
        """The blocked status for a machine with Python ``machine``, the text shortened."""
        shown = self.text if len(self.text) <= _SHOWN else self.text[: _SHOWN - 3] + "..."
        return f"app requires Python {shown} ({self.origin}); this machine has {machine}"


def check(requirements: tuple[Requirement, ...], machine: str) -> None:
    """Raise :class:`PythonVersionError` for the first requirement ``machine`` (e.g.
    "3.11.2") does not meet."""
    version = Version(machine)
    for requirement in requirements:
        if not requirement.allows(version):
            raise PythonVersionError(requirement.message(machine))


def from_pep440(text: object, origin: str) -> Requirement:
    """``requires-python`` of pyproject.toml or uv.lock."""
    spec = _text(text, origin)
    try:
        return Requirement(spec, origin, (SpecifierSet(spec),))
    except InvalidSpecifier:
        shown = _quoted(spec)
        raise PythonVersionError(f"{origin}: requires-python {shown} is not a version specifier") from None


def from_poetry(text: object, origin: str) -> Requirement:
    """Poetry's ``python`` dependency: clauses joined by ``||``, each of comma- or
    space-separated constraints (``^3.12``, ``~3.11``, ``>=3.10``, ``3.12.*``)."""
    spec = _text(text, origin)
    clauses = []
    for clause in re.split(r"\|\|?", spec):
        # Poetry allows a space after an operator (">= 3.8, < 4.0"): joined before the split
        parts = [part for part in re.split(r"[,\s]+", _OPERATOR_SPACE.sub("", clause.strip())) if part]
        try:
            clauses.append(SpecifierSet(",".join(_poetry_part(part) for part in parts)))
        except (InvalidSpecifier, InvalidVersion, ValueError):
            shown = _quoted(spec)
            raise PythonVersionError(f"{origin}: python {shown} is not a version constraint") from None
    return Requirement(spec, origin, tuple(clauses))


def from_series_file(text: str, origin: str) -> Requirement | None:
    """``.python-version`` (its first line that is no comment) or ``runtime.txt``; ``None``
    when it names no version (empty, or uv's "system")."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not lines or lines[0].lower() == "system":
        return None
    line = lines[0]
    if _OPERATOR.match(line):
        return from_pep440(line, origin)
    found = _SERIES.fullmatch(line)
    if not found:
        raise PythonVersionError(f"{origin}: {_quoted(line)} is not a Python version")
    major, minor = found.group(1), found.group(2)
    shown = ".".join(part for part in found.groups() if part)
    return Requirement(shown, origin, (SpecifierSet(f"=={major}.{minor}.*"),))


def from_pyproject(pyproject: Mapping[str, Any]) -> tuple[Requirement, ...]:
    """``[project] requires-python`` and Poetry's ``python`` dependency, where present."""
    found = []
    project = pyproject.get("project")
    if isinstance(project, Mapping) and "requires-python" in project:
        found.append(from_pep440(project["requires-python"], "pyproject.toml"))
    poetry = _table(pyproject, "tool", "poetry", "dependencies")
    if "python" in poetry:
        found.append(from_poetry(poetry["python"], "pyproject.toml [tool.poetry.dependencies]"))
    return tuple(found)


def _poetry_part(part: str) -> str:
    """One Poetry constraint as a PEP 440 one."""
    if part == "*":
        return ">=0"
    if part[0] in "^~" and not part.startswith("~="):
        release = Version(part[1:]).release
        upper = _caret_upper(release) if part[0] == "^" else _tilde_upper(release)
        return f">={part[1:]},<{upper}"
    if part[0].isdigit():
        return f"=={part}" if "*" in part or len(Version(part).release) > 2 else f"=={part}.*"
    return part


def _caret_upper(release: tuple[int, ...]) -> str:
    """^1.2.3 <2, ^0.2.3 <0.3, ^0.0.3 <0.0.4: the first non-zero part is bumped."""
    for index, number in enumerate(release):
        if number or index == len(release) - 1:
            return ".".join(str(n) for n in (*release[:index], number + 1))
    return "1"


def _tilde_upper(release: tuple[int, ...]) -> str:
    """~3 <4, ~3.11 <3.12, ~3.11.2 <3.12."""
    if len(release) == 1:
        return str(release[0] + 1)
    return f"{release[0]}.{release[1] + 1}"


def _text(value: object, origin: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PythonVersionError(f"{origin}: the Python requirement is not a string")
    return value.strip()


def _quoted(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "...")


def _table(document: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    """``document[keys[0]][keys[1]]...``, or an empty table where one is missing or not a table."""
    table: Any = document
    for key in keys:
        table = table.get(key) if isinstance(table, Mapping) else None
    return table if isinstance(table, Mapping) else {}
