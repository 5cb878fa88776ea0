"""The pgsql (db) reader: readiness, failover, standbys, and bad data never raising."""

from __future__ import annotations

import pytest
from relation_records import ME, PASSWORD, classic_master, classic_standby, ops_db_app, relation

from charms.layer.wsgi_app.integrations import HostPort
from charms.layer.wsgi_app.relation_data.common import BadData
from charms.layer.wsgi_app.relation_data.pgsql import (
    DatabaseRequest,
    OwnAddress,
    granted,
    parse_libpq,
    read_database,
)

REQUEST = DatabaseRequest("wsgi-app")
MYSELF = OwnAddress(ME, ("10.0.0.10/32",))


def test_classic_master_with_standbys_is_ready():
    database, notes = read_database([relation(("postgresql/0", classic_master()))], REQUEST, MYSELF)
    assert database is not None
    assert database.primary == HostPort("10.0.0.5", 5432)
    assert (database.name, database.user, database.password) == ("wsgi-app", "juju_wsgi-app", PASSWORD)
    assert database.standbys == (HostPort("10.0.0.6", 5432), HostPort("10.0.0.7", 5432))
    assert all(note.level == "DEBUG" for note in notes)


def test_request_data_is_what_the_server_reads():
    request = DatabaseRequest("shop", ("reporting",), ("citext", "hstore(public)"))
    assert request.relation_data() == {
        "database": "shop",
        "roles": "reporting",
        "extensions": "citext,hstore(public)",
    }
    assert REQUEST.relation_data() == {"database": "wsgi-app", "roles": "", "extensions": ""}


def test_not_ready_before_the_server_answers():
    joined_only = {"ingress-address": "10.0.0.5", "private-address": "10.0.0.5"}
    database, notes = read_database([relation(("postgresql/0", joined_only))], REQUEST, MYSELF)
    assert database is None
    assert notes and all(note.level == "DEBUG" for note in notes)


def test_not_ready_until_this_unit_is_granted():
    other = classic_master(**{"allowed-units": "wsgi-app/1", "allowed-subnets": "10.0.0.11/32"})
    assert read_database([relation(("postgresql/0", other))], REQUEST, MYSELF)[0] is None


def test_granted_by_unit_name_or_by_subnet():
    by_name = {"allowed-units": "other/0, wsgi-app/0"}  # commas too
    assert granted(by_name, OwnAddress(ME))
    assert granted({"allowed-subnets": "10.0.0.0/24"}, MYSELF)
    assert not granted({"allowed-subnets": "10.0.1.0/24"}, MYSELF)
    assert not granted({"allowed-subnets": "10.0.0.0/24"}, OwnAddress(ME))  # egress unknown
    assert not granted({"allowed-subnets": "garbage"}, MYSELF)
    assert not granted({"allowed-units": "wsgi-app/00 wsgi-app/01"}, OwnAddress(ME))


def test_not_ready_until_the_requested_database_is_echoed():
    assert (
        read_database([relation(("postgresql/0", classic_master()))], DatabaseRequest("shop"), MYSELF)[0]
        is None
    )
    echoing = classic_master(
        database="shop", master=classic_master()["master"].replace("wsgi-app", "shop", 1)
    )
    database, _ = read_database([relation(("postgresql/0", echoing))], DatabaseRequest("shop"), MYSELF)
    assert database is not None and database.name == "shop"


def test_roles_and_extensions_must_be_echoed_when_asked_for():
    request = DatabaseRequest("wsgi-app", ("reporting",), ("citext",))
    assert read_database([relation(("postgresql/0", classic_master()))], request, MYSELF)[0] is None
    answered = classic_master(roles="reporting", extensions="citext")
    assert read_database([relation(("postgresql/0", answered))], request, MYSELF)[0] is not None


