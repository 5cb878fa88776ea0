"""Prometheus for real: two units of the charm on the model's own network, related over
``metrics-endpoint`` (interface prometheus_scrape) to localjuju's Prometheus (Debian's
prometheus, its scrape jobs built from the relation as the Prometheus charm's library
builds them). After a bounded load, Prometheus's HTTP API answers each unit's request rate
and latency quantile (labelled by ``juju_unit``); a removed unit's target goes, and so does
every target once metrics are off.

Machines at 10.231.0.1x, Prometheus at 10.231.0.2:9090 in the server namespace; every
request comes from that namespace, never from the host's network.
"""

from __future__ import annotations

import json
import math
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from localmodel import APP, SERVERS, LocalModel, SteadyLoad, netns_get, servers_netns, wait_until

from bench.machine import isolated_wheels

METRICS_PORT = 9191
PROMETHEUS = f"http://{SERVERS}:9090"
UNITS = (f"{APP}/0", f"{APP}/1")
T = TypeVar("T")
WINDOW = "20s"  # rate() needs two scrapes in the window: scrape_interval is 2s here


@pytest.fixture(scope="module")
def stack(model: LocalModel, charm: Path) -> LocalModel:
    model.deploy(charm, "-n", "2", "--isolated", *isolated_wheels(), metrics_port=METRICS_PORT)
    model.cli("deploy", "prometheus", "--isolated", "--config", "scrape_interval=2s")
    model.cli("relate", f"{APP}:metrics-endpoint", "prometheus:metrics-endpoint")
    return model


def api(model: LocalModel, path: str, **query: str) -> Any:
    """The ``data`` of a Prometheus API answer (asserting its ``status`` is success)."""
    url = f"{PROMETHEUS}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    answer = netns_get(servers_netns(model), url)
    assert answer.status == 200, answer
    body = answer.json()
    assert body["status"] == "success", body
    return body["data"]


def targets(model: LocalModel) -> dict[str, dict[str, Any]]:
    """The active targets by their ``juju_unit`` label."""
    return {t["labels"].get("juju_unit", ""): t for t in api(model, "/api/v1/targets")["activeTargets"]}


def per_unit(model: LocalModel, query: str) -> dict[str, float]:
    """An instant query's value per ``juju_unit``."""
    result = api(model, "/api/v1/query", query=query)["result"]
    return {series["metric"].get("juju_unit", ""): float(series["value"][1]) for series in result}


def kept(value: T, predicate: Callable[[T], bool]) -> T | None:
    """``value`` if ``predicate(value)``, else ``None`` (for :func:`wait_until`)."""
    return value if predicate(value) else None


def unit_address(model: LocalModel, unit: str) -> str:
    return str(model.unit(unit)["address"])


def test_the_leader_publishes_scrape_jobs_and_topology(stack: LocalModel) -> None:
    record = stack.record()
    rel = next(r for r in record["relations"].values() if r["apps"].get(APP) == "metrics-endpoint")
    assert json.loads(rel["data"][APP]["scrape_jobs"]) == [
        {"metrics_path": "/metrics", "static_configs": [{"targets": [f"*:{METRICS_PORT}"]}]}
    ]
    metadata = json.loads(rel["data"][APP]["scrape_metadata"])
    assert metadata["unit"] in UNITS, metadata  # the leader's
    assert metadata == {
        "model": stack.name,
        "model_uuid": record["uuid"],
        "application": APP,
        "unit": metadata["unit"],
        "charm_name": APP,
    }
    for unit in UNITS:
        assert rel["data"][unit]["prometheus_scrape_unit_address"] == unit_address(stack, unit)
        assert rel["data"][unit]["prometheus_scrape_unit_name"] == unit


def test_each_unit_is_a_target_with_the_charms_job_name_and_labels(stack: LocalModel) -> None:
    uuid = stack.record()["uuid"]
    found = wait_until(
        "both units' targets up",
        lambda: kept(targets(stack), lambda t: all(t.get(u, {}).get("health") == "up" for u in UNITS)),
        60,
        1,
    )
    for unit in UNITS:
        labels = found[unit]["labels"]
        number = unit.split("/")[1]
        assert labels["job"] == f"juju_{stack.name}_{uuid[:8]}_{APP}_prometheus_scrape-{number}", labels
        assert labels["instance"] == f"{stack.name}_{uuid}_{APP}_{unit}", labels
        assert (labels["juju_model"], labels["juju_application"], labels["juju_charm"]) == (
            stack.name,
            APP,
            APP,
        )
        assert found[unit]["scrapeUrl"] == f"http://{unit_address(stack, unit)}:{METRICS_PORT}/metrics"


def test_request_rate_and_latency_per_unit_after_load(stack: LocalModel) -> None:
    rate = f"sum by (juju_unit) (rate(gunicorn_requests_total[{WINDOW}]))"
    quantile = (
        "histogram_quantile(0.9, sum by (le, juju_unit) "
        f"(rate(gunicorn_request_duration_seconds_bucket[{WINDOW}])))"
    )
    loads = [
        SteadyLoad(
            f"http://{unit_address(stack, unit)}:8080/request", 2, 60, servers_netns(stack), pause=0.05
        )
        for unit in UNITS
    ]
    begun = time.monotonic()
    for load in loads:
        load.__enter__()
    try:
        rates = wait_until(
            "a request rate for each unit",
            lambda: kept(per_unit(stack, rate), lambda r: all(r.get(u, 0) > 0 for u in UNITS)),
            45,
            2,
        )
        quantiles = per_unit(stack, quantile)
    finally:
        for load in loads:
            load.__exit__()
    print(f"after {time.monotonic() - begun:.0f}s of load: rate {rates}, p90 {quantiles}")
    assert all(not load.failures for load in loads), [load.failures[:3] for load in loads]
    assert set(rates) == set(UNITS), rates
    assert set(quantiles) == set(UNITS), quantiles
    for unit in UNITS:
        assert 0 < quantiles[unit] <= 10 and math.isfinite(quantiles[unit]), quantiles


def test_a_removed_units_target_goes(stack: LocalModel) -> None:
    stack.cli("remove-unit", UNITS[1])
    left = wait_until(
        "wsgi-app/1's target gone",
        lambda: kept(targets(stack), lambda t: UNITS[1] not in t),
        30,
        1,
    )
    assert set(left) == {UNITS[0]}, left


def test_every_target_goes_when_metrics_are_off(stack: LocalModel) -> None:
    stack.config(metrics_port="0")
    wait_until("no target left", lambda: not targets(stack), 30, 1)
    config = (Path(stack.directory) / "servers" / "prometheus-0" / "prometheus.yml").read_text()
    assert "scrape_configs: []" in config, config
