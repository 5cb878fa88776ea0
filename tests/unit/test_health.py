"""The health check through a slot's Unix socket, against a real HTTP server on one."""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from charms.layer.wsgi_app import health


class _UnixHTTPServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


@contextmanager
def serving(path: Path, status: int) -> Iterator[list[str]]:
    """An HTTP server on the Unix socket ``path`` answering ``status``; the paths asked."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def address_string(self) -> str:
            return "check"

        def log_message(self, *args: object) -> None:
            pass

    server = _UnixHTTPServer(str(path), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield asked
    finally:
        server.shutdown()
        server.server_close()


def test_a_healthy_slot_passes_after_a_streak(tmp_path):
    sock = tmp_path / "a.sock"
    with serving(sock, 200) as asked:
        assert health.wait_healthy(sock, "/healthz", interval=0.01) == (True, "GET /healthz: 200")
    assert asked == ["/healthz"] * 3


def test_a_slot_answering_errors_fails_before_the_deadline(tmp_path):
    sock = tmp_path / "b.sock"
    start = time.monotonic()
    with serving(sock, 500) as asked:
        healthy, detail = health.wait_healthy(sock, "/healthz", deadline=30, interval=0.01)
    assert (healthy, detail) == (False, "GET /healthz answered 500")
    assert len(asked) == 10 and time.monotonic() - start < 5


def test_no_socket_is_no_answer(tmp_path):
    result = health.probe(tmp_path / "none.sock", "/")
    assert not result.ok and not result.answered and "FileNotFoundError" in result.detail
