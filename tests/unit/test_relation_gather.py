"""All relations into one Integrations value: waiting reasons, the both-databases conflict,
and the Juju glue (departing units and broken relations drop out, nothing is logged twice)."""

from __future__ import annotations

import subprocess

import pytest
from relation_records import (
    ME,
    PASSWORD,
    classic_master,
    elasticsearch,
    memcached,
    postgresql_client_app,
    proxy,
    relation,
)

from charms.layer.wsgi_app import relations
from charms.layer.wsgi_app.config import ConfigError
from charms.layer.wsgi_app.integrations import HostPort, Integrations
from charms.layer.wsgi_app.relation_data.combine import RelationConflict, integrations_from, own_address
from charms.layer.wsgi_app.relation_data.pgsql import DatabaseRequest, OwnAddress

REQUEST = DatabaseRequest("wsgi-app")


def test_nothing_related_is_empty():
    assert integrations_from({}, REQUEST, ME).integrations == Integrations()


def test_everything_ready():
    gathered = integrations_from(
        {
            "db": (relation(("postgresql/0", classic_master())),),
            "cache": (relation(("memcached/0", memcached("10.0.0.40")), rid="cache:4"),),
            "search": (relation(("elasticsearch/0", elasticsearch("10.0.0.50")), rid="search:5"),),
            "website": (relation(("apache2/0", proxy("10.0.0.60")), rid="website:6"),),
        },
        REQUEST,
        ME,
    )
    found = gathered.integrations
    assert found.database is not None and found.database.primary == HostPort("10.0.0.5", 5432)
    assert found.caches == (HostPort("10.0.0.40", 11211),)
    assert found.search[0].address == HostPort("10.0.0.50", 9200)
    assert found.proxies == ("10.0.0.60",)
    assert found.waiting_for == ()


def test_joined_but_not_ready_is_waiting():
    gathered = integrations_from(
        {
            "db": (relation(("postgresql/0", {"private-address": "10.0.0.5"})),),
            "cache": (relation(("memcached/0", memcached("10.0.0.40", port="x")), rid="cache:4"),),
            "search": (relation(("elasticsearch/0", {}), rid="search:5"),),
            "website": (relation(("apache2/0", {}), rid="website:6"),),
        },
        REQUEST,
        ME,
    )
    assert gathered.integrations.waiting_for == (
        "database access for this unit",
        "memcached address",
        "elasticsearch address",
    )
    assert gathered.integrations.database is None
    assert {endpoint for endpoint, _ in gathered.notes} == {"db", "cache", "search", "website"}


def test_relation_without_units_is_not_waiting():
    gathered = integrations_from({"cache": (relation(rid="cache:4"),)}, REQUEST, ME)
    assert gathered.integrations.waiting_for == ()


def test_database_relation_is_used_when_db_is_not_related():
    server = ("postgresql/0", {"private-address": "10.0.0.30"})
    gathered = integrations_from(
        {"database": (relation(server, rid="database:7", app=postgresql_client_app()),)}, REQUEST, ME
    )
    assert gathered.integrations.database.primary == HostPort("10.0.0.30", 5432)
    waiting = integrations_from({"database": (relation(server, rid="database:7"),)}, REQUEST, ME)
    assert waiting.integrations.waiting_for == ("database credentials",)


def test_both_database_relations_block():
    both = {
        "db": (relation(("postgresql/0", classic_master())),),
        "database": (relation(("pg/0", {}), rid="database:7", app=postgresql_client_app()),),
    }
    with pytest.raises(RelationConflict) as raised:
        integrations_from(both, REQUEST, ME)
    assert isinstance(raised.value, ConfigError)  # so the unit reports it as blocked
    assert raised.value.summary.startswith("both db (pgsql) and database (postgresql_client) are related")


def test_own_address_prefers_egress_subnets():
    assert own_address((relation(),), ME) == OwnAddress(ME, ("10.0.0.10/32",))
    assert own_address((relation(own={"private-address": "fd00::10"}),), ME) == OwnAddress(
        ME, ("fd00::10/128",)
    )
    assert own_address((), ME) == OwnAddress(ME)


class FakeJuju:
    """The hook tools relations.py calls, answering from a dict of relations."""

    def __init__(self, hook: str, relation_id: str = "", remote: str = ""):
        self.hook, self.relation_id, self.remote = hook, relation_id, remote
        self.data: dict[str, dict[str, dict[str, str]]] = {}  # rid -> unit or app -> data
        self.logged: list[tuple[str, str]] = []
        self.config = {"database_name": "", "database_roles": "", "database_extensions": "", "port": 8080}

    def install(self, monkeypatch):
        hookenv = relations.hookenv
        monkeypatch.setattr(hookenv, "hook_name", lambda: self.hook)
        monkeypatch.setattr(hookenv, "relation_id", lambda *a, **k: self.relation_id)
        monkeypatch.setattr(hookenv, "remote_unit", lambda: self.remote)
        monkeypatch.setattr(hookenv, "local_unit", lambda: ME)
        monkeypatch.setattr(hookenv, "config", lambda *a: dict(self.config))
        monkeypatch.setattr(hookenv, "relation_ids", self.relation_ids)
        monkeypatch.setattr(hookenv, "related_units", self.related_units)
        monkeypatch.setattr(hookenv, "relation_get", self.relation_get)
        monkeypatch.setattr(
            hookenv, "log", lambda message, level="INFO": self.logged.append((level, message))
        )
        monkeypatch.setattr(relations, "_logged", set())

    def relation_ids(self, endpoint):
        return [rid for rid in self.data if rid.startswith(endpoint + ":")]

    def related_units(self, rid):
        return [name for name in self.data[rid] if "/" in name and name != ME]

    def relation_get(self, attribute=None, unit=None, rid=None, app=None):
        found = self.data[rid].get(unit or app, {})
        return found.get(attribute) if attribute else dict(found)


