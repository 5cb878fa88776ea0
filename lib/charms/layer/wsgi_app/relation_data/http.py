"""The ``http`` interface (our ``website`` endpoint, we provide): what we publish, whom we trust.

Proxies (apache2, haproxy) read ``port`` and ``private-address`` (some ``hostname``), so
we publish all three. Their own units' addresses become the addresses whose
``X-Forwarded-*`` headers gunicorn and the application trust.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from .common import BadData, Note, RawRelation, ip_address

ADDRESS_KEYS = ("ingress-address", "private-address")


def website_data(address: str, port: int) -> dict[str, str]:
    """What this unit publishes to every proxy."""
    return {"hostname": address, "private-address": address, "port": str(port)}


def read_proxies(relations: Iterable[RawRelation]) -> tuple[tuple[str, ...], list[Note]]:
    """The IP address of every related proxy unit, sorted and without duplicates."""
    found: set[str] = set()
    notes: list[Note] = []
    for relation in relations:
        for unit in relation.units:
            key = next((k for k in ADDRESS_KEYS if (unit.data.get(k) or "").strip()), None)
            if key is None:
                notes.append(Note(f"{unit.name} skipped: no address yet", "DEBUG"))
                continue
            try:
                found.add(ip_address(unit.data[key], key))
            except BadData as error:
                notes.append(Note(f"{unit.name} skipped: {error}"))
    return tuple(sorted(found, key=_address_order)), notes


def _address_order(address: str) -> tuple[int, int]:
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed)
