"""The interface layers (interfaces/): each loads as charm-build will place it, publishes
only what changed, and documents its flags."""

from __future__ import annotations

import importlib.util

import pytest
from charmhelpers.core import hookenv
from conftest import ROOT

from charms.reactive import Endpoint
from charms.reactive.endpoints import UnitDataView

LAYERS = {
    "pgsql": ("requires", "PgsqlRequires"),
    "postgresql_client": ("requires", "PostgresqlClientRequires"),
    "memcache": ("requires", "MemcacheRequires"),
    "elasticsearch": ("requires", "ElasticsearchRequires"),
    "s3": ("requires", "S3Requires"),
    "redis": ("requires", "RedisRequires"),
    "rabbitmq": ("requires", "RabbitmqRequires"),
    "http": ("provides", "HttpProvides"),
    "prometheus": ("provides", "PrometheusProvides"),
    "prometheus_scrape": ("provides", "PrometheusScrapeProvides"),
    "wsgi-app-logs": ("provides", "LogsProvides"),
}


@pytest.fixture(autouse=True)
def charm_dir(monkeypatch):
    """The handlers' decorators find their endpoints in the charm's metadata.yaml."""
    monkeypatch.setenv("CHARM_DIR", str(ROOT))
    hookenv.cache.clear()
    yield
    hookenv.cache.clear()


def load(interface):
    role, _ = LAYERS[interface]
    path = ROOT / "interfaces" / interface / f"{role}.py"
    spec = importlib.util.spec_from_file_location(f"relations.{interface}.{role}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("interface", sorted(LAYERS))
def test_interface_layer_defines_its_endpoint(interface):
    module = load(interface)
    endpoint = getattr(module, LAYERS[interface][1])
    assert issubclass(endpoint, Endpoint)
    assert ".connected" in module.__doc__
    yaml_text = (ROOT / "interfaces" / interface / "interface.yaml").read_text()
    assert f"name: {interface}\n" in yaml_text


class FakeRelation:
    def __init__(self, unit=None, app=None):
        self.to_publish_raw = UnitDataView(dict(unit or {}), writeable=True)
        self.to_publish_app_raw = UnitDataView(dict(app or {}), writeable=True)


def test_unchanged_values_are_not_written_again(monkeypatch):
    module = load("pgsql")
    relation = FakeRelation(unit={"database": "shop", "roles": "", "private-address": "10.0.0.10"})
    monkeypatch.setattr(module.PgsqlRequires, "relations", [relation])
    monkeypatch.setattr(module.hookenv, "is_leader", lambda: False)
    module.PgsqlRequires("db").request({"database": "shop", "roles": "", "extensions": ""})
    assert not relation.to_publish_raw.modified
    module.PgsqlRequires("db").request({"database": "shop2", "roles": "", "extensions": ""})
    assert relation.to_publish_raw.modified and relation.to_publish_raw["database"] == "shop2"
    assert not relation.to_publish_app_raw.modified  # only the leader writes application data


def test_leader_writes_application_data(monkeypatch):
    for interface, cls in (("pgsql", "PgsqlRequires"), ("postgresql_client", "PostgresqlClientRequires")):
        module = load(interface)
        relation = FakeRelation()
        endpoint = getattr(module, cls)
        monkeypatch.setattr(endpoint, "relations", [relation])
        monkeypatch.setattr(module.hookenv, "is_leader", lambda: True)
        endpoint("x").request({"database": "shop"})
        assert relation.to_publish_app_raw["database"] == "shop", interface


def test_the_request_is_written_to_unit_data_and_by_the_leader_to_application_data(monkeypatch):
    module = load("rabbitmq")
    relation_view = FakeRelation(unit={"private-address": "10.0.0.10"})
    monkeypatch.setattr(module.RabbitmqRequires, "relations", [relation_view])
    monkeypatch.setattr(module.hookenv, "is_leader", lambda: False)
    module.RabbitmqRequires("amqp").request({"username": "wsgi-app", "vhost": "wsgi-app"})
    assert dict(relation_view.to_publish_raw) == {
        "private-address": "10.0.0.10",
        **{"username": "wsgi-app", "vhost": "wsgi-app"},
    }
    assert not relation_view.to_publish_app_raw.modified
    monkeypatch.setattr(module.hookenv, "is_leader", lambda: True)
    module.RabbitmqRequires("amqp").request({"username": "wsgi-app", "vhost": "wsgi-app"})
    assert dict(relation_view.to_publish_app_raw) == {"username": "wsgi-app", "vhost": "wsgi-app"}


def test_s3_request_is_application_data_from_the_leader_only(monkeypatch):
    module = load("s3")
    relation = FakeRelation()
    monkeypatch.setattr(module.hookenv, "is_leader", lambda: False)
    module.S3Requires("s3").request(relation, {"bucket": "wsgi-app"})
    assert not relation.to_publish_app_raw.modified
    monkeypatch.setattr(module.hookenv, "is_leader", lambda: True)
    module.S3Requires("s3").request(relation, {"bucket": "wsgi-app", "requested-secrets": '["access-key"]'})
    assert dict(relation.to_publish_app_raw) == {"bucket": "wsgi-app", "requested-secrets": '["access-key"]'}
    assert not relation.to_publish_raw.modified


def test_http_publishes_plain_strings():
    module = load("http")
    relation = FakeRelation(unit={"private-address": "10.0.0.10"})
    module.HttpProvides("website").publish(relation, {"hostname": "10.0.0.10", "port": "8080"})
    assert dict(relation.to_publish_raw) == {
        "private-address": "10.0.0.10",
        "hostname": "10.0.0.10",
        "port": "8080",
    }


@pytest.mark.parametrize(
    ("interface", "cls", "values"),
    [
        (
            "prometheus",
            "PrometheusProvides",
            {"hostname": "10.0.0.10", "port": "9102", "metrics_path": "/metrics"},
        ),
        ("wsgi-app-logs", "LogsProvides", {"syslog-identifier": "unit-wsgi-app-0", "log-files": ""}),
    ],
)
def test_observability_endpoints_publish_plain_strings_once(interface, cls, values):
    module = load(interface)
    relation = FakeRelation(unit={"private-address": "10.0.0.10"})
    getattr(module, cls)("x").publish(relation, values)
    assert dict(relation.to_publish_raw) == {
        "private-address": "10.0.0.10",
        **{k: v for k, v in values.items() if v},
    }
    again = FakeRelation(unit=dict(relation.to_publish_raw))
    getattr(module, cls)("x").publish(again, values)
    assert not again.to_publish_raw.modified


def test_prometheus_scrape_writes_application_data_only_when_given_it():
    module = load("prometheus_scrape")
    endpoint = module.PrometheusScrapeProvides("metrics-endpoint")
    unit = {"prometheus_scrape_unit_address": "10.0.0.10", "prometheus_scrape_unit_name": "wsgi-app/0"}
    relation = FakeRelation(unit={"private-address": "10.0.0.10"})
    endpoint.publish(relation, unit)
    assert dict(relation.to_publish_raw) == {"private-address": "10.0.0.10", **unit}
    assert not relation.to_publish_app_raw.modified  # a follower: no application data
    app = {"scrape_jobs": "[]", "scrape_metadata": '{"model": "m"}'}
    endpoint.publish(relation, unit, app)
    assert dict(relation.to_publish_app_raw) == app
    again = FakeRelation(unit=dict(relation.to_publish_raw), app=dict(relation.to_publish_app_raw))
    endpoint.publish(again, unit, app)
    assert not again.to_publish_raw.modified and not again.to_publish_app_raw.modified
