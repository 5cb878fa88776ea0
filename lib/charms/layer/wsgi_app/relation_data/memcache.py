"""The ``memcache`` interface (our ``cache`` endpoint): every memcached unit's ``host``/``port``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..integrations import HostPort
from .common import Note, RawRelation, host, port, read_each_unit, text

WAITING = "memcached address"


def read_servers(relations: Iterable[RawRelation]) -> tuple[tuple[HostPort, ...], list[Note]]:
    """Every usable memcached server, ordered by unit name so that key hashing stays put."""
    return read_each_unit(relations, _server)


def _server(data: Mapping[str, str]) -> HostPort:
    return HostPort(host(text(data, "host")), port(text(data, "port")))
