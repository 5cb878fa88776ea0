"""localjuju's Prometheus: the scrape config built from metrics-endpoint relation data as
the Prometheus charm's library builds it (``MetricsEndpointConsumer`` at LIBPATCH 61), and
hostile data that must neither break the YAML nor point anywhere but the units themselves."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from charms.layer.wsgi_app.relation_data.prometheus_scrape import Topology, app_data, unit_data
from localjuju import servers_prometheus as prom
from localjuju.model import Model

UUID = "8a1b3c5d-0e2f-4a6b-9c8d-7e6f5a4b3c2d"
ADDRESSES = {"wsgi-app/0": "10.231.0.10", "wsgi-app/1": "10.231.0.11"}
UNITS = [(unit, unit_data(address, unit)) for unit, address in ADDRESSES.items()]
APP_DATA = app_data(Topology("shop", UUID, "wsgi-app", "wsgi-app/0", "wsgi-app"), 9102)
LABELS = {
    "juju_model": "shop",
    "juju_model_uuid": UUID,
    "juju_application": "wsgi-app",
    "juju_charm": "wsgi-app",
}
RELABEL = {
    "source_labels": ["juju_model", "juju_model_uuid", "juju_application", "juju_unit"],
    "separator": "_",
    "target_label": "instance",
    "regex": "(.*)",
}


def jobs_of(app: dict[str, str], units=UNITS, addresses=ADDRESSES):
    return prom.relation_jobs(app, units, addresses, "wsgi-app")


def test_the_charms_wildcard_job_becomes_one_job_per_unit_with_topology_labels():
    jobs, notes = jobs_of(APP_DATA)
    assert notes == []
    assert jobs == [
        {
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [f"{address}:9102"], "labels": {**LABELS, "juju_unit": unit}}],
            "job_name": f"juju_shop_8a1b3c5d_wsgi-app_prometheus_scrape-{unit[-1]}",
            "relabel_configs": [RELABEL],
        }
        for unit, address in ADDRESSES.items()
    ]


def test_no_units_or_no_jobs_give_no_job():
    assert jobs_of(APP_DATA, units=[]) == ([], [])
    off = app_data(Topology("shop", UUID, "wsgi-app", "wsgi-app/0", "wsgi-app"), 0)
    assert jobs_of(off) == ([], [])
    assert jobs_of({}) == ([], [])


def test_a_unit_without_an_address_yet_is_left_out():
    units = [UNITS[0], ("wsgi-app/1", {})]
    jobs, notes = jobs_of(APP_DATA, units=units)
    assert [job["job_name"][-2:] for job in jobs] == ["-0"] and notes == []


def test_named_jobs_paths_and_the_unit_path_prefix():
    app = {
        **APP_DATA,
        "scrape_jobs": json.dumps(
            [{"job_name": "exporter", "metrics_path": "/m", "static_configs": [{"targets": ["*:9"]}]}]
        ),
    }
    units = [("wsgi-app/0", {**unit_data("10.231.0.10", "wsgi-app/0"), "prometheus_scrape_unit_path": "/p"})]
    jobs, _ = jobs_of(app, units=units)
    assert [(j["job_name"], j["metrics_path"]) for j in jobs] == [
        ("juju_shop_8a1b3c5d_wsgi-app_prometheus_scrape_exporter-0", "/p/m")
    ]


def test_an_explicit_target_at_a_units_own_address_is_that_units_job():
    app = {**APP_DATA, "scrape_jobs": json.dumps([{"static_configs": [{"targets": ["10.231.0.11:9102"]}]}])}
    jobs, notes = jobs_of(app)
    assert notes == [] and len(jobs) == 1
    assert jobs[0]["static_configs"][0]["labels"]["juju_unit"] == "wsgi-app/1"


def test_equal_names_get_a_hash_and_equal_jobs_are_kept_once():
    one = {"job_name": "a", "static_configs": [{"targets": ["*:9102"]}]}
    app = {**APP_DATA, "scrape_jobs": json.dumps([one, one])}
    jobs, _ = jobs_of(app)
    assert len(jobs) == 2  # one per unit; the copy is gone
    two = {"job_name": "a", "metrics_path": "/other", "static_configs": [{"targets": ["*:9102"]}]}
    jobs, _ = jobs_of({**APP_DATA, "scrape_jobs": json.dumps([one, two])})
    names = [job["job_name"] for job in jobs]
    assert len(set(names)) == 4 and all(len(name.rsplit("_", 1)[1]) == 64 for name in names)


HOSTILE_JOBS = [
    {"static_configs": [{"targets": ["evil.example:80"]}]},  # elsewhere than the units
    {"static_configs": [{"targets": ["10.231.0.99:9102"]}]},  # not a unit's address
    {"static_configs": [{"targets": ["*:99999"]}]},
    {"static_configs": [{"targets": ["*:9102\nscrape_configs: []"]}]},
    {"metrics_path": "/metrics\n- job_name: x", "static_configs": [{"targets": ["*:9102"]}]},
    {"metrics_path": "http://evil/", "static_configs": [{"targets": ["*:9102"]}]},
    {"job_name": "a: b\n", "static_configs": [{"targets": ["*:9102"]}]},
    {"static_configs": [{"targets": ["*:9102"], "labels": {"__address__": "evil:80"}}]},
    {"static_configs": [{"targets": ["*:9102"], "labels": {"x": "a\nb"}}]},
    {"static_configs": [{"targets": ["*:9102"], "labels": {"bad-name": "v"}}]},
    {"scrape_interval": "1s; rm", "static_configs": [{"targets": ["*:9102"]}]},
    {"static_configs": "*:9102"},
    {"static_configs": [{"targets": "*:9102"}]},
]


@pytest.mark.parametrize("job", HOSTILE_JOBS, ids=range(len(HOSTILE_JOBS)))
def test_hostile_jobs_are_skipped_with_a_note(job):
    jobs, notes = jobs_of({**APP_DATA, "scrape_jobs": json.dumps([job])})
    assert jobs == [] and len(notes) == 1 and "skipped" in notes[0], notes


def test_keys_not_rendered_here_are_dropped_with_a_note():
    job = {
        "proxy_url": "http://evil:3128",
        "tls_config": {},
        "honor_labels": True,
        "static_configs": [{"targets": ["*:9102"]}],
    }
    jobs, notes = jobs_of({**APP_DATA, "scrape_jobs": json.dumps([job])})
    assert len(jobs) == 2 and all("proxy_url" not in j and "honor_labels" not in j for j in jobs)
    assert notes == [
        "juju_shop_8a1b3c5d_wsgi-app_prometheus_scrape: not rendered here: proxy_url, tls_config"
    ]


@pytest.mark.parametrize(
    "metadata",
    [
        "not json",
        json.dumps(["a"]),
        json.dumps({"model": "shop", "model_uuid": "not-a-uuid", "application": "wsgi-app"}),
        json.dumps({"model": "shop", "model_uuid": UUID, "application": "other-app"}),
        json.dumps({"model": "shop\n", "model_uuid": UUID, "application": "wsgi-app"}),
        json.dumps({"model": "shop", "model_uuid": UUID, "application": "wsgi-app", "charm_name": "x: y"}),
        json.dumps({"model": 1, "model_uuid": UUID, "application": "wsgi-app"}),
    ],
)
def test_hostile_metadata_skips_the_relation(metadata):
    jobs, notes = jobs_of({**APP_DATA, "scrape_metadata": metadata})
    assert jobs == [] and len(notes) == 1


def test_jobs_without_metadata_are_not_rendered():
    jobs, notes = jobs_of({"scrape_jobs": APP_DATA["scrape_jobs"]})
    assert jobs == [] and "without scrape_metadata" in notes[0]


@pytest.mark.parametrize(
    ("unit", "data"),
    [
        ("wsgi-app/1", unit_data("10.0.0.1", "wsgi-app/1")),  # an address not its own
        ("wsgi-app/1", unit_data("10.231.0.11", "wsgi-app/0")),  # another unit's name
        ("wsgi-app/1", {**unit_data("10.231.0.11", "wsgi-app/1"), "prometheus_scrape_unit_path": "/a b"}),
    ],
)
def test_a_unit_naming_something_else_than_itself_is_skipped(unit, data):
    jobs, notes = jobs_of(APP_DATA, units=[UNITS[0], (unit, data)])
    assert [job["static_configs"][0]["labels"]["juju_unit"] for job in jobs] == ["wsgi-app/0"]
    assert len(notes) == 1 and notes[0].startswith("wsgi-app/1: skipped")


def test_the_config_is_yaml_from_one_encoder_and_reads_back():
    jobs, _ = jobs_of(APP_DATA)
    text = prom.render_config(jobs, "2s")
    assert text.startswith("# Generated by localjuju")
    assert yaml.safe_load(text) == {
        "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
        "scrape_configs": jobs,
    }


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool (Debian's prometheus) is not installed")
def test_promtool_accepts_the_rendered_config(tmp_path: Path):
    jobs, _ = jobs_of(APP_DATA)
    config = tmp_path / "prometheus.yml"
    config.write_text(prom.render_config(jobs, "2s"))
    checked = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("value", "ok"), [("2s", True), ("1m", True), ("500ms", True), ("0s", False), ("2 s", False), ("", True)]
)
def test_the_scrape_interval_option_is_a_duration(value, ok):
    if ok:
        assert prom.interval({"scrape_interval": value}) == (value or "1m")
    else:
        with pytest.raises(prom.Skipped):
            prom.interval({"scrape_interval": value})


def model_with(seen: list[str], removing: bool = False) -> Model:
    """A model of two wsgi-app units on machines and Prometheus in the server namespace,
    related over metrics-endpoint; Prometheus has seen ``seen`` join."""
    model = Model.empty("prom-test")
    model.data["applications"] = {"prometheus": {"isolated": True}, "wsgi-app": {"isolated": True}}
    model.data["machines"] = {"0": {"address": "10.231.0.10"}, "1": {"address": "10.231.0.11"}}
    model.data["units"] = {
        "prometheus/0": {"app": "prometheus", "machine": "host"},
        "wsgi-app/0": {"app": "wsgi-app", "machine": "0"},
        "wsgi-app/1": {"app": "wsgi-app", "machine": "1"},
    }
    data = {"wsgi-app": APP_DATA, **dict(UNITS)}
    rel = {"apps": {"wsgi-app": "metrics-endpoint", "prometheus": "metrics-endpoint"}, "data": data}
    model.data["relations"] = {"4": {**rel, "seen": {"prometheus/0": seen}, "removing": removing}}
    return model


def test_the_jobs_follow_the_units_prometheus_has_seen_join():
    jobs, notes = prom.all_jobs(model_with(["wsgi-app/0", "wsgi-app/1"]), "prometheus/0")
    assert [job["static_configs"][0]["targets"] for job in jobs] == [
        ["10.231.0.10:9102"],
        ["10.231.0.11:9102"],
    ]
    assert notes == []
    jobs, _ = prom.all_jobs(model_with(["wsgi-app/0"]), "prometheus/0")  # wsgi-app/1 departed
    assert [job["static_configs"][0]["labels"]["juju_unit"] for job in jobs] == ["wsgi-app/0"]
    assert prom.all_jobs(model_with(["wsgi-app/0"], removing=True), "prometheus/0") == ([], [])
