"""Maintenance mode (config ``maintenance``, ``maintenance_page``): the flag file the
charm's wrapper around the application looks at on every request.

While ``/etc/<app>/maintenance.html`` exists, every request but the health check's gets
``503`` with ``Retry-After`` and the page it holds (``files/wsgi_app_maintenance.py``,
which gunicorn.conf.py always serves the app through). The file is root's, mode 0640 with
the application's group, in a directory only root writes, so the application cannot turn
the mode off or change the page; writing or removing it is all turning the mode on or off
takes: no restart, no reload.
"""

from __future__ import annotations

from .paths import Paths
from .writes import write_if_changed

WRAPPER_MODULE = "wsgi_app_maintenance.py"  # in asgi.WORKER_MODULE_DIR, beside the uvicorn worker


def apply(paths: Paths, on: bool, page: str) -> bool:
    """Turn maintenance mode on, with ``page`` (the option, checked by
    :func:`.validate.html_page`; "" for the wrapper's built-in page), or off; whether
    anything changed. The page is written as UTF-8, as the wrapper serves it."""
    target = paths.maintenance_page
    if on:
        return write_if_changed(target, page.encode("utf-8"), 0o640, group=paths.user)
    if target.exists():
        target.unlink()
        return True
    return False


def is_on(paths: Paths) -> bool:
    """Whether the unit answers 503 now (the flag file is there)."""
    return paths.maintenance_page.exists()
