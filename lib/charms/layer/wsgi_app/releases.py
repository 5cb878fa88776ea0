"""Release directories and the ``current`` symlink.

A release is ``releases/<UTC time>-<short commit>/`` holding ``app/`` (the code),
``venv`` (a symlink to a shared venv) and ``release.json`` (what it is and how to run
it). ``current`` is switched with a rename, which is atomic: gunicorn and systemd see
either the old release or the new one, never a mix.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from . import ownership
from .paths import Paths
from .writes import write_atomically

RELEASE_FILE = "release.json"
RELEASE_ID = re.compile(r"[0-9]{14}-[0-9a-z]{1,12}")  # see new_id


@dataclass(frozen=True)
class Release:
    """One deployed version of the application."""

    id: str
    commit: str
    label: str  # "demo" or the repository name
    version: str  # the short commit, as application-version-set shows it
    wsgi_app: str
    venv: str
    spec: str  # digest of the config that produced it (see build.release_spec)
    created: float
    # the worker class it was checked with (see asgi); "" in releases made before it was kept
    worker_class: str = ""
    # (URL prefix ending in "/", absolute directory inside the release directory) pairs
    # served through WhiteNoise (see static_files); () in releases made before it was kept
    static: tuple[tuple[str, str], ...] = ()
    # settings the release adds to the application's, over them (the Django settings
    # overlay's, see django.release_environment); () in releases made before it was kept
    environment: tuple[tuple[str, str], ...] = ()
    # the release command it was made with (see procfile.release_command); "" for none
    release_command: str = ""
    # its Procfile's process types, (name, command) in the order declared
    processes: tuple[tuple[str, str], ...] = ()

    @property
    def description(self) -> str:
        return f"{self.label} ({self.version})"


def new_id(commit: str, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"{stamp}-{commit.rsplit('-', 1)[-1][:7]}"


def write(directory: Path, release: Release) -> None:
    """Write ``release.json`` and the ``venv`` link into a (root-owned) release directory."""
    text = json.dumps(asdict(release), indent=2) + "\n"
    write_atomically(directory / RELEASE_FILE, text, 0o644, uid=0, gid=0)
    venv_link = directory / "venv"
    if venv_link.is_symlink():
        venv_link.unlink()
    venv_link.symlink_to(release.venv)


def read(directory: Path) -> Release | None:
    """The release in ``directory``; ``None`` when its ``release.json`` is missing, not a
    regular file, or not what :func:`write` writes."""
    try:
        data = json.loads(ownership.read_text(directory / RELEASE_FILE))
        release = Release(**{key: _tuples(value) for key, value in data.items()})
    except (OSError, ValueError, TypeError):
        return None
    if release.id != directory.name or not _well_formed(release):
        return None
    return release


def _tuples(value: Any) -> Any:
    """JSON's lists as the record's tuples."""
    return tuple(_tuples(item) for item in value) if isinstance(value, list) else value


def _well_formed(release: Release) -> bool:
    """Whether every field holds what :func:`write` writes (a record of the app user's
    making could hold anything)."""
    texts = (release.commit, release.label, release.version, release.wsgi_app, release.venv, release.spec)
    return all(isinstance(text, str) for text in (*texts, release.release_command)) and all(
        isinstance(pairs, tuple)
        and all(isinstance(p, tuple) and len(p) == 2 and all(isinstance(t, str) for t in p) for p in pairs)
        for pairs in (release.processes, release.static, release.environment)
    )


def current(paths: Paths) -> Release | None:
    """The release ``current`` points to; ``None`` before the first deploy.

    ``current`` is the charm's: anything but a link to a complete ``releases/<id>`` (a
    link that loops, dangles or leads elsewhere, a damaged ``release.json``) raises
    :class:`~.ownership.TreeError`, and the unit is blocked with the serving slots untouched.
    """
    link = paths.current
    if not os.path.lexists(link):
        return None
    fix = f"the running release keeps serving; remove {link} to deploy again"
    if not link.is_symlink():
        raise ownership.TreeError(f"{link} is not a symlink: {fix}")
    target = PurePosixPath(os.readlink(link))
    if len(target.parts) != 2 or target.parts[0] != "releases" or not RELEASE_ID.fullmatch(target.parts[1]):
        raise ownership.TreeError(f"{link} does not point to releases/<id> ({str(target)[:60]!r}): {fix}")
    directory = paths.releases / target.parts[1]
    if not directory.is_dir() or directory.is_symlink():
        raise ownership.TreeError(f"{link} points to a missing release ({target.parts[1]}): {fix}")
    release = read(directory)
    if release is None:
        raise ownership.TreeError(f"{directory / RELEASE_FILE} is missing or damaged: {fix}")
    return release


def all_releases(paths: Paths) -> list[Release]:
    """Every complete release, oldest first."""
    found = []
    if paths.releases.is_dir():
        for directory in sorted(paths.releases.iterdir()):
            release = read(directory) if RELEASE_ID.fullmatch(directory.name) else None
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
    ownership.remove(paths.releases / release_id)


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
        abandoned = time.time() - directory.lstat().st_mtime > 3600
        if read(directory) is None and not directory.name.startswith(".") and abandoned:
            ownership.remove(directory)
    return kept
