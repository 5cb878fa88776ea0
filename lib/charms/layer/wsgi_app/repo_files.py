"""Reading the files of an application's repository as root, which must not trust them.

A release's ``app/`` is root's (exported from git), but what it holds is the repository's:
a name may be a symlink to ``/etc/shadow`` or to another file of the repository, a file
may be huge, not UTF-8, or TOML nested until the parser recurses too deep. Every read
here stays inside the release, is bounded in size, and turns each of those into
:class:`RepoFileError`, whose text is a status message naming the file.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

SMALL = 64 << 10  # .python-version, runtime.txt
MEDIUM = 1 << 20  # pyproject.toml, requirements.txt
LARGE = 16 << 20  # lock files of big projects run to a few MB


class RepoFileError(ValueError):
    """A file of the repository cannot be read safely; ``str()`` fits a status."""


def present(app_dir: Path, name: str) -> bool:
    """Whether ``name`` exists in the release (a dangling or escaping link counts: reading
    it then says what is wrong)."""
    return os.path.lexists(app_dir / name)


def read_bytes(app_dir: Path, name: str, limit: int) -> bytes:
    """The content of ``app_dir/name``: a regular file inside ``app_dir`` (through links
    that stay inside it), of at most ``limit`` bytes."""
    real_dir = os.path.realpath(app_dir)
    real = os.path.realpath(app_dir / name)
    if os.path.commonpath([real_dir, real]) != real_dir:
        raise RepoFileError(f"{name} links outside the repository")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as error:
        raise RepoFileError(f"{name}: {error.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RepoFileError(f"{name} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise RepoFileError(f"{name} is larger than {limit >> 10} KiB")
    return data


def read_text(app_dir: Path, name: str, limit: int) -> str:
    """:func:`read_bytes` decoded as UTF-8 (a BOM dropped); not UTF-8 raises :class:`RepoFileError`."""
    try:
        return read_bytes(app_dir, name, limit).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RepoFileError(f"{name} is not UTF-8 text") from None


def read_toml(app_dir: Path, name: str, limit: int) -> dict[str, Any]:
    """``name`` parsed as TOML (parsing runs no code; a nesting deep enough to exhaust
    the parser's recursion is refused like any other error)."""
    text = read_text(app_dir, name, limit)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RepoFileError(f"{name} is not valid TOML: {error}") from None
    except RecursionError:
        raise RepoFileError(f"{name} is not valid TOML: nested too deeply") from None
