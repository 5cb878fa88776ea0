"""A release's static files, served by the unit itself through WhiteNoise.

A release's ``static`` (:attr:`~.releases.Release.static`) lists its mounts: a URL
prefix and a directory inside the release directory. gunicorn.conf.py serves a release
that has mounts through the charm's wrapper (``files/wsgi_app_static.py``, installed
next to the uvicorn worker), which wraps the app's WSGI callable in WhiteNoise; the
venv of such an app gets :data:`~.python_env.STATIC_PACKAGES`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import asgi, django
from .errors import DeployError
from .releases import Release

if TYPE_CHECKING:
    from .state import WsgiState

# the wrapper gunicorn imports, in asgi.WORKER_MODULE_DIR beside the uvicorn worker
WRAPPER_MODULE = "wsgi_app_static.py"
MAX_MOUNTS = 16
# a URL prefix: "/" or "/a/b/", each part unreserved URL characters (no "%": one spelling)
_PREFIX = re.compile(r"/(?:[A-Za-z0-9._~-]+/)*")
# a directory of the repository: relative, each part a plain name not starting with "."
# (no "..", no hidden directory such as .git)
_DIRECTORY = re.compile(r"[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*(?:/[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*)*")


def parse_static_paths(value: Any) -> tuple[tuple[str, str], ...]:
    """The ``static_paths`` option: ``/url-prefix/=directory`` entries separated by spaces,
    commas or newlines, as (prefix, directory relative to the app tree) pairs; ValueError
    naming the first entry that is not one, or a prefix given twice."""
    entries = str(value or "").replace(",", " ").split()
    if len(entries) > MAX_MOUNTS:
        raise ValueError(f"at most {MAX_MOUNTS} entries")
    mounts = tuple(_mount(entry) for entry in entries)
    prefixes = [prefix for prefix, _ in mounts]
    for prefix in prefixes:
        if prefixes.count(prefix) > 1:
            raise ValueError(f"{prefix} is given twice")
    return mounts


def _mount(entry: str) -> tuple[str, str]:
    prefix, sep, directory = entry.partition("=")
    shown = repr(entry[:80])
    if not sep:
        raise ValueError(f"{shown} is not /url-prefix/=directory")
    if not _PREFIX.fullmatch(prefix) or any(part in (".", "..") for part in prefix.split("/")):
        raise ValueError(f"{shown}: the URL prefix must be a plain path starting and ending with '/'")
    directory = directory.rstrip("/")
    if not _DIRECTORY.fullmatch(directory):
        raise ValueError(
            f"{shown}: the directory must be a path relative to the repository, without '..' "
            "or hidden ('.') parts"
        )
    return prefix, directory


def refuse_asgi(release: Release) -> None:
    """Raise :class:`DeployError` when an ASGI release has static mounts: WhiteNoise speaks
    WSGI only, and a mount the unit silently did not serve would answer the app's 404s."""
    if release.static and release.worker_class not in asgi.WSGI_ONLY:
        prefixes = " ".join(prefix for prefix, _ in release.static)
        raise DeployError(
            f"static files ({prefixes}) are served for WSGI applications only, and {release.wsgi_app} "
            "is an ASGI application: serve them from the app (Starlette's StaticFiles) and unset static_paths"
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
