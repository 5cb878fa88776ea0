"""memcached, as the memcached charm serves it: one daemon per unit (Debian's memcached, on
the host's loopback, port 11211 and up), and ``host``, ``port`` and ``udp-port`` in each
unit's data on every ``cache`` (memcache) relation.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import servers

if TYPE_CHECKING:
    from .agent import Agent
    from .model import Model

BASE_PORT = 11211
MEMORY_MB = 64


def relation_data(host: str, port: int) -> dict[str, str]:
    """What a memcached unit publishes (UDP off, as the charm's default)."""
    return {"host": host, "port": str(port), "udp-port": "0"}


def command(host: str, port: int, pidfile: str) -> list[str]:
    return [
        "memcached",
        "-d",
        "-u",
        "memcache",
        "-l",
        host,
        "-p",
        str(port),
        "-U",
        "0",
        "-m",
        str(MEMORY_MB),
        "-P",
        pidfile,
    ]


def ensure_running(model: Model, unit: str) -> int:
    """Start the unit's memcached unless it runs; return its port."""
    servers.ensure_packages("memcached", ["memcached"])
    port = servers.allocate_port(model, unit, BASE_PORT)
    pidfile = run_dir(model, unit) / "memcached.pid"
    host = servers.unit_address(model, unit)
    if servers.read_pid(pidfile) is None:
        servers.run(command(host, port, str(pidfile)))
        servers.wait_for_port(port, host=host)
        for _ in range(50):  # the daemon writes its pid file just after it starts listening
            if servers.read_pid(pidfile):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"memcached wrote no pid file at {pidfile}")
    return port


def run_dir(model: Model, unit: str) -> Path:
    """Where the daemon, running as memcache, writes its pid file (via a temporary file)."""
    directory = servers.unit_dir(model, unit) / "run"
    directory.mkdir(exist_ok=True)
    shutil.chown(directory, "memcache")
    directory.parent.chmod(0o755)
    return directory


def handle(agent: Agent, unit: str, event: dict[str, Any]) -> None:
    """Any event: keep the daemon running and publish its address on every relation."""
    model = agent.model
    port = ensure_running(model, unit)
    host = servers.unit_address(model, unit)
    servers.publish_everywhere(agent, unit, relation_data(host, port))
    servers.set_status(model, unit, "active", f"ready ({host}:{port})")


def teardown(model: Model, unit: str) -> None:
    servers.stop_pid(servers.unit_dir(model, unit) / "run" / "memcached.pid")


def sweep(model_name: str) -> None:
    """Stop any of the model's memcached daemons still running (whatever its state records)."""
    servers.stop_strays(model_name, "memcached")


servers.register(
    servers.ServerKind(
        name="memcached",
        charm="memcached",
        provides={"cache": "memcache"},
        requires={},
        handle=handle,
        teardown=teardown,
        sweep=sweep,
        description="memcached daemons, one per unit",
    )
)
