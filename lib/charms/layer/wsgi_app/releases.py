"""Release directories and the ``current`` symlink.

A release is ``releases/<UTC time>-<short commit>/`` holding ``app/`` (the code),
``venv`` (a symlink to a shared venv) and ``release.json`` (what it is and how to run
it). ``current`` is switched with a rename, which is atomic: gunicorn and systemd see
either the old release or the new one, never a mix.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .paths import Paths

RELEASE_FILE = "release.json"


@dataclass(frozen=True)
class Release:
    """One deployed version of the application."""

    id: str
    commit: str
    label: str  # "demo" or the repository name
    version: str  # the short commit, as application-version-set shows it
    wsgi_app: str
    venv: str
    spec: str  # digest of the config that produced it (see deploy.release_spec)
    created: float
    # the worker class it was checked with (see asgi); "" in releases made before it was kept
    worker_class: str = ""

    @property
    def description(self) -> str:
        return f"{self.label} ({self.version})"


def new_id(commit: str, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"{stamp}-{commit.rsplit('-', 1)[-1][:7]}"


def write(directory: Path, release: Release) -> None:
    (directory / RELEASE_FILE).write_text(json.dumps(asdict(release), indent=2) + "\n")
    venv_link = directory / "venv"
    if venv_link.is_symlink():
        venv_link.unlink()
    venv_link.symlink_to(release.venv)


def read(directory: Path) -> Release | None:
    try:
        data = json.loads((directory / RELEASE_FILE).read_text())
        return Release(**data)
    except (OSError, ValueError, TypeError):
        return None


def current(paths: Paths) -> Release | None:
    """The release ``current`` points to, if any."""
    if not paths.current.is_symlink():
        return None
    return read(paths.current.resolve())


def all_releases(paths: Paths) -> list[Release]:
    """Every complete release, oldest first."""
    found = []
    if paths.releases.is_dir():
        for directory in sorted(paths.releases.iterdir()):
            release = read(directory)
            if release is not None:
                found.append(release)
    return found


def previous(paths: Paths) -> Release | None:
    """The newest release older than the current one (the rollback target)."""
    now = current(paths)
    older = [r for r in all_releases(paths) if now is None or r.id < now.id]
    return older[-1] if older else None


def switch(paths: Paths, release_id: str) -> None:
    """Point ``current`` at ``releases/<release_id>`` atomically."""
    temporary = paths.root / ".current.new"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(Path("releases") / release_id)
    os.replace(temporary, paths.current)


def remove(paths: Paths, release_id: str) -> None:
    shutil.rmtree(paths.releases / release_id, ignore_errors=True)


def prune(paths: Paths, keep: int) -> list[Release]:
    """Remove all but the newest ``keep`` releases (never the current one); return the kept."""
    releases = all_releases(paths)
    now = current(paths)
    kept = releases[-keep:] if keep > 0 else []
    if now is not None and now.id not in {r.id for r in kept}:
        kept.append(now)
    for release in releases:
        if release.id not in {r.id for r in kept}:
            remove(paths, release.id)
    # leftovers of interrupted deploys: directories without release.json
    for directory in paths.releases.iterdir():
        abandoned = time.time() - directory.stat().st_mtime > 3600
        if read(directory) is None and not directory.name.startswith(".") and abandoned:
            shutil.rmtree(directory, ignore_errors=True)
    return kept
