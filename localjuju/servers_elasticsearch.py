"""Elasticsearch, played by the stand-in server of :mod:`localjuju.es_standin` (the real
server cannot be installed here): one stand-in daemon per unit on the host's loopback
(port 9200 and up), and on every ``client`` relation what the provider publishes.

Providers differ, and option ``publish-as`` picks one: ``relation-set`` (default) is the
classic elasticsearch charm's client-relation-joined hook, raw ``cluster-name``, ``host``
and ``port``; ``endpoint`` is a charms.reactive ``Endpoint`` provider (such as
omnivector-solutions/interface-elasticsearch, checked at 9f0c3ee) that puts
``cluster_name``, ``host`` and ``port`` in ``to_publish``, which JSON-encodes each value
(``"10.0.0.5"`` with its quotes, ``9200``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import servers

if TYPE_CHECKING:
    from .agent import Agent
    from .model import Model

BASE_PORT = 9200
STANDIN = Path(__file__).resolve().parent / "es_standin.py"
OPTIONS = {
    "cluster-name": {"type": "string", "default": "elasticsearch", "description": "cluster name"},
    "publish-as": {
        "type": "string",
        "default": "relation-set",
        "description": "relation-set (the classic charm's raw keys) or endpoint (to_publish, JSON values)",
    },
}


def relation_data(
    cluster_name: str, host: str, port: int, publish_as: str = "relation-set"
) -> dict[str, str]:
    """What an elasticsearch unit publishes to a client, as the chosen provider does."""
    if publish_as == "endpoint":
        return {"cluster_name": json.dumps(cluster_name), "host": json.dumps(host), "port": json.dumps(port)}
    return {"cluster-name": cluster_name, "host": host, "port": str(port)}


def ensure_running(model: Model, unit: str, cluster_name: str) -> int:
    """Start the unit's stand-in unless it runs; return its port."""
    host = servers.unit_address(model, unit)
    port = servers.allocate_port(model, unit, BASE_PORT)
    directory = servers.unit_dir(model, unit)
    pidfile = directory / "es_standin.pid"
    if servers.read_pid(pidfile) is None:
        with open(directory / "es_standin.log", "ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    str(STANDIN),
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--cluster-name",
                    cluster_name,
                    "--node-name",
                    unit.replace("/", "-"),
                ],
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        pidfile.write_text(f"{process.pid}\n")
        servers.wait_for_port(port, host=host)
    return port


def handle(agent: Agent, unit: str, event: dict[str, Any]) -> None:
    """Any event: keep the stand-in running and publish its address on every relation."""
    model = agent.model
    app = model.units[unit]["app"]
    config = agent.effective_config(app)
    cluster_name = str(config.get("cluster-name") or app)
    port = ensure_running(model, unit, cluster_name)
    host = servers.unit_address(model, unit)
    data = relation_data(cluster_name, host, port, str(config.get("publish-as") or "relation-set"))
    servers.publish_everywhere(agent, unit, data)
    servers.set_status(model, unit, "active", f"ready (stand-in, {host}:{port})")


def teardown(model: Model, unit: str) -> None:
    servers.stop_pid(servers.unit_dir(model, unit) / "es_standin.pid")


def sweep(model_name: str) -> None:
    """Stop any of the model's stand-in daemons still running (whatever its state records)."""
    servers.stop_strays(model_name, STANDIN.name)


servers.register(
    servers.ServerKind(
        name="elasticsearch",
        charm="elasticsearch",
        provides={"client": "elasticsearch"},
        requires={},
        handle=handle,
        teardown=teardown,
        sweep=sweep,
        options=OPTIONS,
        description="an Elasticsearch 8 stand-in (localjuju/es_standin.py), one per unit",
    )
)
