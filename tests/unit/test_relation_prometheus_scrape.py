"""The ``metrics-endpoint`` relation (interface prometheus_scrape): what the leader and each
unit publish, checked against what the Prometheus charm's library publishes and reads
(``prometheus_scrape`` LIBPATCH 61: ``MetricsEndpointProvider.set_scrape_job_spec`` and
``_set_unit_ip``, ``MetricsEndpointConsumer._static_scrape_config``)."""

from __future__ import annotations

import json

import pytest
from relation_records import ME
from test_relation_gather import FakeJuju

from charms.layer.wsgi_app import relations
from charms.layer.wsgi_app.relation_data import prometheus_scrape
from charms.layer.wsgi_app.relation_data.prometheus_scrape import Topology, app_data, unit_data

UUID = "8a1b3c5d-0e2f-4a6b-9c8d-7e6f5a4b3c2d"
TOPOLOGY = Topology("shop-prod", UUID, "wsgi-app", "wsgi-app/0", "wsgi-app")


def test_the_leader_publishes_the_topology_and_one_wildcard_job():
    """Byte for byte what the library writes for ``jobs=[{"static_configs": [{"targets":
    ["*:9102"]}]}]`` after its ``sanitize_scrape_configs`` (DEFAULT_JOB's keys first)."""
    assert app_data(TOPOLOGY, 9102) == {
        "scrape_metadata": (
            '{"model": "shop-prod", "model_uuid": "8a1b3c5d-0e2f-4a6b-9c8d-7e6f5a4b3c2d", '
            '"application": "wsgi-app", "unit": "wsgi-app/0", "charm_name": "wsgi-app"}'
        ),
        "scrape_jobs": '[{"metrics_path": "/metrics", "static_configs": [{"targets": ["*:9102"]}]}]',
    }


def test_with_metrics_off_there_is_no_job():
    """The consumer returns no job for an empty ``scrape_jobs``: every target of the
    application goes."""
    data = app_data(TOPOLOGY, 0)
    assert json.loads(data["scrape_jobs"]) == []
    assert json.loads(data["scrape_metadata"])["application"] == "wsgi-app"


def test_each_unit_publishes_its_address_and_name():
    assert unit_data("10.0.0.4", "wsgi-app/3") == {
        "prometheus_scrape_unit_address": "10.0.0.4",
        "prometheus_scrape_unit_path": "",
        "prometheus_scrape_unit_name": "wsgi-app/3",
        "prometheus_scrape_unit_fqdn": "",
    }


def test_every_application_value_is_json_from_one_encoder():
    hostile = Topology('m"\n', UUID, "a\\b", "a/0", "</script>")
    data = app_data(hostile, 9102)
    assert json.loads(data["scrape_metadata"]) == {
        "model": 'm"\n',
        "model_uuid": UUID,
        "application": "a\\b",
        "unit": "a/0",
        "charm_name": "</script>",
    }
    assert "\n" not in data["scrape_metadata"]
    assert prometheus_scrape.encoded([1, "x"]) == '[1, "x"]'


class FakeEndpoint:
    """The prometheus_scrape Endpoint as publish() uses it: its relations, what was set."""

    def __init__(self, *relation_ids: str):
        self.relations = [type("Relation", (), {"relation_id": rid})() for rid in relation_ids]
        self.published: list[tuple[str, dict[str, str], dict[str, str] | None]] = []

    def publish(self, relation, unit_values, app_values=None):
        self.published.append((relation.relation_id, unit_values, app_values))


@pytest.mark.parametrize(
    ("leader", "hook", "app_published"),
    [
        (True, "config-changed", True),
        (False, "config-changed", False),
        (True, "update-status", False),  # nothing it publishes changes: no relation-get of it
    ],
)
def test_publish_sets_unit_data_everywhere_and_app_data_from_the_leader(
    monkeypatch, leader, hook, app_published
):
    import charms.reactive

    juju = FakeJuju(hook)
    juju.config["metrics_port"] = 9102
    juju.data = {"metrics-endpoint:7": {ME: {"ingress-address": "10.0.0.10"}, "prometheus/0": {}}}
    juju.install(monkeypatch)
    endpoints = {"metrics-endpoint": FakeEndpoint("metrics-endpoint:7"), "scrape": FakeEndpoint()}
    monkeypatch.setattr(charms.reactive, "endpoint_from_name", lambda name: endpoints.get(name))
    monkeypatch.setattr(relations.leadership, "is_leader", lambda: leader)
    monkeypatch.setattr(relations.hookenv, "charm_name", lambda: "wsgi-app")
    monkeypatch.setenv("JUJU_MODEL_NAME", "shop-prod")
    monkeypatch.setenv("JUJU_MODEL_UUID", UUID)
    relations.publish()
    topology = Topology("shop-prod", UUID, "wsgi-app", ME, "wsgi-app")
    expected_app = app_data(topology, 9102) if app_published else None
    assert endpoints["metrics-endpoint"].published == [
        ("metrics-endpoint:7", unit_data("10.0.0.10", ME), expected_app)
    ]


def test_the_classic_scrape_endpoint_keeps_hostname_port_and_path(monkeypatch):
    import charms.reactive

    class Classic:
        relations = [type("Relation", (), {"relation_id": "scrape:8"})()]
        published: list[tuple[str, dict[str, str]]] = []

        def publish(self, relation, values):
            self.published.append((relation.relation_id, values))

    juju = FakeJuju("update-status")
    juju.config["metrics_port"] = 9102
    juju.data = {"scrape:8": {ME: {"ingress-address": "10.0.0.10"}, "prometheus2/0": {}}}
    juju.install(monkeypatch)
    classic = Classic()
    monkeypatch.setattr(charms.reactive, "endpoint_from_name", lambda name: {"scrape": classic}.get(name))
    monkeypatch.setattr(relations.leadership, "is_leader", lambda: False)
    relations.publish()
    assert classic.published == [
        (
            "scrape:8",
            {
                "hostname": "10.0.0.10",
                "private-address": "10.0.0.10",
                "port": "9102",
                "metrics_path": "/metrics",
            },
        )
    ]
