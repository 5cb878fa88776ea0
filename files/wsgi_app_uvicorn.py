"""uvicorn's gunicorn worker (uvicorn-worker), with a shutdown that drops no request.

Installed by the wsgi-app charm in /usr/local/lib/wsgi-app/python; gunicorn.conf.py puts
that directory on gunicorn's ``pythonpath`` and names ``wsgi_app_uvicorn.UvicornWorker``
as the worker class of an ASGI release.

Why: when gunicorn replaces its workers (a reload) it sends the old ones SIGTERM, and
uvicorn's graceful shutdown closes at once every connection it has accepted but not yet
read a request from (Kludex/uvicorn issue 2757). The listening socket is shared by all
workers, so such a connection is one whose client has just sent its request: it gets a
reset instead of an answer. Here a worker first stops accepting, then lets the
connections it already has send their request for a moment, and only then starts
uvicorn's own shutdown, which finishes every request in progress.
"""

from __future__ import annotations

import asyncio
import socket
import sys

import uvicorn_worker
from uvicorn.server import Server

# How long the connections a stopping worker has accepted may take to send a request.
# Clients that connected send theirs within milliseconds; an idle keep-alive connection
# is closed after it, as uvicorn would.
DRAIN_SECONDS = 0.5


class DrainingServer(Server):
    """A uvicorn server that stops accepting, waits :data:`DRAIN_SECONDS`, then shuts down."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # the other workers accept from now on
        await asyncio.sleep(DRAIN_SECONDS)
        await super().shutdown(sockets=sockets)


class UvicornWorker(uvicorn_worker.UvicornWorker):
    """uvicorn-worker's worker, serving through :class:`DrainingServer`."""

    def run(self) -> None:
        # uvicorn-worker builds its server from the name Server of the module defining
        # its worker; this process is one worker, so rebinding the name here is local.
        # Without that name (another uvicorn-worker), it serves as uvicorn-worker does.
        module = sys.modules[uvicorn_worker.UvicornWorker.__module__]
        if getattr(module, "Server", None) is Server:
            module.Server = DrainingServer  # type: ignore[attr-defined]
        super().run()
