"""The ``elasticsearch`` interface (our ``search`` endpoint): each node's address and cluster.

The elasticsearch charm sets ``host``, ``port`` and ``cluster-name`` on every client
relation; the reactive interface layer spells the last ``cluster_name``: both are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..integrations import HostPort, SearchServer
from .common import Note, RawRelation, host, optional_text, port, read_each_unit, text

WAITING = "elasticsearch address"


def read_nodes(relations: Iterable[RawRelation]) -> tuple[tuple[SearchServer, ...], list[Note]]:
    """Every usable Elasticsearch node, ordered by unit name."""
    return read_each_unit(relations, _node)


def _node(data: Mapping[str, str]) -> SearchServer:
    address = HostPort(host(text(data, "host")), port(text(data, "port")))
    return SearchServer(address, optional_text(data, "cluster-name", "cluster_name"))
