"""Elasticsearch, played by the stand-in server of :mod:`localjuju.es_standin` (the real
server cannot be installed here): one stand-in daemon per unit on the host's loopback
(port 9200 and up), and on every ``client`` relation the keys the elasticsearch charm
sets on client-relation-joined: ``cluster-name``, ``host`` and ``port``.
"""

from __future__ import annotations

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
OPTIONS = {"cluster-name": {"type": "string", "default": "elasticsearch", "description": "cluster name"}}


def relation_data(cluster_name: str, host: str, port: int) -> dict[str, str]:
    """What an elasticsearch unit publishes to a client."""
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
    cluster_name = str(agent.effective_config(app).get("cluster-name") or app)
    port = ensure_running(model, unit, cluster_name)
    host = servers.unit_address(model, unit)
    servers.publish_everywhere(agent, unit, relation_data(cluster_name, host, port))
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
