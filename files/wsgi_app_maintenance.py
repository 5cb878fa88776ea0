"""Maintenance mode around the release's application (WSGI or ASGI).

Installed by the wsgi-app charm in /usr/local/lib/wsgi-app/python. gunicorn.conf.py puts
that directory on gunicorn's ``pythonpath`` and sets ``wsgi_app`` to
``wsgi_app_maintenance:application('<entry point>', '<flag file>', '<health path>', <asgi>)``:
each worker imports the release's entry point as gunicorn would (``gunicorn.util.import_app``,
which also takes the static files wrapper's ``wsgi_app_static:application(...)``) and serves
it through :class:`WsgiMaintenance` or, for an ASGI app under the uvicorn worker,
:class:`AsgiMaintenance`.

The flag is a file the charm writes (``/etc/<app>/maintenance.html``, root's, in a
directory only root writes): while it exists, every request gets ``503`` with a
``Retry-After`` header and the page it holds (the built-in page when it is empty, too
large or not UTF-8), except two: a request for the health check path, and a request that
came through the slot's check socket (a Unix socket only root can open, which the charm's
own health probe uses, so a new release is still checked while clients are kept out).
Each request costs one ``stat``; the page is read again only when the file changed.
Turning the mode on or off therefore needs no restart and no reload.
"""

from __future__ import annotations

import inspect
import os
import socket
from typing import Any

from gunicorn.util import import_app

MAX_PAGE = 64 * 1024  # bytes of an operator's page (the charm refuses a larger option)
RETRY_AFTER = "60"  # seconds
DEFAULT_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
    b"<title>Down for maintenance</title></head>\n<body>\n<h1>Down for maintenance</h1>\n"
    b"<p>This site is being worked on and will be back shortly. Please try again in a few minutes.</p>\n"
    b"</body>\n</html>\n"
)
STATUS = "503 Service Unavailable"


class Flag:
    """The maintenance file: :meth:`page` is what to answer with, ``None`` while it is off."""

    def __init__(self, path: str):
        self.path = path
        # (identity of the file read, its page) in one attribute: threads swap it whole
        self._seen: tuple[tuple[int, int, int], bytes] | None = None

    def page(self) -> bytes | None:
        try:
            found = os.stat(self.path)
        except OSError:  # no file: not in maintenance
            return None
        identity = (found.st_ino, found.st_mtime_ns, found.st_size)
        seen = self._seen
        if seen is not None and seen[0] == identity:
            return seen[1]
        page = read_page(self.path)
        self._seen = (identity, page)
        return page


def read_page(path: str) -> bytes:
    """The page in ``path``: its bytes when they are UTF-8 text of at most
    :data:`MAX_PAGE` bytes, else the built-in page."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PAGE + 1)
    except OSError:  # removed between stat and open: answered once more with the built-in page
        return DEFAULT_PAGE
    if not data.strip() or len(data) > MAX_PAGE:
        return DEFAULT_PAGE
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return DEFAULT_PAGE
    return data


def headers(page: bytes) -> list[tuple[str, str]]:
    return [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(page))),
        ("Retry-After", RETRY_AFTER),
        ("Cache-Control", "no-store"),
    ]


def is_check_socket(connection: object) -> bool:
    """Whether a request came through a Unix socket: the slot's check socket (the public
    socket is TCP), which only root can open."""
    return getattr(connection, "family", None) == socket.AF_UNIX


class WsgiMaintenance:
    """A WSGI application answering 503 while the flag is up (see the module's docstring)."""

    def __init__(self, app: Any, flag: Flag, health_path: str):
        self.app = app
        self.flag = flag
        self.health_path = health_path

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        page = self.flag.page()
        if page is None or self._exempt(environ):
            return self.app(environ, start_response)
        start_response(STATUS, headers(page))
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [page]

    def _exempt(self, environ: dict[str, Any]) -> bool:
        if is_check_socket(environ.get("gunicorn.socket")):
            return True
        script_name = environ.get("SCRIPT_NAME", "")
        # the mount must be the server's own (gunicorn's, from its environment): gunicorn
        # takes a SCRIPT_NAME header from a trusted proxy, which passes a client's on, and
        # "/healthz" split as SCRIPT_NAME "/healthz" + PATH_INFO "" routes to the app's "/"
        if script_name != os.environ.get("SCRIPT_NAME", ""):
            return False
        path = script_name + environ.get("PATH_INFO", "")
        return bool(self.health_path) and path == self.health_path


class AsgiMaintenance:
    """An ASGI (3) application answering 503 while the flag is up: HTTP requests get the
    page, a WebSocket is closed before it opens (1013, try again later); lifespan events
    reach the app."""

    def __init__(self, app: Any, flag: Flag, health_path: str):
        self.app = app if speaks_asgi3(app) else _Asgi2(app)
        self.flag = flag
        self.health_path = health_path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        page = self.flag.page()
        if page is None or self._exempt(scope):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1013})
        raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers(page)]
        await send({"type": "http.response.start", "status": 503, "headers": raw})
        await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else page})
        return None

    def _exempt(self, scope: dict[str, Any]) -> bool:
        # uvicorn gives a connection on a Unix socket no server address (a TCP one has one)
        server = scope.get("server")
        if server is None or (len(server) == 2 and server[1] is None):
            return True
        path = scope.get("root_path", "") + scope.get("path", "")
        return bool(self.health_path) and path == self.health_path


def speaks_asgi3(app: Any) -> bool:
    """Whether ``app`` is an ASGI 3 callable, as uvicorn tells them apart."""
    if inspect.isclass(app):
        return hasattr(app, "__await__")
    if inspect.isfunction(app):
        return inspect.iscoroutinefunction(app)
    return inspect.iscoroutinefunction(getattr(app, "__call__", None))  # noqa: B004 - uvicorn's test


class _Asgi2:
    """An ASGI 2 application (``app(scope)`` returns the coroutine) called as ASGI 3."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        instance = self.app(scope)
        await instance(receive, send)


def application(entry: str, flag_file: str, health_path: str, asgi: bool) -> Any:
    """The release's application ``entry`` (what gunicorn's ``wsgi_app`` would name),
    answering 503 while ``flag_file`` exists."""
    app = import_app(entry)
    wrapper = AsgiMaintenance if asgi else WsgiMaintenance
    return wrapper(app, Flag(flag_file), health_path.split("?", 1)[0])
