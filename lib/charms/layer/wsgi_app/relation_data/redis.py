"""The ``redis`` interface (our ``redis`` endpoint), as the Redis charms publish it.

Each Redis unit answers in its unit data, the client sends nothing. The machine charm
(charmhelpers services framework, ``DbRelation.provide_data``) publishes ``hostname``,
``port`` and ``password`` (``""`` when the server asks for none); the redis-k8s library
(``charms.redis_k8s.v0.redis``, ``RedisProvides``) publishes ``hostname`` (the current
master's address) and ``port``, no password; some reactive layers spell the address
``host``. All three are read; a provider that answers in application data is read too.
The first usable unit in unit order is the server (replicas of the machine charm and the
k8s units all name the master).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..integrations import HostPort, RedisServer
from .common import BadData, Note, RawRelation, host, optional_text, port, read_one_server, text

WAITING = "redis address"
# what a Redis password may be here: printable ASCII without spaces (it travels in a URL,
# percent-encoded, and in REDIS_PASSWORD; AUTH takes any bytes, but nothing else is usable)
_PASSWORD = re.compile(r"[\x21-\x7e]{1,512}\Z")


def read_server(relations: Iterable[RawRelation]) -> tuple[RedisServer | None, list[Note]]:
    """The Redis server, ``None`` while none has answered; raises :class:`BadData` when
    every unit that answered sent something unusable."""
    return read_one_server(relations, _server)


def _server(data: Mapping[str, str]) -> RedisServer:
    address = optional_text(data, "hostname", "host")
    if not address:
        raise BadData("no hostname")
    return RedisServer(HostPort(host(address, "hostname"), port(text(data, "port"))), _password(data))


def _password(data: Mapping[str, str]) -> str:
    value = data.get("password") or ""
    if not value.strip():
        return ""  # the machine charm's way of saying "no authentication"
    if not _PASSWORD.match(value):
        raise BadData("password is not printable ASCII without spaces")
    return value
