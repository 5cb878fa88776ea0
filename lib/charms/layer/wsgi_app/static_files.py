"""A release's static files, served by the unit itself through WhiteNoise.

A release's ``static`` (:attr:`~.releases.Release.static`) lists its mounts: a URL
prefix and a directory inside the release directory. gunicorn.conf.py serves a release
that has mounts through the charm's wrapper (``files/wsgi_app_static.py``, installed
next to the uvicorn worker), which wraps the app's WSGI callable in WhiteNoise; the
venv of such an app gets :data:`~.python_env.STATIC_PACKAGES`.

Mounts are made at build time (:func:`add_mount`): the source directory (one the
``static_paths`` option names in the repository, or the files a Django project
collected) is copied by the application user, confined like every build step, into
``<release>/static/<n>/`` without following a symlink out of its tree; whitenoise's own
compressor writes gzip and brotli variants beside each file; the finished directory is
then frozen root-owned, like a venv, so the running app cannot change what it serves.
Root itself only reads the exported repository (root's) and walks the copy without
following links.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from . import asgi, django, ownership, releases, validate
from .commands import CommandFailed
from .confined import Sandbox
from .errors import DeployError
from .releases import Release

if TYPE_CHECKING:
    from .state import WsgiState

# the wrapper gunicorn imports, in asgi.WORKER_MODULE_DIR beside the uvicorn worker
WRAPPER_MODULE = "wsgi_app_static.py"
MOUNTS_DIR = "static"  # <release>/static/<n>/: the mounts' copies
PUBLISH_TIMEOUT = 600
# What one mount's copy may hold: symlinks inside the repository may name the same
# directory or file many times over (each level doubling the copy), and the copy is
# written to the machine's disk.
MAX_MOUNT_ENTRIES = 100_000
MAX_MOUNT_BYTES = 2 << 30
# Run by the app's venv python as the app user, confined: copy argv[2] (inside the tree
# argv[1]) into argv[3], following symlinks only to files and directories inside the tree
# (a loop or a link leaving it ends the step, naming it), leaving out hidden names and
# anything but files and directories, at most argv[5] entries and argv[6] bytes; then
# compress the copy with whitenoise's compressor.
PUBLISH = """\
import os, runpy, shutil, sys
tree, source, target = (os.path.realpath(path) for path in sys.argv[1:4])
limits, used = {'entries': int(sys.argv[5]), 'bytes': int(sys.argv[6])}, {'entries': 0, 'bytes': 0}
def spend(kind, amount):
    used[kind] += amount
    if used[kind] > limits[kind]:
        shown = os.path.relpath(source, tree)
        sys.exit(f'{shown} holds more than {limits[kind]} {kind}, counting each symlink followed')
def inside(path):
    return path == tree or path.startswith(tree + os.sep)
def copy(directory, into, parents):
    for entry in sorted(os.scandir(directory), key=lambda entry: entry.name):
        if entry.name.startswith('.'):
            continue
        path, shown = entry.path, os.path.relpath(entry.path, tree)
        if entry.is_symlink():
            path = os.path.realpath(path)
            if not inside(path):
                sys.exit(f'{shown} is a symlink leading out of {sys.argv[4]}')
        if os.path.isdir(path):
            if path in parents:
                sys.exit(f'{shown} is a symlink to a directory containing it')
            spend('entries', 1)
            os.mkdir(os.path.join(into, entry.name))
            copy(path, os.path.join(into, entry.name), parents | {path})
        elif os.path.isfile(path):
            spend('entries', 1)
            spend('bytes', os.path.getsize(path))
            shutil.copyfile(path, os.path.join(into, entry.name))
if not inside(source) or not os.path.isdir(source):
    sys.exit(f'{sys.argv[2]} is not a directory inside {sys.argv[4]}')
copy(source, target, frozenset({source}))
sys.argv = ['whitenoise.compress', '--quiet', target]
runpy.run_module('whitenoise.compress', run_name='__main__')
"""


def refuse_asgi(release: Release, prefixes: list[str]) -> None:
    """Raise :class:`DeployError` when an ASGI release would have static mounts at
    ``prefixes``: WhiteNoise speaks WSGI only, and a mount the unit silently did not serve
    would answer the app's 404s."""
    if prefixes and release.worker_class not in asgi.WSGI_ONLY:
        raise DeployError(
            f"static files ({' '.join(prefixes)}) are served for WSGI applications only, and "
            f"{release.wsgi_app} is an ASGI application: serve them from the app (Starlette's "
            "StaticFiles) and unset static_paths"
        )


