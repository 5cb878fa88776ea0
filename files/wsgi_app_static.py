"""The release's WSGI callable wrapped in WhiteNoise, which serves its static files.

Installed by the wsgi-app charm in /usr/local/lib/wsgi-app/python. When a release has
static mounts (``"static"`` in its release.json: URL prefix and directory pairs, made
and compressed at build time), gunicorn.conf.py puts that directory on gunicorn's
``pythonpath`` and sets ``wsgi_app`` to ``wsgi_app_static:application('<release dir>')``.

Each worker then imports the release's own entry point exactly as gunicorn would have
(``gunicorn.util.import_app``) and answers requests under a mount from the files scanned
once at start (the directories are root's and never change under a running release):
correct types, ``ETag``/``Last-Modified`` and ``304``, the gzip or brotli variant the
build made when the client accepts it (with ``Vary: Accept-Encoding``). A file whose
name carries a content hash is cached for a year and marked immutable; any other for
:data:`SHORT_MAX_AGE` seconds, so a changed file is picked up soon after a deploy.
Everything else goes to the application.
"""

from __future__ import annotations

import json
import os
import re

from gunicorn.util import import_app
from whitenoise import WhiteNoise

ONE_YEAR = 365 * 24 * 60 * 60
SHORT_MAX_AGE = 60
# A name part of 8 to 64 hex digits, just before the extension(s): Django's manifest names
# (base.6f7c1a2b3d4e.css), webpack's and esbuild's [name].[contenthash].js or
# [name]-[hash].js. A hash is mostly digits and letters mixed; a name part made only of
# letters (a-f: "facade", "deadbeef") is a word, and one made only of digits a date or a
# number ("report-20240101.pdf", replaced under the same name): neither is a hash. Caching
# a changing name for a year is the costly mistake; a rare all-digit hash only gets
# SHORT_MAX_AGE.
HASHED_NAME = re.compile(r"[.-](?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{8,64}(?:\.[A-Za-z0-9]+)+$")


class StaticFiles(WhiteNoise):  # type: ignore[misc]  # WhiteNoise has no type hints
    """WhiteNoise with a year (not its ten) for the far-future ``Cache-Control``."""

    FOREVER = ONE_YEAR


def is_hashed(path: str, url: str) -> bool:
    """Whether the file at ``url`` is named for its content (cached as immutable)."""
    return bool(HASHED_NAME.search(url.rsplit("/", 1)[-1]))


def wrap(app: object, mounts: list[tuple[str, str]]) -> StaticFiles:
    """``app`` serving each ``(prefix, directory)`` of ``mounts`` itself."""
    served = StaticFiles(app, max_age=SHORT_MAX_AGE, immutable_file_test=is_hashed, autorefresh=False)
    for prefix, directory in mounts:
        served.add_files(directory, prefix=prefix)
    return served


def application(release_dir: str) -> StaticFiles:
    """The WSGI callable of the release in ``release_dir``, with its static mounts served."""
    with open(os.path.join(release_dir, "release.json"), encoding="utf-8") as release_file:
        release = json.load(release_file)
    return wrap(
        import_app(release["wsgi_app"]), [(prefix, directory) for prefix, directory in release["static"]]
    )
