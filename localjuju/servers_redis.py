"""Redis, as the machine redis charm serves it: one Debian ``redis-server`` per unit (on
the unit's address only: the host's loopback, port 6379 and up, or the model network's
server namespace with ``--isolated``), and ``hostname``, ``port`` and ``password`` in
each unit's data on every ``db`` (redis) relation. The ``password`` option is the
charm's: empty (its default) means no authentication and an empty ``password`` key,
anything else becomes ``requirepass``. Nothing is persisted (``save ""``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import model as model_module
from . import procs, servers

if TYPE_CHECKING:
    from .agent import Agent
    from .model import Model

BASE_PORT = 6379
OPTIONS = {
    "password": {"type": "string", "default": "", "description": "requirepass; empty: no authentication"},
}


def relation_data(host: str, port: int, password: str) -> dict[str, str]:
    """What a redis unit publishes (the charm's ``DbRelation.provide_data``)."""
    return {"hostname": host, "port": str(port), "password": password}


def quoted(value: str) -> str:
    """``value`` as one redis.conf argument: double-quoted, ``\\`` and ``"`` escaped,
    control characters refused (redis.conf is line-based)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("a redis.conf value holds a control character")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config(host: str, port: int, password: str, directory: Path) -> str:
    """redis.conf for one unit: its address and port only, in the foreground of nothing
    (daemonized, with a pid file), no persistence, and ``requirepass`` when a password is set."""
    lines = [
        f"bind {host}",
        f"port {port}",
        "protected-mode no",  # bound to the unit's address only; a password is the charm's choice
        "daemonize yes",
        f"pidfile {quoted(str(directory / 'run' / 'redis.pid'))}",
        f"dir {quoted(str(directory / 'data'))}",
        f"logfile {quoted(str(directory / 'run' / 'redis.log'))}",
        'save ""',
        "appendonly no",
    ]
    if password:
        lines.append(f"requirepass {quoted(password)}")
    return "\n".join(lines) + "\n"


def prepare_dirs(directory: Path) -> None:
    """The data and run directories, owned by redis; the unit directory readable by it."""
    for name in ("data", "run"):
        (directory / name).mkdir(exist_ok=True)
        shutil.chown(directory / name, "redis", "redis")
    directory.chmod(0o755)
    directory.parent.chmod(0o755)


def write_config(path: Path, text: str) -> bool:
    """Write redis.conf (it may hold the password: 0600, redis's own); whether it changed."""
    if path.exists() and path.read_text() == text:
        return False
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    shutil.chown(path, "redis", "redis")
    return True


def ensure_running(model: Model, unit: str, password: str) -> int:
    """Start (or, when its config changed, restart) the unit's redis-server; return its port."""
    servers.ensure_packages("redis-server", ["redis-server"])
    port = servers.allocate_port(model, unit, BASE_PORT)
    directory = servers.unit_dir(model, unit)
    prepare_dirs(directory)
    host = servers.unit_address(model, unit)
    pidfile = directory / "run" / "redis.pid"
    changed = write_config(directory / "redis.conf", config(host, port, password, directory))
    if changed:
        servers.stop_pid(pidfile)
    if servers.read_pid(pidfile) is None:
        servers.run(["runuser", "-u", "redis", "--", "redis-server", str(directory / "redis.conf")])
        servers.wait_for_port(port, host=host)
        servers.wait_for_file(pidfile)
    return port


def handle(agent: Agent, unit: str, event: dict[str, Any]) -> None:
    """Any event: keep the server running and publish its address on every relation."""
    model = agent.model
    password = str(agent.effective_config(model.units[unit]["app"]).get("password") or "").strip()
    port = ensure_running(model, unit, password)
    host = servers.unit_address(model, unit)
    # the charm publishes an empty password as such; servers.publish drops empty values,
    # which the client reads the same way (no authentication)
    servers.publish_everywhere(agent, unit, relation_data(host, port, password))
    servers.set_status(model, unit, "active", f"ready ({host}:{port})")


def teardown(model: Model, unit: str) -> None:
    servers.stop_pid(servers.unit_dir(model, unit) / "run" / "redis.pid")


def sweep(model_name: str) -> None:
    """Stop any of the model's redis servers still running (redis renames its process
    ``redis-server <address>``; its working directory is the unit's data directory)."""
    directory = model_module.model_dir(model_name) / "servers"
    procs.terminate(
        p.pid for p in procs.under(directory) if p.argv and p.argv[0].split(" ")[0].endswith("redis-server")
    )


servers.register(
    servers.ServerKind(
        name="redis",
        charm="redis",
        provides={"db": "redis"},
        requires={},
        handle=handle,
        teardown=teardown,
        sweep=sweep,
        options=OPTIONS,
        description="Debian's redis-server, one per unit",
    )
)