def test_gather_reads_every_endpoint(monkeypatch):
    juju = FakeJuju("update-status")
    juju.data = {
        "db:3": {"postgresql/0": classic_master(), ME: {"egress-subnets": "10.0.0.10/32"}},
        "cache:4": {"memcached/0": memcached("10.0.0.40"), "memcached/1": memcached("10.0.0.41", port="0")},
    }
    juju.install(monkeypatch)
    found = relations.gather_integrations()
    assert found.database.user == "juju_wsgi-app"
    assert found.caches == (HostPort("10.0.0.40", 11211),)
    relations.gather_integrations()
    warnings = [message for level, message in juju.logged if level == "WARNING"]
    assert warnings == ["cache relation: memcached/1 skipped: port 0 is outside 1-65535"]  # once only
    assert all(PASSWORD not in message for _, message in juju.logged)


def test_departing_unit_and_broken_relation_drop_out(monkeypatch):
    data = {"cache:4": {"memcached/0": memcached("10.0.0.40"), "memcached/1": memcached("10.0.0.41")}}
    departed = FakeJuju("cache-relation-departed", "cache:4", "memcached/1")
    departed.data = data
    departed.install(monkeypatch)
    assert relations.gather_integrations().caches == (HostPort("10.0.0.40", 11211),)
    broken = FakeJuju("cache-relation-broken", "cache:4")
    broken.data = data
    broken.install(monkeypatch)
    assert relations.gather_integrations() == Integrations()


def test_database_request_uses_the_app_name_and_survives_bad_config(monkeypatch):
    juju = FakeJuju("config-changed")
    juju.install(monkeypatch)
    assert relations.database_request() == DatabaseRequest("wsgi-app")
    juju.config.update(database_name="shop", database_roles="a, b", database_extensions="citext,x:y")
    assert relations.database_request() == DatabaseRequest("shop", ("a", "b"), ("citext", "x(y)"))
    juju.config.update(database_name="shop; DROP", database_roles="bad role")
    assert relations.database_request() == DatabaseRequest("wsgi-app", (), ("citext", "x(y)"))


def test_a_relation_removed_while_the_hook_runs_is_skipped(monkeypatch):
    """relation-get fails for a relation another unit's request just removed."""
    juju = FakeJuju("config-changed")
    juju.data = {
        "cache:4": {"memcached/0": memcached("10.0.0.40")},
        "cache:5": {"memcached/1": memcached("10.0.0.41")},
    }
    juju.install(monkeypatch)
    answer = juju.relation_get

    def vanishing(attribute=None, unit=None, rid=None, app=None):
        if rid == "cache:5":
            raise subprocess.CalledProcessError(1, ["relation-get"], "ERROR relation not found")
        return answer(attribute, unit, rid, app)

    monkeypatch.setattr(relations.hookenv, "relation_get", vanishing)
    assert relations.gather_integrations().caches == (HostPort("10.0.0.40", 11211),)
    assert ("WARNING", "cache relation cache:5 went away while it was read") in juju.logged


def test_a_database_the_server_created_under_another_name_blocks_with_the_way_out():
    """PostgreSQL charms create the database only when the relation is made: a renamed
    request is never served there, so waiting would be forever."""
    server = ("postgresql/0", {"private-address": "10.0.0.30"})
    served = {"database": (relation(server, rid="database:7", app=postgresql_client_app()),)}
    with pytest.raises(RelationConflict) as raised:
        integrations_from(served, DatabaseRequest("shop"), ME)
    assert raised.value.summary == (
        "relation database:7 serves database 'wsgi-app', not 'shop' (PostgreSQL creates it only "
        "when the relation is made): remove the database relation and relate it again"
    )
    unanswered = {"database": (relation(server, rid="database:7", app={"database": "wsgi-app"}),)}
    assert integrations_from(unanswered, DatabaseRequest("shop"), ME).integrations.waiting_for == (
        "database credentials",
    )


class FakeWebsite:
    """The website Endpoint as publish_website uses it: relations holding what we published."""

    def __init__(self, **published: dict[str, str]):
        self.relations = [
            type("Relation", (), {"relation_id": rid.replace("_", ":"), "to_publish_raw": dict(data)})()
            for rid, data in published.items()
        ]

    def publish(self, relation, values):
        relation.to_publish_raw.update(values)


def test_a_unit_joins_the_proxies_balancers_only_once_it_is_ready_and_stays(monkeypatch):
    import charms.reactive

    juju = FakeJuju("website-relation-joined", "website:5", "apache2/0")
    juju.data = {"website:5": {ME: {"ingress-address": "10.0.0.10"}}, "website:6": {ME: {}}}
    juju.install(monkeypatch)
    monkeypatch.setattr(relations.hookenv, "unit_private_ip", lambda: "10.0.0.10")
    website = FakeWebsite(website_5={}, website_6={"port": "8080", "hostname": "10.0.0.9"})
    monkeypatch.setattr(
        charms.reactive, "endpoint_from_name", lambda name: website if name == "website" else None
    )
    fresh, told = website.relations
    relations.publish_website(ready=False)
    assert fresh.to_publish_raw == {}  # not yet ready: left out of this proxy's balancer
    assert told.to_publish_raw["hostname"] == "10.0.0.10"  # told before: kept up to date
    relations.publish_website(ready=True)
    assert (fresh.to_publish_raw["hostname"], fresh.to_publish_raw["port"]) == ("10.0.0.10", "8080")
