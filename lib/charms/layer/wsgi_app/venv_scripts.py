"""The venv's scripts, pointed at the path the venv is used under.

A venv is built under a temporary name and renamed when complete (:mod:`.python_env`), but
its scripts keep the name they were written under: every console entry point (``celery``,
``flask``, ``rq``...) starts ``#!<venv>/bin/python`` and ``activate`` sets ``VIRTUAL_ENV``.
A Procfile process or scheduled job that runs one by name would find no interpreter. Here
root rewrites them once the venv is frozen (root's, so nobody else writes it): through a
descriptor of the venv's real ``bin`` directory, reading only regular files it owns (links
never followed), writing a new file with the same owner and mode and renaming it over the
old one (a hard link's other names keep what they had). Binaries are left alone.
"""

from __future__ import annotations

import os
import stat
from contextlib import suppress
from pathlib import Path

from . import ownership

LIMIT = 1 << 20  # a script is small; anything larger is left alone


def retargeted(content: bytes, built_at: Path, used_at: Path) -> bytes | None:
    """``content`` naming ``used_at`` wherever it named ``built_at``; None when it names
    no ``built_at`` or is binary (holds a NUL byte), so nothing is to be written."""
    old = os.fsencode(built_at)
    if old not in content or b"\0" in content:
        return None
    return content.replace(old, os.fsencode(used_at))


def retarget(venv: Path, built_at: Path, owner: int = 0) -> list[str]:
    """Rewrite the scripts in ``venv``'s ``bin`` that name ``built_at`` (the path the venv
    was built under) to name ``venv``; the names rewritten (none the second time). Only
    regular files ``owner`` owns are read. Raises :class:`ownership.TreeError` when
    ``bin`` is not a real directory, ``OSError`` when a script cannot be rewritten."""
    changed = []
    with ownership.opened_dir(venv / "bin") as bin_fd:
        for name in sorted(os.listdir(bin_fd)):
            if _retarget_one(name, bin_fd, built_at, venv, owner):
                changed.append(name)
    return changed


def _retarget_one(name: str, bin_fd: int, built_at: Path, used_at: Path, owner: int) -> bool:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=bin_fd)
    except OSError:  # a link (the venv's python), a socket...: not a script
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != owner or info.st_size > LIMIT:
            return False
        with os.fdopen(fd, "rb", closefd=False) as handle:
            content = retargeted(handle.read(LIMIT + 1), built_at, used_at)
    finally:
        os.close(fd)
    if content is None:
        return False
    _replace(name, bin_fd, content, info)
    return True


def _replace(name: str, bin_fd: int, content: bytes, info: os.stat_result) -> None:
    """A new file ``name`` in ``bin_fd`` holding ``content``, with ``info``'s owner and mode."""
    temporary = f".{name}.retargeted"
    with suppress(FileNotFoundError):
        os.unlink(temporary, dir_fd=bin_fd)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o600, dir_fd=bin_fd)
    try:
        os.fchown(fd, info.st_uid, info.st_gid)
        os.fchmod(fd, stat.S_IMODE(info.st_mode))
        with os.fdopen(fd, "wb", closefd=False) as handle:
            handle.write(content)
        os.replace(temporary, name, src_dir_fd=bin_fd, dst_dir_fd=bin_fd)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=bin_fd)
        raise
    finally:
        os.close(fd)
