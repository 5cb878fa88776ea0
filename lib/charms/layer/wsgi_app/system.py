"""Machine setup the application needs once: its user, directories and packages."""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from . import ownership
from .commands import run
from .paths import Paths

BASE_PACKAGES = ("git", "python3-venv", "ca-certificates")
# where systemd finds unit files: a name the charm takes must be in none of them
UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
)


def user_comment(name: str) -> str:
    """The GECOS field of the user the charm creates: how it knows the user is its own."""
    return f"{name} WSGI application"


def _lookup(find: Callable[[str], Any], name: str) -> Any:
    try:
        return find(name)
    except KeyError:
        return None


def name_taken(
    paths: Paths,
    *,
    unit_dirs: tuple[str, ...] = UNIT_DIRS,
    users: Callable[[str], Any] = pwd.getpwnam,
    groups: Callable[[str], Any] = grp.getgrnam,
) -> str:
    """Why the application's name cannot be used on this machine, or "" when it can.

    The charm names a user, a group, /etc/<name>, /srv/<name> and systemd units after the
    application, and as root it chowns and rewrites them: a name that is already the
    machine's (``www-data``, ``ssh``, ``postgres``...) would hand the system's files to
    the application or replace the system's units. A user the charm created (its GECOS
    says so) means the name is this application's from an earlier hook.
    """
    user = _lookup(users, paths.user)
    if user is not None:
        ours = user.pw_gecos.split(",")[0] == user_comment(paths.name)  # adduser appends ",,,"
        return "" if ours else f"the machine has a user {paths.user!r}"
    if _lookup(groups, paths.user) is not None:
        return f"the machine has a group {paths.user!r}"
    for directory in (paths.etc, paths.root):
        if os.path.lexists(directory):
            return f"{directory} exists"
    units = (paths.socket, paths.service_template, paths.check_socket_template, paths.metrics_service)
    for unit in (*units, paths.legacy_service):
        for unit_dir in unit_dirs:
            if os.path.lexists(Path(unit_dir) / unit):
                return f"the machine has a systemd unit {unit}"
    return ""


def foreign_units(
    paths: Paths, units: Iterable[str], unit_dirs: tuple[str, ...] = UNIT_DIRS
) -> tuple[str, ...]:
    """Those of the unit files ``units`` the machine has and the charm did not write for
    this application: the system's, or another application's (a process type ``api`` of
    ``shop`` and an application ``shop-api`` would share ``shop-api@.service``). Root
    writes and removes the application's units: never those. Its own are regular files in
    :attr:`~.Paths.systemd` reading its settings file."""
    ours = f"EnvironmentFile={paths.settings_file}\n"
    directories = (paths.systemd, *(Path(d) for d in unit_dirs if Path(d) != paths.systemd))
    return tuple(
        unit
        for unit in units
        if any(
            os.path.lexists(directory / unit)
            and not (directory == paths.systemd and _reads(directory / unit, ours))
            for directory in directories
        )
    )


def _reads(path: Path, line: str) -> bool:
    """Whether ``path`` is a regular file (not a symlink) holding ``line``."""
    try:
        return path.is_file() and not path.is_symlink() and line in path.read_text(errors="replace")
    except OSError:
        return False


def ensure_user(paths: Paths) -> None:
    """A system user and group named after the application, home in its root, no login."""
    if _lookup(pwd.getpwnam, paths.user) is None:
        run(
            "create the application user",
            [
                "adduser",
                "--system",
                "--group",
                "--home",
                str(paths.root),
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "--gecos",
                user_comment(paths.name),
                paths.user,
            ],
        )


def ensure_directories(paths: Paths) -> None:
    """The application's tree: root's, readable by the application's group, but for the
    directories the application writes (see :mod:`.ownership`).

    A tree made by charm versions that gave all of it to the application is taken back:
    each directory is changed through a descriptor opened without following links, the
    root first, so a link the application left in place of one is refused, not followed.
    """
    uid = pwd.getpwnam(paths.user).pw_uid
    gid = grp.getgrnam(paths.user).gr_gid
    paths.root.parent.mkdir(parents=True, exist_ok=True)
    for directory in (paths.root, paths.releases, paths.venvs, paths.builds):
        ownership.ensure_dir(directory, 0, gid, ownership.ROOT_MODE)
    for directory in (paths.data, paths.cache):
        ownership.ensure_dir(directory, uid, gid, ownership.APP_MODE)
    paths.etc.parent.mkdir(parents=True, exist_ok=True)
    ownership.ensure_dir(paths.etc, 0, gid, ownership.ROOT_MODE)


def missing_packages(packages: tuple[str, ...]) -> list[str]:
    """Which of ``packages`` dpkg does not report as installed."""
    missing = []
    for package in packages:
        status = Path("/var/lib/dpkg/info") / f"{package}.list"
        arch_status = list(Path("/var/lib/dpkg/info").glob(f"{package}:*.list"))
        if not status.exists() and not arch_status:
            missing.append(package)
    return missing


def install_packages(packages: tuple[str, ...]) -> None:
    """apt-get install what is missing (package names were validated by the config parser)."""
    missing = missing_packages(packages)
    if not missing:
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    try:
        run(
            "apt-get install",
            ["apt-get", "install", "-y", "--no-install-recommends", "--", *missing],
            env=env,
            timeout=1200,
        )
    except Exception:
        run("apt-get update", ["apt-get", "update"], env=env, timeout=600)
        run(
            "apt-get install",
            ["apt-get", "install", "-y", "--no-install-recommends", "--", *missing],
            env=env,
            timeout=1200,
        )
