"""Where the unit's logs and metrics go: journal identifier, statsd target, exporter.

Pure functions of the state; :mod:`.render` puts them into the unit files and the
gunicorn config, :mod:`.metrics` runs the exporter, :mod:`.logs` reads the journal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .state import WsgiState

EXPORTER_PATH = "/usr/local/lib/wsgi-app/statsd_exporter.py"


def syslog_identifier(state: WsgiState) -> str:
    """The journal/syslog identifier of the app's output: the unit's Juju tag.

    ``wsgi-app/0`` becomes ``unit-wsgi-app-0``, the form Juju itself uses for the unit's
    agent directory and log file: a ``/`` is legal for journald but syslog parsers
    (rsyslog's TAG, RFC 3164) stop a tag at it, and shippers match on the tag.
    Without a unit name (a layer's tests), the application name.
    """
    return unit_identifier(state.unit_name) if state.unit_name else state.app_name


def unit_identifier(unit_name: str) -> str:
    """``wsgi-app/0`` -> ``unit-wsgi-app-0``."""
    return "unit-" + re.sub(r"[^A-Za-z0-9.-]", "-", unit_name)


@dataclass(frozen=True)
class Statsd:
    """gunicorn's statsd settings, and what the local exporter does with them."""

    target: str  # host:port gunicorn sends to; "" = instrumentation off
    prefix: str
    exporter_port: int  # 0 = no exporter; else it listens on UDP and serves TCP on it
    forward_to: str  # where the exporter relays every datagram ("" = nowhere)


def statsd(state: WsgiState) -> Statsd:
    """With ``metrics_port`` gunicorn talks to the local exporter (which relays to
    ``statsd_host``); without it, straight to ``statsd_host``."""
    config = state.config
    prefix = syslog_identifier(state)
    if config.metrics_port:
        return Statsd(f"127.0.0.1:{config.metrics_port}", prefix, config.metrics_port, config.statsd_host)
    return Statsd(config.statsd_host, prefix, 0, "")


def logging_data(unit_name: str) -> dict[str, str]:
    """What this unit publishes on the ``logging`` relation (interface wsgi-app-logs)."""
    app = unit_name.split("/", 1)[0]
    identifier = unit_identifier(unit_name)
    return {
        "syslog-identifier": identifier,
        "systemd-unit": f"{app}@*.service",  # the slots of the service template
        "journal-match": f"SYSLOG_IDENTIFIER={identifier}",
        "log-format": "gunicorn access log: config access_log_format (key=value by default)",
        "log-files": "",  # everything goes to the journal; no file to tail
    }


def scrape_data(address: str, metrics_port: int) -> dict[str, str]:
    """What this unit publishes on ``scrape`` (the classic interface prometheus, for the
    prometheus2 charm; ``metrics-endpoint`` is :mod:`.relation_data.prometheus_scrape`);
    empty values (metrics off) remove the keys, so the scraper drops the target."""
    port = str(metrics_port) if metrics_port else ""
    return {
        "hostname": address if port else "",
        "private-address": address,
        "port": port,
        "metrics_path": "/metrics" if port else "",
    }
