"""Backends that stop answering show in the status; the check is a plain TCP connect."""

from __future__ import annotations

import socket

from charms.layer.wsgi_app.backends import tcp_answers, unreachable
from charms.layer.wsgi_app.integrations import Database, HostPort, Integrations, SearchServer

DOWN = HostPort("10.0.0.5", 5432)
EVERYTHING = Integrations(
    database=Database(primary=DOWN, name="app", user="u", password="p"),
    caches=(HostPort("10.0.0.6", 11211),),
    search=(SearchServer(HostPort("10.0.0.7", 9200)),),
)


def test_only_what_does_not_answer_is_reported() -> None:
    assert unreachable(EVERYTHING, answers=lambda address: address != DOWN) == (
        "database at 10.0.0.5:5432 (not answering)",
    )
    assert unreachable(Integrations(), answers=lambda address: False) == ()
    assert len(unreachable(EVERYTHING, answers=lambda address: False)) == 3


def test_tcp_answers_on_loopback() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert tcp_answers(HostPort("127.0.0.1", port))
    assert not tcp_answers(HostPort("127.0.0.1", port), timeout=0.5)
