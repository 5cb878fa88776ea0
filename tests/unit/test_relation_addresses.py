"""Addresses from relation data: what is kept is checked, not only parsed.

A value an address parser accepts can still carry quotes, percent signs or newlines
(Python reads ``fe80::1%<anything>`` as a scoped IPv6 address), and glibc reads
``127.1`` or ``0x7f000001`` as IPv4 addresses. Whatever a remote unit writes, the
address kept is canonical text made of letters, digits, dots, hyphens and colons.
"""

from __future__ import annotations

import random
import re

import pytest
from relation_records import memcached, relation

from charms.layer.wsgi_app.relation_data.common import BadData, host, host_port, ip_address
from charms.layer.wsgi_app.relation_data.http import read_proxies
from charms.layer.wsgi_app.relation_data.memcache import read_servers

KEPT = re.compile(r"[A-Za-z0-9.:-]{1,253}")
SEED = 20261204

HOSTILE_ADDRESSES = [
    "fe80::1%eth0",
    "fe80::1%'; import os #",
    'fe80::1%"\nMEMCACHE_SERVERS=evil',
    "fe80::1%25eth0",
    "::1%0a",
    "[fe80::1%lo]",
    "127.1",
    "0x7f000001",
    "0177.0.0.1",
    "2130706433",
    "10.0.0.300",
    "127.0.0.1%0d%0a",
    "127.0.0.1;rm -rf /",
    "db.example'",
    'db"x',
    "exämple.org",
    "\u0661\u0662\u0667.\u0660.\u0660.\u0661",  # Arabic-Indic digits
    "\u2170.example",  # a roman numeral one
    "host\u202e.example",
    "a" * 300,
    "a." * 200 + "org",
    "db..example",
    "-db.example",
    "",
    " ",
]


@pytest.mark.parametrize("value", HOSTILE_ADDRESSES)
def test_hostile_addresses_are_refused(value: str) -> None:
    with pytest.raises(BadData):
        host(value)
    with pytest.raises(BadData):
        ip_address(value, "private-address")


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("10.0.0.5", "10.0.0.5"),
        (" 10.0.0.5\n", "10.0.0.5"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("::ffff:10.0.0.5", str(__import__("ipaddress").ip_address("::ffff:10.0.0.5"))),
        ("pg-0.pg-endpoints.db.svc.cluster.local", "pg-0.pg-endpoints.db.svc.cluster.local"),
        ("memcached", "memcached"),
    ],
)
def test_plain_addresses_are_kept_canonical(value: str, kept: str) -> None:
    assert host(value) == kept and KEPT.fullmatch(kept)


def test_host_port_keeps_only_checked_parts() -> None:
    assert host_port("[2001:db8::1]:5432", "standbys") == ("2001:db8::1", 5432)
    for bad in ("[fe80::1%x']:5432", "127.1:5432", "db:54'32", "db:5432\n:1"):
        with pytest.raises(BadData):
            host_port(bad, "standbys")


def _noise(rng: random.Random) -> str:
    pieces = [
        "%",
        "'",
        '"',
        "\n",
        "\r",
        ";",
        ":",
        "[",
        "]",
        "::",
        "fe80::1",
        "127.0.0.1",
        "é",
        "\u202e",
        "0x",
    ]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) + "x" * rng.choice([0, 1, 300])


def test_random_hostile_values_never_survive_in_a_kept_address() -> None:
    rng = random.Random(SEED)
    tried = 0
    for _ in range(500):
        value = _noise(rng)
        servers, _ = read_servers([relation(("memcached/0", memcached(value)))])
        proxies, _ = read_proxies([relation(("apache2/0", {"private-address": value}))])
        for kept in [s.host for s in servers] + list(proxies):
            assert KEPT.fullmatch(kept), (value, kept)
        tried += 1
    print(f"addresses: {tried} random hostile values, seed {SEED}")
