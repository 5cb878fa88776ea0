"""The ``elasticsearch`` interface (our ``search`` endpoint): each node's address and cluster.

The elasticsearch charm sets ``host``, ``port`` and ``cluster-name`` on every client
relation; the reactive interface layer spells the last ``cluster_name``: both are read.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..integrations import HostPort, SearchServer
from .common import BadData, Note, RawRelation, host, optional_text, port, text
from .memcache import _unit_order

WAITING = "elasticsearch address"


def read_nodes(relations: Iterable[RawRelation]) -> tuple[tuple[SearchServer, ...], list[Note]]:
    """Every usable Elasticsearch node, ordered by unit name."""
    found: dict[str, SearchServer] = {}
    notes: list[Note] = []
    for relation in relations:
        for unit in relation.units:
            data = unit.data
            try:
                address = HostPort(host(text(data, "host")), port(text(data, "port")))
                cluster = optional_text(data, "cluster-name", "cluster_name")
            except BadData as error:
                level = "DEBUG" if not data.get("host") and not data.get("port") else "WARNING"
                notes.append(Note(f"{unit.name} skipped: {error}", level))
                continue
            found[unit.name] = SearchServer(address, cluster)
    nodes: list[SearchServer] = []
    for name in sorted(found, key=_unit_order):
        if found[name] not in nodes:
            nodes.append(found[name])
    return tuple(nodes), notes
