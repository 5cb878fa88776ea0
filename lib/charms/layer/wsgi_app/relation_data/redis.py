"""The ``redis`` interface (our ``redis`` endpoint), as the Redis charms publish it.

Each Redis unit answers in its unit data, the client sends nothing. The machine charm
(charmhelpers services framework, ``DbRelation.provide_data``) publishes ``hostname``,
``port`` and ``password`` (``""`` when the server asks for none); the redis-k8s library
(``charms.redis_k8s.v0.redis``, ``RedisProvides``) publishes ``hostname`` and ``port``, no
password; some reactive layers spell the address ``host``. All three are read; a provider
that answers in application data is read too. The redis-k8s charm also names the current
master in its application data (``leader-host``, moved on failover) while each unit's
``hostname`` is its own pod's address, a replica's on all units but one: ``leader-host``,
when present, is the server's address (as the library's own ``RedisRequires.url`` reads
it), with the units' ``port``. Otherwise the first usable unit in unit order is the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from ..integrations import HostPort, RedisServer
from .common import BadData, Note, RawRelation, RemoteUnit, host, port, read_one_server, text

WAITING = "redis address"
_LEADER_HOST = "leader-host"
# what a Redis password may be here: printable ASCII without spaces (it travels in a URL,
# percent-encoded, and in REDIS_PASSWORD; AUTH takes any bytes, but nothing else is usable)
_PASSWORD = re.compile(r"[\x21-\x7e]{1,512}\Z")


def read_server(relations: Iterable[RawRelation]) -> tuple[RedisServer | None, list[Note]]:
    """The Redis server, ``None`` while none has answered; raises :class:`BadData` when
    every unit that answered sent something unusable."""
    return read_one_server(map(_with_leader_host, relations), _server)


def _with_leader_host(relation: RawRelation) -> RawRelation:
    """``relation`` with the application's ``leader-host`` (redis-k8s's master) copied into
    every unit's data, where :func:`_server` prefers it to the unit's own address."""
    leader = relation.app.get(_LEADER_HOST) or ""
    if not leader.strip():
        return relation
    units = tuple(RemoteUnit(unit.name, {**unit.data, _LEADER_HOST: leader}) for unit in relation.units)
    return replace(relation, units=units)


def _server(data: Mapping[str, str]) -> RedisServer:
    key = next((key for key in (_LEADER_HOST, "hostname", "host") if (data.get(key) or "").strip()), "")
    if not key:
        raise BadData("no hostname")
    return RedisServer(HostPort(host(text(data, key), key), port(text(data, "port"))), _password(data))


def _password(data: Mapping[str, str]) -> str:
    value = data.get("password") or ""
    if not value.strip():
        return ""  # the machine charm's way of saying "no authentication"
    if not _PASSWORD.match(value):
        raise BadData("password is not printable ASCII without spaces")
    return value
