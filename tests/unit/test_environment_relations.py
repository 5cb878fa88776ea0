"""Relation data as the application sees it: the settings file and gunicorn's proxy trust."""

from __future__ import annotations

from dataclasses import replace

from charms.layer.wsgi_app.environment import app_settings
from charms.layer.wsgi_app.integrations import Database, HostPort, Integrations, SearchServer
from charms.layer.wsgi_app.render import render_all
from charms.layer.wsgi_app.settings_file import decode

DATABASE = Database(
    primary=HostPort("10.0.0.5", 5432),
    name="wsgi-app",
    user="juju_wsgi-app",
    password="p@ss word/1",
    standbys=(HostPort("10.0.0.6", 5432), HostPort("fd00::7", 5433)),
)
EVERYTHING = Integrations(
    database=DATABASE,
    caches=(HostPort("10.0.0.40", 11211), HostPort("10.0.0.41", 11211)),
    search=(SearchServer(HostPort("10.0.0.50", 9200), "es"), SearchServer(HostPort("10.0.0.51", 9200), "es")),
    proxies=("10.0.0.60", "fd00::61"),
)
RELATION_KEYS = {
    "DATABASE_URL": "postgresql://juju_wsgi-app:p%40ss%20word%2F1@10.0.0.5:5432/wsgi-app",
    "DATABASE_READ_URLS": (
        "postgresql://juju_wsgi-app:p%40ss%20word%2F1@10.0.0.6:5432/wsgi-app,"
        "postgresql://juju_wsgi-app:p%40ss%20word%2F1@[fd00::7]:5433/wsgi-app"
    ),
    "PGHOST": "10.0.0.5",
    "PGPORT": "5432",
    "PGDATABASE": "wsgi-app",
    "PGUSER": "juju_wsgi-app",
    "PGPASSWORD": "p@ss word/1",
    "MEMCACHE_SERVERS": "10.0.0.40:11211,10.0.0.41:11211",
    "CACHE_URL": "pymemcache://10.0.0.40:11211,10.0.0.41:11211",
    "ELASTICSEARCH_URL": "http://10.0.0.50:9200",
    "ELASTICSEARCH_URLS": "http://10.0.0.50:9200,http://10.0.0.51:9200",
    "ELASTICSEARCH_CLUSTER_NAME": "es",
    "FORWARDED_ALLOW_IPS": "10.0.0.60,fd00::61",
}


def test_every_relation_setting(demo_state):
    settings = app_settings(replace(demo_state, integrations=EVERYTHING))
    assert {key: settings[key] for key in RELATION_KEYS} == RELATION_KEYS


def test_settings_file_round_trips_relation_values(demo_state):
    state = replace(demo_state, integrations=EVERYTHING)
    assert decode(render_all(state).settings) == app_settings(state)


def test_gunicorn_trusts_only_the_proxies(demo_state):
    with_proxies = render_all(replace(demo_state, integrations=EVERYTHING)).gunicorn_conf
    # IPv4 peers of gunicorn's dual-stack socket show as ::ffff:a.b.c.d
    assert "forwarded_allow_ips = '10.0.0.60,::ffff:10.0.0.60,fd00::61'" in with_proxies
    alone = render_all(demo_state).gunicorn_conf
    assert "forwarded_allow_ips = '127.0.0.1,::ffff:127.0.0.1,::1'" in alone


def test_removed_relations_leave_no_settings(demo_state):
    settings = app_settings(demo_state)
    assert settings["DATABASE_URL"].startswith("sqlite:///")
    assert not (set(RELATION_KEYS) - {"DATABASE_URL"}) & set(settings)


def test_the_app_knows_which_unit_serves_it(demo_state):
    assert app_settings(replace(demo_state, unit_name="wsgi-app/2"))["APP_UNIT"] == "wsgi-app/2"
