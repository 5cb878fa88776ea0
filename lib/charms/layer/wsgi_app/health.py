"""Is the application answering? An HTTP check against the unit's own port."""

from __future__ import annotations

import http.client
import time

OK_STATUSES = range(200, 400)


def probe(port: int, path: str, timeout: float = 5.0) -> tuple[bool, str]:
    """One GET of ``path`` on localhost; (healthy, what happened)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": "localhost", "User-Agent": "wsgi-app-charm"})
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as error:
        return False, f"GET {path}: {error.__class__.__name__}: {error}"
    finally:
        connection.close()
    if response.status in OK_STATUSES:
        return True, f"GET {path}: {response.status}"
    return False, f"GET {path} answered {response.status}"


def wait_healthy(
    port: int, path: str, deadline: float = 60.0, streak: int = 3, interval: float = 0.5
) -> tuple[bool, str]:
    """Healthy once ``streak`` probes in a row succeed; gives up after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    good, last = 0, "no answer"
    while time.monotonic() < end:
        ok, last = probe(port, path)
        good = good + 1 if ok else 0
        if good >= streak:
            return True, last
        time.sleep(interval)
    return False, last
