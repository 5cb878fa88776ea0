"""Machine setup the application needs once: its user, directories and packages."""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path

from .commands import run
from .paths import Paths

BASE_PACKAGES = ("git", "python3-venv", "ca-certificates")


def ensure_user(paths: Paths) -> None:
    """A system user and group named after the application, home in its root, no login."""
    try:
        pwd.getpwnam(paths.user)
    except KeyError:
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
                f"{paths.name} WSGI application",
                paths.user,
            ],
        )


def ensure_directories(paths: Paths) -> None:
    """The application's tree: owned by its user, closed to everyone else."""
    uid = pwd.getpwnam(paths.user).pw_uid
    gid = grp.getgrnam(paths.user).gr_gid
    for directory in (paths.root, paths.releases, paths.venvs, paths.data, paths.cache):
        directory.mkdir(parents=True, exist_ok=True)
        os.chown(directory, uid, gid)
        directory.chmod(0o750)
    paths.etc.mkdir(parents=True, exist_ok=True)
    os.chown(paths.etc, 0, gid)
    paths.etc.chmod(0o750)


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
