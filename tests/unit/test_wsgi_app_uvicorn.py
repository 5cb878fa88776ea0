"""files/wsgi_app_uvicorn.py: a uvicorn server that is shutting down still answers a
request on a connection it had accepted (stock uvicorn closes such a connection)."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time

import uvicorn
from conftest import ROOT
from uvicorn.server import Server

WORKER = ROOT / "files" / "wsgi_app_uvicorn.py"


def load():
    spec = importlib.util.spec_from_file_location("wsgi_app_uvicorn", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def hello(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def wait_for(condition, seconds=5.0):
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def read_until_closed(client: socket.socket) -> bytes:
    received = b""
    while chunk := client.recv(4096):
        received += chunk
    return received


def answer_to_a_request_sent_during_shutdown(server_class) -> bytes:
    """Accept a connection, begin the shutdown, then send the request on it (the order in
    which a reload meets a client that just connected); what the client receives."""
    listener = socket.create_server(("127.0.0.1", 0))
    server = server_class(uvicorn.Config(hello, lifespan="off", log_config=None, log_level="critical"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started)
        client = socket.create_connection(listener.getsockname(), timeout=5)
        wait_for(lambda: len(server.server_state.connections) == 1)
        server.should_exit = True
        time.sleep(0.2)  # the server's loop has seen should_exit and begun its shutdown
        try:
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            return read_until_closed(client)
        except ConnectionError:
            return b""
        finally:
            client.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def test_stock_uvicorn_drops_the_request():
    """The behaviour the worker module exists for (if uvicorn fixes it, this says so)."""
    assert answer_to_a_request_sent_during_shutdown(Server) == b""


def test_the_draining_server_answers_it():
    answer = answer_to_a_request_sent_during_shutdown(load().DrainingServer)
    # the answer, then the connection closed (the server is stopping), as from any server
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\nok"), answer


def test_the_worker_serves_through_the_draining_server():
    """What gunicorn imports by the name the charm renders, and the class it subclasses."""
    import uvicorn_worker

    module = load()
    assert issubclass(module.UvicornWorker, uvicorn_worker.UvicornWorker)
    defining = __import__(uvicorn_worker.UvicornWorker.__module__, fromlist=["Server"])
    assert defining.Server is Server  # the name run() rebinds in a worker process
