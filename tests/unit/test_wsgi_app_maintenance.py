"""files/wsgi_app_maintenance.py: the release's app (WSGI or ASGI) answering 503 with
Retry-After and the operator's page while the charm's flag file exists, except for the
health check path and requests through the slot's check socket (a Unix socket)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys

import pytest
from conftest import ROOT, file_module, tiny_app, wsgi_get

from charms.layer.wsgi_app import validate

WRAPPER = ROOT / "files" / "wsgi_app_maintenance.py"
PAGE = "<!DOCTYPE html><title>Bientôt</title><p>Nous revenons — à tout de suite.</p>\n"


@pytest.fixture(scope="module")
def wrapper():
    return file_module("wsgi_app_maintenance", WRAPPER)


def get(app, path, method="GET", connection=None):
    """(status, headers, body) of a request through the WSGI ``app``, arriving on ``connection``."""
    extra = {"REQUEST_METHOD": method, **({"gunicorn.socket": connection} if connection else {})}
    return wsgi_get(app, path, extra)


def test_off_the_app_answers_and_on_every_request_gets_503_with_the_page(wrapper, tmp_path):
    flag = tmp_path / "maintenance.html"
    app = wrapper.WsgiMaintenance(tiny_app, wrapper.Flag(str(flag)), "/healthz")
    assert get(app, "/orders") == ("200 OK", {"Content-Type": "text/plain"}, b"app saw /orders")
    flag.write_bytes(PAGE.encode())
    status, headers, body = get(app, "/orders")
    assert status == "503 Service Unavailable" and body == PAGE.encode()
    assert headers["Retry-After"] == "60" and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Length"] == str(len(PAGE.encode())) and headers["Cache-Control"] == "no-store"
    assert get(app, "/orders", method="HEAD")[2] == b""
    flag.unlink()
    assert get(app, "/orders")[0] == "200 OK"  # off again at once


def test_the_health_check_path_and_the_check_socket_reach_the_app(wrapper, tmp_path):
    """The health check path passes for everyone (load balancers probe it); the charm's own
    probe comes through the slot's Unix check socket and passes whatever its path (an empty
    health_check_path probes /), while the same path over TCP gets the page."""
    flag = tmp_path / "maintenance.html"
    flag.write_bytes(b"")
    app = wrapper.WsgiMaintenance(tiny_app, wrapper.Flag(str(flag)), "/healthz")
    assert get(app, "/healthz")[0] == "200 OK"
    assert get(app, "/healthz/more")[0].startswith("503")
    unix, tcp = socket.socket(socket.AF_UNIX), socket.socket(socket.AF_INET)
    try:
        assert get(app, "/", connection=unix)[0] == "200 OK"
        assert get(app, "/", connection=tcp)[0].startswith("503")
    finally:
        unix.close()
        tcp.close()
    nothing_exempt = wrapper.WsgiMaintenance(tiny_app, wrapper.Flag(str(flag)), "")
    assert get(nothing_exempt, "")[0].startswith("503")


def gunicorn_environ(raw, peer, trusted):
    """The environ gunicorn makes of the request ``raw`` from ``peer``, ``trusted`` being
    its forwarded_allow_ips (the apache2 relation's proxies)."""
    from gunicorn.config import Config
    from gunicorn.http import wsgi
    from gunicorn.http.parser import RequestParser

    cfg = Config()
    cfg.set("forwarded_allow_ips", trusted)
    request = next(iter(RequestParser(cfg, [raw], (peer, 40000))))
    with socket.socket() as tcp:
        return wsgi.create(request, tcp, (peer, 40000), ("10.0.0.1", 8080), cfg)[1]


def test_a_script_name_header_does_not_make_a_request_the_health_checks(wrapper, tmp_path):
    """gunicorn takes a SCRIPT_NAME header from a trusted proxy (forwarder_headers), which
    passes a client's on: ``GET /healthz`` with ``SCRIPT_NAME: /healthz`` reaches the app
    as PATH_INFO "", its home page, which no one may see in maintenance."""
    flag = tmp_path / "maintenance.html"
    flag.write_bytes(b"")
    app = wrapper.WsgiMaintenance(tiny_app, wrapper.Flag(str(flag)), "/healthz")
    raw = b"GET /healthz HTTP/1.1\r\nHost: shop\r\nSCRIPT_NAME: /healthz\r\n\r\n"
    environ = gunicorn_environ(raw, "10.0.0.9", "10.0.0.9")
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/healthz", "")  # what the app routes
    status = []
    app(environ, lambda line, headers, exc_info=None: status.append(line))
    assert status == ["503 Service Unavailable"]
    plain = gunicorn_environ(b"GET /healthz HTTP/1.1\r\nHost: shop\r\n\r\n", "10.0.0.9", "10.0.0.9")
    body = b"".join(app(plain, lambda line, headers, exc_info=None: status.append(line)))
    assert status[-1] == "200 OK" and body == b"app saw /healthz"


def test_a_mount_the_server_sets_still_lets_the_health_check_path_through(wrapper, tmp_path, monkeypatch):
    """SCRIPT_NAME in gunicorn's environment (a setting): the health check path is the
    whole path, as the charm's probe asks for it."""
    monkeypatch.setenv("SCRIPT_NAME", "/shop")
    flag = tmp_path / "maintenance.html"
    flag.write_bytes(b"")
    app = wrapper.WsgiMaintenance(tiny_app, wrapper.Flag(str(flag)), "/shop/healthz")
    environ = gunicorn_environ(b"GET /shop/healthz HTTP/1.1\r\nHost: shop\r\n\r\n", "10.0.0.8", "10.0.0.9")
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/shop", "/healthz")
    status = []
    assert (
        b"".join(app(environ, lambda line, headers, exc_info=None: status.append(line)))
        == b"app saw /healthz"
    )
    assert status == ["200 OK"]


def test_an_empty_large_or_non_utf8_file_gets_the_built_in_page(wrapper, tmp_path):
    flag = tmp_path / "maintenance.html"
    app = wrapper.WsgiMaintenance(tiny_app, wrapper.Flag(str(flag)), "")
    for content in (b"", b"  \n", b"x" * (wrapper.MAX_PAGE + 1), b"caf\xe9"):
        flag.write_bytes(content)
        os.utime(flag, ns=(0, len(content) + 1))  # a new identity even for the same size
        assert get(app, "/")[2] == wrapper.DEFAULT_PAGE
    assert b"Down for maintenance" in wrapper.DEFAULT_PAGE


def test_a_changed_page_is_read_again_and_an_unchanged_one_is_not(wrapper, tmp_path, monkeypatch):
    flag = tmp_path / "maintenance.html"
    flag.write_bytes(b"<p>one</p>")
    app = wrapper.WsgiMaintenance(tiny_app, wrapper.Flag(str(flag)), "")
    reads = []
    real = wrapper.read_page
    monkeypatch.setattr(wrapper, "read_page", lambda path: reads.append(path) or real(path))
    assert [get(app, "/")[2] for _ in range(3)] == [b"<p>one</p>"] * 3
    assert len(reads) == 1  # one stat per request, one read per change
    replacement = tmp_path / "new"
    replacement.write_bytes(b"<p>two</p>")
    os.replace(replacement, flag)  # as the charm writes it: a rename
    assert get(app, "/")[2] == b"<p>two</p>" and len(reads) == 2


def test_the_page_limit_is_the_options(wrapper):
    assert wrapper.MAX_PAGE == validate.MAX_PAGE_BYTES


async def _asgi_app(scope, receive, send):
    if scope["type"] == "lifespan":
        await send({"type": "lifespan.startup.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": f"app saw {scope['path']}".encode()})


def asgi_call(app, scope):
    """What ``app`` sent for ``scope``."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def http_scope(path, server=("10.0.0.1", 8080), method="GET"):
    return {"type": "http", "path": path, "root_path": "", "method": method, "server": server}


def test_an_asgi_app_gets_the_same_answers(wrapper, tmp_path):
    flag = tmp_path / "maintenance.html"
    app = wrapper.AsgiMaintenance(_asgi_app, wrapper.Flag(str(flag)), "/healthz")
    assert asgi_call(app, http_scope("/x"))[1]["body"] == b"app saw /x"
    flag.write_bytes(PAGE.encode())
    start, body = asgi_call(app, http_scope("/x"))
    assert start["status"] == 503 and body["body"] == PAGE.encode()
    assert (b"retry-after", b"60") in start["headers"]
    assert (b"content-type", b"text/html; charset=utf-8") in start["headers"]
    assert asgi_call(app, http_scope("/x", method="HEAD"))[1]["body"] == b""
    assert asgi_call(app, http_scope("/healthz"))[1]["body"] == b"app saw /healthz"
    # uvicorn on a Unix socket (the check socket): the socket's path and no port, or none
    assert asgi_call(app, http_scope("/", server=("/run/x-check/a.sock", None)))[0]["status"] == 200
    assert asgi_call(app, http_scope("/", server=None))[0]["status"] == 200
    assert asgi_call(app, {"type": "websocket", "path": "/ws", "server": ("10.0.0.1", 8080)}) == [
        {"type": "websocket.close", "code": 1013}
    ]
    assert asgi_call(app, {"type": "lifespan"}) == [{"type": "lifespan.startup.complete"}]


def test_an_asgi2_app_is_called_as_asgi3(wrapper, tmp_path):
    class Legacy:
        def __init__(self, scope):
            self.scope = scope

        async def __call__(self, receive, send):
            await _asgi_app(self.scope, receive, send)

    app = wrapper.AsgiMaintenance(Legacy, wrapper.Flag(str(tmp_path / "none")), "")
    assert asgi_call(app, http_scope("/old"))[1]["body"] == b"app saw /old"
    assert (
        wrapper.speaks_asgi3(app) and wrapper.speaks_asgi3(_asgi_app) and not wrapper.speaks_asgi3(tiny_app)
    )


def test_application_imports_the_entry_point_as_gunicorn_does(wrapper, tmp_path, monkeypatch):
    (tmp_path / "shopapp.py").write_text(
        "def make():\n"
        "    def app(environ, start_response):\n"
        "        start_response('200 OK', [])\n"
        "        return [b'made']\n"
        "    return app\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    flag = tmp_path / "maintenance.html"
    app = wrapper.application("shopapp:make()", str(flag), "/healthz?deep=1", False)
    assert isinstance(app, wrapper.WsgiMaintenance) and app.health_path == "/healthz"
    assert get(app, "/")[2] == b"made"
    flag.write_bytes(b"")
    assert get(app, "/")[0].startswith("503") and get(app, "/healthz")[2] == b"made"
    sys.modules.pop("shopapp", None)
