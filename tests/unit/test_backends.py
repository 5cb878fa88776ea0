"""Backends that stop answering show in the status; the check is a plain TCP connect."""

from __future__ import annotations

import socket

from charms.layer.wsgi_app.backends import tcp_answers, unreachable
from charms.layer.wsgi_app.integrations import Database, HostPort, Integrations, ObjectStorage, SearchServer

DOWN = HostPort("10.0.0.5", 5432)
EVERYTHING = Integrations(
    database=Database(primary=DOWN, name="app", user="u", password="p"),
    caches=(HostPort("10.0.0.6", 11211),),
    search=(SearchServer(HostPort("10.0.0.7", 9200)),),
    storage=ObjectStorage("AK", "SK", "media", endpoint="http://10.0.0.8:7480"),
)


def test_only_what_does_not_answer_is_reported() -> None:
    assert unreachable(EVERYTHING, answers=lambda address: address != DOWN) == (
        "database at 10.0.0.5:5432 (not answering)",
    )
    assert unreachable(Integrations(), answers=lambda address: False) == ()
    assert len(unreachable(EVERYTHING, answers=lambda address: False)) == 4


def test_the_s3_endpoint_is_checked_unless_it_is_aws_own() -> None:
    def storage(endpoint: str) -> Integrations:
        return Integrations(storage=ObjectStorage("AK", "SK", "media", endpoint=endpoint))

    down = lambda address: False  # noqa: E731
    assert unreachable(storage("http://10.0.0.8:7480"), answers=down) == (
        "s3 at 10.0.0.8:7480 (not answering)",
    )
    assert unreachable(storage("https://[fd00::8]"), answers=down) == ("s3 at [fd00::8]:443 (not answering)",)
    assert unreachable(storage("http://minio.internal"), answers=down) == (
        "s3 at minio.internal:80 (not answering)",
    )
    assert unreachable(storage(""), answers=down) == ()


def test_tcp_answers_on_loopback() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert tcp_answers(HostPort("127.0.0.1", port))
    assert not tcp_answers(HostPort("127.0.0.1", port), timeout=0.5)


def test_the_brokers_are_checked() -> None:
    from charms.layer.wsgi_app.integrations import AmqpBroker, RedisServer

    brokers = Integrations(
        redis=RedisServer(HostPort("10.0.0.30", 6379), "pw"),
        amqp=AmqpBroker(HostPort("10.0.0.20", 5672), "app", "pw", "app"),
    )
    assert unreachable(brokers, answers=lambda address: False) == (
        "redis at 10.0.0.30:6379 (not answering)",
        "rabbitmq at 10.0.0.20:5672 (not answering)",
    )
