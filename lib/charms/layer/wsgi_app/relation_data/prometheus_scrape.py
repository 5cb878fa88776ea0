"""The ``prometheus_scrape`` interface (our ``metrics-endpoint``, we provide), as the
Prometheus charm's library publishes it (``charms.prometheus_k8s.v0.prometheus_scrape``,
``MetricsEndpointProvider``, read at LIBPATCH 61).

The leader writes two JSON values in the application data: ``scrape_metadata``, the Juju
topology the consumer turns into job names and ``juju_*`` labels, and ``scrape_jobs``, one
job scraping ``/metrics`` at ``*:<metrics_port>`` (the consumer makes one job per unit,
``*`` replaced by the unit's address). With metrics off the list is empty and the consumer
scrapes nothing of the application. Every unit writes its address and name (plain strings)
in its unit data. ``prometheus_scrape_unit_path`` and ``_fqdn`` stay empty, as the library
leaves them when it publishes an external URL: the consumer uses the FQDN only to match
targets that name a host, and ours is a wildcard (no hook pays for a DNS lookup).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

METRICS_PATH = "/metrics"


@dataclass(frozen=True)
class Topology:
    """The Juju topology of the publishing unit, in the library's key order."""

    model: str
    model_uuid: str
    application: str
    unit: str
    charm_name: str


def encoded(value: Any) -> str:
    """``value`` as the library writes every application value: ``json.dumps`` with its
    default separators, so the same jobs give the same bytes (no relation-changed)."""
    return json.dumps(value)


def jobs(metrics_port: int) -> list[dict[str, Any]]:
    """The scrape jobs: each unit's exporter at ``metrics_port``; none when it is 0."""
    if not metrics_port:
        return []
    return [{"metrics_path": METRICS_PATH, "static_configs": [{"targets": [f"*:{metrics_port}"]}]}]


def app_data(topology: Topology, metrics_port: int) -> dict[str, str]:
    """What the leader publishes in the application data of every ``metrics-endpoint`` relation."""
    return {"scrape_metadata": encoded(asdict(topology)), "scrape_jobs": encoded(jobs(metrics_port))}


def unit_data(address: str, unit: str) -> dict[str, str]:
    """What every unit publishes in its own data: where the consumer finds it."""
    return {
        "prometheus_scrape_unit_address": address,
        "prometheus_scrape_unit_path": "",
        "prometheus_scrape_unit_name": unit,
        "prometheus_scrape_unit_fqdn": "",
    }
