"""Heroku's Procfile: the process types of an application, one ``name: command`` a line.

The ``procfile`` option's text replaces the repository's ``Procfile`` (at its root) when it
is set. Blank lines and lines starting with ``#`` are skipped; lines may end in CRLF; a
name is letters, digits, ``_`` and ``-`` (as foreman and honcho read them). What Heroku
would silently skip or pick arbitrarily (a line that is not ``name: command``, a name
given twice, an empty command, control characters, a Procfile that is a symlink or not
UTF-8) raises :class:`ProcfileError`, naming the line, so the operator sees it. ``web:``
may give the entry point (:mod:`.entrypoint`); ``release:`` is the default release
command (:func:`release_command`); the rest are kept for the processes a release runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import repo_files

FILE_NAME = "Procfile"
MAX_BYTES = 64 << 10
MAX_PROCESSES = 64
# release_command's value that turns every default release command off
NO_RELEASE_COMMAND = "none"
DJANGO_RELEASE_COMMAND = "python manage.py migrate --noinput"

_LINE = re.compile(r"(?P<name>[A-Za-z0-9_-]{1,63}):(?P<command>.*)\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a tab is allowed


class ProcfileError(ValueError):
    """The Procfile cannot be read as one; the message names where and why."""


@dataclass(frozen=True)
class Process:
    """One process type: its name and its shell command."""

    name: str
    command: str


@dataclass(frozen=True)
class Procfile:
    """The process types of an application, in the order they are declared."""

    processes: tuple[Process, ...] = ()

    def command(self, name: str) -> str:
        """The command of process type ``name``; ``""`` when there is none."""
        return next((p.command for p in self.processes if p.name == name), "")

    @property
    def web(self) -> str:
        """The ``web:`` command (the entry point may be read from it); ``""`` without one."""
        return self.command("web")

    @property
    def release(self) -> str:
        """The ``release:`` command, the default release command; ``""`` without one."""
        return self.command("release")

    def table(self) -> tuple[tuple[str, str], ...]:
        """(name, command) of every process type, as a release records them."""
        return tuple((p.name, p.command) for p in self.processes)


def parse(text: str, where: str = FILE_NAME) -> Procfile:
    """The process types of Procfile ``text``; raises :class:`ProcfileError`."""
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise ProcfileError(f"{where} is larger than {MAX_BYTES >> 10} KiB")
    processes: list[Process] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = raw.removesuffix("\r").strip()
        if not line or line.startswith("#"):
            continue
        process = _process(line, f"{where} line {number}")
        if process.name in first_line:
            raise ProcfileError(
                f"{where} line {number}: process type {process.name!r} is declared again "
                f"(first on line {first_line[process.name]})"
            )
        first_line[process.name] = number
        processes.append(process)
    if len(processes) > MAX_PROCESSES:
        raise ProcfileError(f"{where} declares more than {MAX_PROCESSES} process types")
    return Procfile(tuple(processes))


def _process(line: str, where: str) -> Process:
    if _CONTROL.search(line):
        raise ProcfileError(f"{where} contains a control character")
    match = _LINE.match(line)
    if match is None:
        raise ProcfileError(f"{where} is not 'name: command' (name: letters, digits, _ and -): {line[:60]!r}")
    command = match.group("command").strip()
    if not command:
        raise ProcfileError(f"{where}: process type {match.group('name')!r} has no command")
    return Process(match.group("name"), command)


def from_option(value: Any) -> Procfile | None:
    """The ``procfile`` option: ``None`` when empty (the repository's Procfile counts),
    else the Procfile it holds, which replaces the repository's; raises ``ValueError``."""
    text = str(value or "")
    if not text.strip():
        return None
    return parse(text, where="procfile")


def load(app_dir: Path, given: Procfile | None) -> Procfile:
    """``given`` (the option's), else the Procfile at the root of the exported source in
    ``app_dir`` (empty when it has none); raises :class:`ProcfileError`. The file is read
    as every repository file is (:mod:`.repo_files`): inside the source, bounded."""
    if given is not None:
        return given
    if not repo_files.present(app_dir, FILE_NAME):
        return Procfile()
    try:
        return parse(repo_files.read_text(app_dir, FILE_NAME, MAX_BYTES))
    except repo_files.RepoFileError as error:
        raise ProcfileError(str(error)) from None


def release_command(option: str, procfile: Procfile, django: bool) -> str:
    """The command run once per release on the leader: ``release_command`` when set
    (``none``: no command at all), else the Procfile's ``release:``, else Django's
    migrations when ``django`` (the source is a project :func:`.django.find_project`
    finds); ``""`` when there is none."""
    if option:
        return "" if option.lower() == NO_RELEASE_COMMAND else option
    if procfile.release:
        return procfile.release
    return DJANGO_RELEASE_COMMAND if django else ""