def wanted(state: WsgiState, app_dir: Path) -> bool:
    """Whether the release built from ``app_dir`` will have static mounts, so its venv
    needs :data:`~.python_env.STATIC_PACKAGES` (decided before the venv is built: the
    mounts are made with the venv's compressor). The ``static_paths`` option and a Django
    project's collected files (django) are the sources of mounts."""
    config = state.config
    if config.static_paths:
        return True
    configured = config.environment.get("DJANGO_SETTINGS_MODULE", "")
    return config.django_collectstatic and django.find_project(app_dir, None, configured) is not None


def build_mounts(state: WsgiState, release: Release, directory: Path) -> Release:
    """``release`` (in ``directory``) with a mount for each ``static_paths`` entry; raises
    :class:`DeployError` naming a directory the repository does not have."""
    mounts = state.config.static_paths
    refuse_asgi(release, [prefix for prefix, _ in mounts])
    app_dir = directory / "app"
    for prefix, relative in mounts:
        source = repository_directory(app_dir, relative)
        release = add_mount(state, release, directory, prefix, source, tree=app_dir)
    return release


def repository_directory(app_dir: Path, relative: str) -> Path:
    """``app_dir/relative``, which must be a directory inside the exported repository
    (``app_dir`` is root's, so root may resolve links in it: the app user cannot change
    them); :class:`DeployError` otherwise."""
    path = app_dir / relative
    real, tree = os.path.realpath(path), os.path.realpath(app_dir)
    if not os.path.lexists(path):
        raise DeployError(f"static_paths: {relative} is not in the repository")
    if not (real == tree or real.startswith(tree + os.sep)):
        raise DeployError(f"static_paths: {relative} leads out of the repository (a symlink)")
    if not os.path.isdir(real):
        raise DeployError(f"static_paths: {relative} is not a directory")
    return path


def add_mount(
    state: WsgiState,
    release: Release,
    directory: Path,
    prefix: str,
    source: Path,
    tree: Path | None = None,
) -> Release:
    """``release`` (in ``directory``) serving a copy of ``source`` at ``prefix``: copied
    by the app user into ``<directory>/static/<n>/`` following no symlink out of ``tree``
    (default: the release directory), compressed, frozen root-owned; release.json is
    written. Raises :class:`DeployError` (also for an ASGI release, or a ``prefix`` that is
    not a plain URL path starting and ending with "/": it may come from the app's settings)."""
    if not validate.is_url_prefix(prefix):
        raise DeployError(f"static files: {prefix[:80]!r} is not a URL path starting and ending with '/'")
    refuse_asgi(release, [prefix])
    confined = Sandbox.for_state(state)
    uid, gid = confined.account.ids
    mounts_dir = directory / MOUNTS_DIR
    ownership.ensure_dir(mounts_dir, 0, gid, ownership.ROOT_MODE)
    target = mounts_dir / str(len(release.static))
    ownership.new_app_dir(target, uid, gid)
    tree = tree or directory
    python = str(Path(release.venv) / "bin" / "python")
    shown = "the repository" if tree != directory else "the release"
    try:
        confined.run(
            "copy static files",
            [
                *(python, "-c", PUBLISH, str(tree), str(source), str(target), shown),
                *(str(MAX_MOUNT_ENTRIES), str(MAX_MOUNT_BYTES)),
            ],
            cwd=directory,
            writable=(target,),
            env={"PATH": f"{Path(release.venv) / 'bin'}:/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
            timeout=PUBLISH_TIMEOUT,
        )
    except CommandFailed as error:
        ownership.remove(target)
        raise DeployError(f"static files at {prefix}: {error.what}: {error.tail(1)}") from None
    ownership.freeze(target, uid)
    release = replace(release, static=(*release.static, (prefix, str(target))))
    releases.write(directory, release)
    return release
