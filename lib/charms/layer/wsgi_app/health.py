"""Is the application answering? HTTP checks against one slot's private socket.

Both slots of the service accept on the public port, so a check through it could be
answered by either; each slot also listens on a Unix socket only root can open
(``/run/<app>-check/<slot>.sock``), which reaches exactly the gunicorn being checked.

What counts as healthy depends on who chose the path (:func:`check_for`): with
``health_check_path`` left empty, ``/`` is asked and any answer below 500 will do (the app
is up and routing: a stock Django site's ``/`` answers 404, one that refuses the Host 400);
a path the operator set must answer 2xx or 3xx.
"""

from __future__ import annotations

import http.client
import socket
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATH = "/"
UP_STATUSES = range(100, 500)  # any answer but a server error
OK_STATUSES = range(200, 400)


@dataclass(frozen=True)
class Check:
    """The request a slot must answer, and the statuses that count as healthy."""

    path: str
    healthy: range

    @property
    def expected(self) -> str:
        return "2xx or 3xx" if self.healthy == OK_STATUSES else "below 500"


def check_for(health_check_path: str) -> Check:
    """The check of ``health_check_path``: empty (the default) asks ``/`` and takes any
    answer below 500; a path the operator set must answer 2xx or 3xx."""
    if not health_check_path:
        return Check(DEFAULT_PATH, UP_STATUSES)
    return Check(health_check_path, OK_STATUSES)


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a Unix stream socket."""

    def __init__(self, path: Path, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


@dataclass(frozen=True)
class Probe:
    """The result of one check."""

    ok: bool
    answered: bool  # an HTTP answer came back (whatever its status)
    detail: str


def probe(check_socket: Path, check: Check, timeout: float = 5.0) -> Probe:
    """One GET of ``check.path`` through ``check_socket``."""
    path = check.path
    connection = UnixHTTPConnection(check_socket, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": "localhost", "User-Agent": "wsgi-app-charm"})
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as error:
        return Probe(False, False, f"GET {path}: {error.__class__.__name__}: {error}")
    finally:
        connection.close()
    if response.status in check.healthy:
        return Probe(True, True, f"GET {path}: {response.status}")
    return Probe(False, True, f"GET {path} answered {response.status}, not {check.expected}")


def wait_healthy(
    check_socket: Path,
    check: Check,
    deadline: float = 60.0,
    streak: int = 3,
    interval: float = 0.5,
    bad_streak: int = 10,
) -> tuple[bool, str]:
    """Healthy once ``streak`` probes in a row succeed. Unhealthy after ``deadline``
    seconds, or sooner once ``bad_streak`` answers in a row were errors: an app that
    answers, wrongly, is up, and while it is checked it already takes a share of the
    traffic, so it is not given the whole deadline."""
    end = time.monotonic() + deadline
    good, bad, last = 0, 0, "no answer"
    while time.monotonic() < end:
        result = probe(check_socket, check)
        last = result.detail
        good = good + 1 if result.ok else 0
        bad = bad + 1 if result.answered and not result.ok else 0
        if good >= streak:
            return True, last
        if bad >= bad_streak:
            return False, last
        time.sleep(interval)
    return False, last
