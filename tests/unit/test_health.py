"""The health check through a slot's Unix socket, against a real HTTP server on one."""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from charms.layer.wsgi_app import health
from charms.layer.wsgi_app.config import parse_config

SET = health.check_for("/healthz")  # a path the operator set


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
        assert health.wait_healthy(sock, SET, interval=0.01) == (True, "GET /healthz: 200")
    assert asked == ["/healthz"] * 3


def test_a_slot_answering_errors_fails_before_the_deadline(tmp_path):
    sock = tmp_path / "b.sock"
    start = time.monotonic()
    with serving(sock, 500) as asked:
        healthy, detail = health.wait_healthy(sock, SET, deadline=30, interval=0.01)
    assert (healthy, detail) == (False, "GET /healthz answered 500, not 2xx or 3xx")
    assert len(asked) == 10 and time.monotonic() - start < 5


def test_no_socket_is_no_answer(tmp_path):
    result = health.probe(tmp_path / "none.sock", health.check_for(""))
    assert not result.ok and not result.answered and "FileNotFoundError" in result.detail


def test_the_default_asks_slash_and_a_set_path_asks_itself():
    default = health.check_for(parse_config({}).health_check_path)
    assert (default.path, default.expected) == ("/", "below 500")
    assert (SET.path, SET.expected) == ("/healthz", "2xx or 3xx")
    # "/" set on purpose is a set path: Juju cannot tell it from the default, the charm can
    assert (
        health.check_for(parse_config({"health_check_path": "/"}).health_check_path).expected == "2xx or 3xx"
    )


@pytest.mark.parametrize(
    ("status", "by_default", "when_set"),
    [
        (200, True, True),
        (204, True, True),
        (301, True, True),
        (302, True, True),
        (400, True, False),  # Django refusing a Host: the app is up
        (401, True, False),
        (403, True, False),
        (404, True, False),  # a stock Django site's /
        (405, True, False),
        (499, True, False),
        (500, False, False),
        (502, False, False),
        (503, False, False),
    ],
)
def test_which_answers_are_healthy(tmp_path, status, by_default, when_set):
    sock = tmp_path / "s.sock"
    with serving(sock, status):
        default, configured = health.probe(sock, health.check_for("")), health.probe(sock, SET)
    assert (default.ok, configured.ok) == (by_default, when_set)
    assert default.answered and configured.answered


def test_a_server_error_still_fails_the_default_check_early(tmp_path):
    """The rollback relies on it: a release answering 500 at / is refused, not waited for."""
    sock = tmp_path / "c.sock"
    start = time.monotonic()
    with serving(sock, 500) as asked:
        healthy, detail = health.wait_healthy(sock, health.check_for(""), deadline=30, interval=0.01)
    assert (healthy, detail) == (False, "GET / answered 500, not below 500")
    assert asked == ["/"] * 10 and time.monotonic() - start < 5
