"""The ``memcache`` interface (our ``cache`` endpoint): every memcached unit's ``host``/``port``."""

from __future__ import annotations

from collections.abc import Iterable

from ..integrations import HostPort
from .common import BadData, Note, RawRelation, host, port, text

WAITING = "memcached address"


def read_servers(relations: Iterable[RawRelation]) -> tuple[tuple[HostPort, ...], list[Note]]:
    """Every usable memcached server, ordered by unit name so that key hashing stays put."""
    found: dict[str, HostPort] = {}
    notes: list[Note] = []
    for relation in relations:
        for unit in relation.units:
            try:
                found[unit.name] = HostPort(host(text(unit.data, "host")), port(text(unit.data, "port")))
            except BadData as error:
                level = "DEBUG" if not unit.data.get("host") and not unit.data.get("port") else "WARNING"
                notes.append(Note(f"{unit.name} skipped: {error}", level))
    servers: list[HostPort] = []
    for name in sorted(found, key=_unit_order):
        if found[name] not in servers:
            servers.append(found[name])
    return tuple(servers), notes


def _unit_order(unit_name: str) -> tuple[str, int]:
    app, _, number = unit_name.rpartition("/")
    return app, int(number) if number.isdigit() else -1