def test_failover_follows_the_master_string():
    before = [relation(("postgresql/0", classic_master()), ("postgresql/1", classic_standby("10.0.0.6")))]
    assert read_database(before, REQUEST, MYSELF)[0].primary == HostPort("10.0.0.5", 5432)
    new_master = f"dbname=wsgi-app host=10.0.0.6 password={PASSWORD} port=5432 user=juju_wsgi-app"
    standbys = f"dbname=wsgi-app host=10.0.0.5 password={PASSWORD} port=5432 user=juju_wsgi-app"
    after = [
        relation(
            ("postgresql/0", classic_standby("10.0.0.5", master=new_master, standbys=standbys)),
            ("postgresql/1", classic_master(host="10.0.0.6", master=new_master, standbys=standbys)),
        )
    ]
    database = read_database(after, REQUEST, MYSELF)[0]
    assert database.primary == HostPort("10.0.0.6", 5432)
    assert database.standbys == (HostPort("10.0.0.5", 5432),)


def test_ops_server_with_comma_joined_standbys_in_app_data():
    app = ops_db_app()
    unit_data = {"ingress-address": "10.0.0.20", "private-address": "10.0.0.20"}
    database, _ = read_database([relation(("postgresql/0", unit_data), app=app)], REQUEST, MYSELF)
    assert database is not None and database.user == "relation-5"
    assert database.standbys == (HostPort("10.0.0.21", 5432), HostPort("10.0.0.22", 5432))


@pytest.mark.parametrize(
    "changes",
    [
        {"password": "", "master": ""},
        {"master": "dbname=wsgi-app host=10.0.0.5 port=5432x user=u password=p"},
        {"master": "dbname=wsgi-app host=10.0.0.5 port=70000 user=u password=p"},
        {"master": "dbname=wsgi-app host='db host' port=5432 user=u password=p"},
        {"master": "dbname=wsgi-app host=10.0.0.5 port=5432 user=u password='p"},
        {"master": "dbname=wsgi-app host=10.0.0.5 port=5432 user=u password=p\nEVIL=1"},
        {"master": "", "host": "10.0.0.5\nEVIL=1"},
        {"master": "", "port": "-1"},
        {"master": "", "password": "pass\rword"},
    ],
)
def test_bad_unit_is_skipped_and_good_unit_used(changes):
    bad = classic_master(**changes)
    good = classic_standby(
        "10.0.0.9", master=classic_master(host="10.0.0.9")["master"].replace("10.0.0.5", "10.0.0.9")
    )
    database, notes = read_database([relation(("postgresql/0", bad))], REQUEST, MYSELF)
    assert database is None
    assert any(note.level == "WARNING" for note in notes)
    assert all(PASSWORD not in note.message and "p\n" not in note.message for note in notes)
    both = [relation(("postgresql/0", bad), ("postgresql/1", good))]
    database, _ = read_database(both, REQUEST, MYSELF)
    assert database is not None and database.primary == HostPort("10.0.0.9", 5432)


def test_a_bad_standby_is_dropped_the_primary_kept():
    standbys = f"dbname=wsgi-app host=10.0.0.6 password={PASSWORD} port=5432 user=u\nhost=bad host port=1"
    database, notes = read_database(
        [relation(("postgresql/0", classic_master(standbys=standbys)))], REQUEST, MYSELF
    )
    assert database is not None and database.standbys == (HostPort("10.0.0.6", 5432),)
    assert any("standby 2 skipped" in note.message for note in notes)


def test_control_characters_in_standbys_drop_only_the_standbys():
    database, _ = read_database(
        [relation(("postgresql/0", classic_master(standbys="host=a\x00")))], REQUEST, MYSELF
    )
    assert database is not None and database.standbys == ()


def test_libpq_strings():
    assert parse_libpq("host=h port=5432 dbname='my db' password='it\\'s' user = u") == {
        "host": "h",
        "port": "5432",
        "dbname": "my db",
        "password": "it's",
        "user": "u",
    }
    with pytest.raises(BadData):
        parse_libpq("host=h garbage")
