"""Who owns each part of the application's tree, and how root touches it safely.

Root writes the tree (``/srv/<app>``, ``releases/``, every release, ``venvs/``,
``.ssh``) and keeps it root-owned, readable by the application's group. The application
user owns only what it must write: its data, its pip cache, the git mirror its fetches
update, and a build's scratch directories while a sandboxed build step runs. Root never
writes, chowns or chmods through a path inside those: directories are opened with
``O_NOFOLLOW`` and changed through the descriptor, trees are walked without following
links, and :func:`shutil.rmtree` (which does not follow links) removes them.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

ROOT_MODE = 0o750  # root:<app group>: the application reads, only root writes
APP_MODE = 0o750  # <app>:<app group>: the application's own directories


class TreeError(RuntimeError):
    """A path the charm manages is not what it made (a symlink, a file, a loop); ``str()``
    is a status message."""


@contextmanager
def opened_dir(path: Path) -> Iterator[int]:
    """A descriptor of the directory ``path`` itself, never of what a symlink there names."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        raise TreeError(f"{path} is not a directory the charm made ({error.strerror}): remove it") from None
    try:
        yield fd
    finally:
        os.close(fd)


def ensure_dir(path: Path, uid: int, gid: int, mode: int) -> None:
    """``path`` exists as a real directory owned by ``uid:gid`` with ``mode``.

    Its parent must be root-owned (so nobody else can swap ``path`` between the checks);
    a symlink or a file in its place raises :class:`TreeError`.
    """
    with suppress(FileExistsError):
        os.mkdir(path, 0o700)
    with opened_dir(path) as fd:
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)


def new_app_dir(path: Path, uid: int, gid: int) -> None:
    """A fresh, empty directory for the application user to write, in a root-owned parent."""
    if os.path.lexists(path):
        remove(path)
    ensure_dir(path, uid, gid, APP_MODE)


def remove(path: Path) -> None:
    """Remove ``path`` (a tree, a file or a link) without following any link in it."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        Path(path).unlink(missing_ok=True)


def hand_over(tree: Path, uid: int, gid: int) -> None:
    """Give a tree only root has written so far to ``uid:gid``. The walk is bottom-up: a
    directory's entries change owner while the directory is still root's, so the new
    owner cannot swap one of them for a link before the walk has passed."""
    with opened_dir(tree) as top:
        for _, dirs, files, dir_fd in os.fwalk(dir_fd=top, topdown=False, follow_symlinks=False):
            for name in (*dirs, *files):
                os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
        os.fchown(top, uid, gid)


def freeze(tree: Path, uid: int) -> None:
    """Make root the owner of what ``uid`` made in ``tree`` (the group stays, so the
    application still reads it), taking away group and other write and the set-id and
    sticky bits (the app user may have set them before handing the tree over). Links are
    never followed; entries ``uid`` does not own (hard links to someone else's files) are
    left alone."""
    with opened_dir(tree) as top:
        for _, dirs, files, dir_fd in os.fwalk(dir_fd=top, topdown=False, follow_symlinks=False):
            for name in (*dirs, *files):
                _take_back(name, dir_fd, uid)
        _take_back_fd(top, uid)


# what a frozen file or directory may not keep: writable by the app's group (or anyone),
# set-user/group-id, sticky
_LOOSE = stat.S_IWGRP | stat.S_IWOTH | stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX


def _take_back(name: str, dir_fd: int, uid: int) -> None:
    """Freeze one entry of a directory: a file or directory through a descriptor of the
    entry itself (opened without following a link), anything else by name, unfollowed."""
    try:
        fd = os.open(
            name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC, dir_fd=dir_fd
        )
    except OSError:  # a symlink (ELOOP), a socket (ENXIO)...: only its owner changes
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if info.st_uid == uid:
            os.chown(name, 0, -1, dir_fd=dir_fd, follow_symlinks=False)
        return
    try:
        _take_back_fd(fd, uid)
    finally:
        os.close(fd)


def _take_back_fd(fd: int, uid: int) -> None:
    """Root's, without :data:`_LOOSE` bits, if ``uid`` owns what ``fd`` is open on."""
    info = os.fstat(fd)
    if info.st_uid != uid:
        return
    os.fchown(fd, 0, -1)
    if stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode):
        os.fchmod(fd, stat.S_IMODE(info.st_mode) & ~_LOOSE)


def read_text(path: Path, limit: int = 1 << 20) -> str:
    """A small regular file's text, refusing a symlink or anything that is not a file."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit).decode()
    finally:
        os.close(fd)
