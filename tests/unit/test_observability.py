"""Journal identifier, statsd routing and the relation data of the logs and metrics endpoints."""

from __future__ import annotations

from dataclasses import replace

from charms.layer.wsgi_app.config import parse_config
from charms.layer.wsgi_app.observability import (
    Statsd,
    logging_data,
    scrape_data,
    statsd,
    syslog_identifier,
    unit_identifier,
)


def test_identifier_is_the_unit_tag_without_a_slash(demo_state):
    assert unit_identifier("wsgi-app/0") == "unit-wsgi-app-0"
    assert syslog_identifier(replace(demo_state, unit_name="shop/12")) == "unit-shop-12"
    assert syslog_identifier(demo_state) == "wsgi-app"  # no unit name (layer tests)


def test_statsd_goes_straight_to_statsd_host_without_metrics(demo_state):
    state = replace(demo_state, unit_name="wsgi-app/1", config=parse_config({"statsd_host": "10.0.0.9:8125"}))
    assert statsd(state) == Statsd("10.0.0.9:8125", "unit-wsgi-app-1", 0, "")
    assert statsd(demo_state).target == ""  # off by default


def test_with_metrics_gunicorn_feeds_the_exporter_which_relays(demo_state):
    config = parse_config({"statsd_host": "10.0.0.9:8125", "metrics_port": 9102})
    state = replace(demo_state, unit_name="wsgi-app/0", config=config)
    assert statsd(state) == Statsd("127.0.0.1:9102", "unit-wsgi-app-0", 9102, "10.0.0.9:8125")


def test_logging_relation_names_the_journal_identifier_and_unit():
    assert logging_data("shop/3") == {
        "syslog-identifier": "unit-shop-3",
        "systemd-unit": "shop@*.service",
        "journal-match": "SYSLOG_IDENTIFIER=unit-shop-3",
        "log-format": "gunicorn access log: config access_log_format (key=value by default)",
        "log-files": "",
    }


def test_scrape_data_withdraws_the_target_when_metrics_are_off():
    assert scrape_data("10.0.0.4", 9102) == {
        "hostname": "10.0.0.4",
        "private-address": "10.0.0.4",
        "port": "9102",
        "metrics_path": "/metrics",
    }
    assert scrape_data("10.0.0.4", 0) == {
        "hostname": "",
        "private-address": "10.0.0.4",
        "port": "",
        "metrics_path": "",
    }
