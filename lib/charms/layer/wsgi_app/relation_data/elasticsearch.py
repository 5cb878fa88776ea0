"""The ``elasticsearch`` interface (our ``search`` endpoint): each node's address and cluster.

The elasticsearch charm sets ``host``, ``port`` and ``cluster-name`` on every client
relation; the reactive interface layer spells the last ``cluster_name``: both are read.
Providers written as a charms.reactive ``Endpoint`` publish through ``to_publish``, which
JSON-encodes each value (``"10.0.0.5"`` with its quotes): a value that is a JSON string is
read as that string, then checked like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from ..integrations import HostPort, SearchServer
from .common import Note, RawRelation, host, optional_text, port, read_each_unit, text

WAITING = "elasticsearch address"


def read_nodes(relations: Iterable[RawRelation]) -> tuple[tuple[SearchServer, ...], list[Note]]:
    """Every usable Elasticsearch node, ordered by unit name."""
    return read_each_unit(relations, _node)


def _node(data: Mapping[str, str]) -> SearchServer:
    plain = {key: _unjson(value) for key, value in data.items()}
    address = HostPort(host(text(plain, "host")), port(text(plain, "port")))
    return SearchServer(address, optional_text(plain, "cluster-name", "cluster_name"))


def _unjson(value: str) -> str:
    """``value``, or the string it encodes when it is a JSON string (``to_publish``)."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, str):
            return decoded
    return value
