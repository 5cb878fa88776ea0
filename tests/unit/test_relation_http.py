"""The http (website) side: what proxies get from us, which proxy addresses we trust."""

from __future__ import annotations

from relation_records import haproxy, proxy, relation

from charms.layer.wsgi_app.relation_data.http import read_proxies, website_data


def test_published_data_suits_apache2_and_haproxy():
    assert website_data("10.0.0.10", 8080) == {
        "hostname": "10.0.0.10",
        "private-address": "10.0.0.10",
        "port": "8080",
    }


def test_proxies_are_every_remote_unit_address():
    apache = relation(("apache2/0", proxy("10.0.0.61")), ("apache2/1", proxy("10.0.0.60")), rid="website:8")
    haproxy = relation(("haproxy/0", {"private-address": "fd00::62"}), rid="website:9")
    proxies, notes = read_proxies([apache, haproxy])
    assert proxies == ("10.0.0.60", "10.0.0.61", "fd00::62")
    assert notes == []


def test_haproxys_own_keys_change_nothing_we_trust():
    proxies, notes = read_proxies([relation(("haproxy/0", haproxy("10.231.0.2")), rid="website:3")])
    assert (proxies, notes) == (("10.231.0.2",), [])


def test_proxy_addresses_must_be_ip_addresses():
    rel = relation(
        ("apache2/0", {"ingress-address": "proxy.example.org"}),
        ("apache2/1", {"ingress-address": "10.0.0.61\n*"}),
        ("apache2/2", {}),
        ("apache2/3", proxy("10.0.0.63")),
    )
    proxies, notes = read_proxies([rel])
    assert proxies == ("10.0.0.63",)
    assert [note.level for note in notes] == ["WARNING", "WARNING", "DEBUG"]
