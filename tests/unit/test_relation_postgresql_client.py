"""The postgresql_client (database) reader: application data, secrets merged in by the caller."""

from __future__ import annotations

import pytest
from relation_records import PASSWORD, postgresql_client_app, relation

from charms.layer.wsgi_app.integrations import HostPort
from charms.layer.wsgi_app.relation_data.pgsql import DatabaseRequest
from charms.layer.wsgi_app.relation_data.postgresql_client import read_database, request_data

REQUEST = DatabaseRequest("wsgi-app", ("CREATEDB",))
SERVER = ("postgresql/0", {"ingress-address": "10.0.0.30"})


def test_ready_with_plain_credentials():
    database, notes = read_database(
        [relation(SERVER, rid="database:7", app=postgresql_client_app())], REQUEST
    )
    assert database is not None
    assert database.primary == HostPort("10.0.0.30", 5432)
    assert (database.name, database.user, database.password) == ("wsgi-app", "relation_id_7", PASSWORD)
    assert database.standbys == (HostPort("10.0.0.31", 5432), HostPort("10.0.0.32", 5432))
    assert notes == []


def test_request_is_the_database_and_extra_roles():
    assert request_data(REQUEST) == {
        "database": "wsgi-app",
        "extra-user-roles": "CREATEDB",
        "requested-secrets": '["username", "password", "tls", "tls-ca", "uris", "read-only-uris"]',
    }


def test_secret_variant_waits_until_the_caller_merges_the_secret():
    app = postgresql_client_app(username="", password="")
    app["secret-user"] = "secret:cr7k3pbmp25c77ul5p2g"
    assert read_database([relation(SERVER, app=app)], REQUEST)[0] is None
    merged = {**app, "username": "relation_id_7", "password": PASSWORD}
    assert read_database([relation(SERVER, app=merged)], REQUEST)[0] is not None


def test_read_only_endpoints_default_to_nothing_and_skip_the_primary():
    app = postgresql_client_app(**{"read-only-endpoints": "10.0.0.30:5432"})
    assert read_database([relation(SERVER, app=app)], REQUEST)[0].standbys == ()
    del app["read-only-endpoints"]
    assert read_database([relation(SERVER, app=app)], REQUEST)[0].standbys == ()


def test_ipv6_endpoints():
    app = postgresql_client_app(endpoints="[fd00::30]:5432", **{"read-only-endpoints": ""})
    database = read_database([relation(SERVER, app=app)], REQUEST)[0]
    assert database.primary == HostPort("fd00::30", 5432)
    assert database.url().endswith("@[fd00::30]:5432/wsgi-app")


def test_not_ready_without_units_or_for_another_database():
    assert read_database([relation(app=postgresql_client_app())], REQUEST)[0] is None
    assert read_database([relation(SERVER, app=postgresql_client_app(database="other"))], REQUEST)[0] is None


@pytest.mark.parametrize(
    "changes",
    [
        {"endpoints": "10.0.0.30"},
        {"endpoints": "10.0.0.30:http"},
        {"endpoints": "bad host:5432"},
        {"endpoints": "10.0.0.30:5432\nEVIL=1"},
        {"password": "pa\nss"},
        {"username": "user\x00"},
    ],
)
def test_bad_data_is_not_ready_and_never_raises(changes):
    database, notes = read_database([relation(SERVER, app=postgresql_client_app(**changes))], REQUEST)
    assert database is None
    assert any(note.level == "WARNING" for note in notes)
    assert all(PASSWORD not in note.message for note in notes)


def test_a_bad_read_only_endpoint_is_dropped():
    app = postgresql_client_app(**{"read-only-endpoints": "10.0.0.31:5432,10.0.0.32:99999"})
    database, notes = read_database([relation(SERVER, app=app)], REQUEST)
    assert database.standbys == (HostPort("10.0.0.31", 5432),)
    assert len(notes) == 1
