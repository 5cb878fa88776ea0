"""The memcache (cache) reader: every unit, stable order, bad units skipped."""

from __future__ import annotations

from relation_records import memcached, relation

from charms.layer.wsgi_app.integrations import HostPort
from charms.layer.wsgi_app.relation_data.memcache import read_servers


def test_every_unit_in_unit_number_order():
    rel = relation(
        ("memcached/10", memcached("10.0.0.42")),
        ("memcached/2", memcached("10.0.0.41")),
        ("memcached/0", memcached("10.0.0.40")),
        rid="cache:4",
    )
    servers, notes = read_servers([rel])
    assert servers == (
        HostPort("10.0.0.40", 11211),
        HostPort("10.0.0.41", 11211),
        HostPort("10.0.0.42", 11211),
    )
    assert notes == []


def test_units_without_data_yet_are_quietly_skipped():
    rel = relation(("memcached/0", {"private-address": "10.0.0.40"}), ("memcached/1", memcached("10.0.0.41")))
    servers, notes = read_servers([rel])
    assert servers == (HostPort("10.0.0.41", 11211),)
    assert [note.level for note in notes] == ["DEBUG"]


def test_bad_units_are_skipped_with_a_warning():
    rel = relation(
        ("memcached/0", memcached("10.0.0.40", port="eleven")),
        ("memcached/1", memcached("10.0.0.41", port="0")),
        ("memcached/2", memcached("evil host")),
        ("memcached/3", memcached("10.0.0.43\nFOO=1")),
        ("memcached/4", memcached("10.0.0.44", port="")),
        ("memcached/5", memcached("10.0.0.45")),
    )
    servers, notes = read_servers([rel])
    assert servers == (HostPort("10.0.0.45", 11211),)
    assert [note.level for note in notes] == ["WARNING"] * 5
    assert all("\n" not in note.message for note in notes)


def test_duplicates_are_dropped():
    rel = relation(("memcached/0", memcached("10.0.0.40")), ("memcached/1", memcached("10.0.0.40")))
    assert read_servers([rel])[0] == (HostPort("10.0.0.40", 11211),)
