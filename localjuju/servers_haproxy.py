"""haproxy in front of the app, configured as the legacy haproxy charm configures itself
from its ``reverseproxy`` relation (the rendering and its checks: :mod:`.haproxy_config`).

On every event the unit renders haproxy.cfg from its ``services`` option and the related
units' data, checks it with ``haproxy -c`` (a config that fails keeps the running one and
blocks the unit, where the charm's hook fails), then starts Debian's haproxy in
master-worker mode or reloads it with ``SIGUSR2``, as the package's ``systemctl reload``
does: the master starts a new worker on the same listening sockets and the old one
finishes what it has, so no connection is dropped. With no server at all the running
config stays, as the charm exits before writing one. It publishes ``public-address`` on
``reverseproxy`` (the charm's ``-joined``) and ``port``, ``hostname`` and ``all_services``
on ``website``.

localjuju differences: every service binds the unit's address (the model network's
``10.231.0.2`` with ``--isolated``, where the service's own port is free, 80 by default;
on the host, loopback and the option ``port`` or 8100 and up, for one service only), and
there is no ``log /dev/log`` (no syslog here). A unit whose data :mod:`.haproxy_config`
refuses is left out, logged, and named in a ``blocked`` status while the others serve.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import haproxy_config as cfg
from . import servers
from .servers_apache2 import related_units

if TYPE_CHECKING:
    from .agent import Agent
    from .model import Model

BASE_PORT = 8100
AVOID_PORTS = (8080,)
OPTIONS = {
    "services": {"type": "string", "default": cfg.DEFAULT_SERVICES, "description": "services (YAML)"},
    "global_maxconn": {"type": "int", "default": 4096, "description": "global maxconn"},
    "global_spread_checks": {"type": "int", "default": 0, "description": "global spread-checks"},
    "default_log": {"type": "string", "default": "global", "description": "defaults log"},
    "default_mode": {"type": "string", "default": "http", "description": "defaults mode"},
    "default_options": {
        "type": "string",
        "default": "httplog, dontlognull",
        "description": "defaults options",
    },
    "default_retries": {"type": "int", "default": 3, "description": "defaults retries"},
    "default_timeouts": {
        "type": "string",
        "default": "queue 20000, client 50000, connect 5000, server 50000",
        "description": "defaults timeouts",
    },
    "port": {"type": "int", "default": 0, "description": "localjuju, on the host: port (0: 8100 and up)"},
}


Binds = dict[str, tuple[str, int]]  # service -> (address, port) it listens on


class ConfigProblem(Exception):
    """What the charm would fail its hook on (``haproxy -c`` refused the config)."""


def user() -> str | None:
    """``haproxy``, the package's user, when it exists (the charm's global_user)."""
    try:
        return pwd.getpwnam("haproxy").pw_name
    except KeyError:
        return None


def binds(model: Model, unit: str, services: cfg.Services, port_option: int) -> Binds:
    """Where each service listens: the unit's address, and its own port on the model network
    or one allocated port on the host's loopback (raises :class:`cfg.Refused` for more)."""
    host = servers.unit_address(model, unit)
    if servers.isolated(model, model.units[unit]["app"]):
        return {key: (host, int(entry.port or 0)) for key, entry in services.items()}
    if len(services) > 1:
        raise cfg.Refused("on the host's loopback localjuju plays one service: deploy haproxy --isolated")
    if port_option:
        servers.state(model, unit)["port"] = port_option
    port = servers.allocate_port(model, unit, BASE_PORT, AVOID_PORTS)
    return {key: (host, port) for key in services}


def workers(master: int) -> set[int]:
    """The master's children (its workers, old and new)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(master):
            found.add(int(entry.name))
    return found


def apply(directory: Path, text: str, listeners: list[tuple[str, int]]) -> None:
    """Check the config; start haproxy, or reload it (a new worker) when it changed. Raises
    :class:`ConfigProblem` when ``haproxy -c`` refuses it (the running config stays)."""
    servers.ensure_packages("haproxy", ["haproxy"])
    conf, pidfile = directory / "haproxy.cfg", directory / "haproxy.pid"
    master = servers.read_pid(pidfile)
    if master is not None and conf.exists() and conf.read_text() == text:
        return
    candidate = directory / "haproxy.cfg.new"
    candidate.write_text(text)
    checked = subprocess.run(["haproxy", "-c", "-q", "-f", str(candidate)], capture_output=True, text=True)
    if checked.returncode != 0:
        raise ConfigProblem(f"haproxy -c: {(checked.stderr or checked.stdout).strip()[-2000:]}")
    candidate.replace(conf)
    if master is None:
        servers.run(["haproxy", "-W", "-D", "-f", str(conf), "-p", str(pidfile)])
        servers.wait_for_file(pidfile)
        for host, port in listeners:
            servers.wait_for_port(port, host=host)
        return
    before = workers(master)
    os.kill(master, signal.SIGUSR2)
    end = time.monotonic() + 15
    while not workers(master) - before:
        if time.monotonic() > end:
            raise RuntimeError("haproxy started no new worker within 15s of its reload")
        time.sleep(0.05)


def publish(agent: Agent, unit: str, services: cfg.Services, binds_: Binds) -> None:
    """``public-address`` on reverseproxy; the default service's port and every service on website."""
    model = agent.model
    app = model.units[unit]["app"]
    address = servers.unit_address(model, unit)
    described = [
        {"service_name": e.name, "service_host": binds_[k][0], "service_port": binds_[k][1]}
        for k, e in services.items()
    ]
    website = {
        "hostname": address,
        "port": str(next(iter(binds_.values()))[1]) if binds_ else "80",
        "all_services": yaml.safe_dump(described) if described else "",
    }
    for rid, rel in servers.live_relations(model, app):
        data = {"public-address": address} if rel["apps"][app] == "reverseproxy" else website
        servers.publish(agent, rid, unit, {**servers.juju_keys(model, unit), **data})


def configure(model: Model, unit: str, config: dict[str, Any]) -> tuple[cfg.Services, Binds, list[str]]:
    """Render and apply the unit's haproxy.cfg; the services, where they listen, and the
    refused units. Raises :class:`cfg.Refused` (the option) or :class:`ConfigProblem`."""
    own = cfg.merge({}, cfg.parse_services(str(config.get("services") or "")))
    services, refused = cfg.assign(own, related_units(model, unit, "reverseproxy"))
    if not any(entry.servers for entry in services.values()):
        return {}, {}, refused  # the charm exits here: the running config stays
    services = cfg.with_host_port(services)
    where = binds(model, unit, services, int(config.get("port") or 0))
    text = cfg.render(unit, cfg.render_globals(config, user()), services, where)
    apply(servers.unit_dir(model, unit), text, sorted(set(where.values())))
    return services, where, refused


def handle(agent: Agent, unit: str, event: dict[str, Any]) -> None:
    """Any event: render, check, (re)load, publish; the charm's status."""
    model = agent.model
    directory = servers.unit_dir(model, unit)
    try:
        services, where, refused = configure(
            model, unit, dict(agent.effective_config(model.units[unit]["app"]))
        )
    except (cfg.Refused, ConfigProblem) as problem:
        (directory / "problem.log").write_text(f"{problem}\n")
        model.append_log(f"{unit}: {time.strftime('%H:%M:%S')} server haproxy: {problem}\n")
        servers.set_status(model, unit, "blocked", f"configuration refused: {str(problem)[:200]}")
        return
    for line in refused:
        model.append_log(
            f"{unit}: {time.strftime('%H:%M:%S')} server haproxy: relation data refused: {line}\n"
        )
    publish(agent, unit, services, where)
    if services:
        model.units[unit]["ports"] = sorted({f"{port}/tcp" for _, port in where.values()})
    elif servers.read_pid(directory / "haproxy.pid") is None:
        servers.set_status(model, unit, "waiting", "no backend servers yet: haproxy not started")
        return
    if refused:
        servers.set_status(model, unit, "blocked", f"relation data refused: {refused[0][:200]}")
    else:
        servers.set_status(model, unit, "active", "Unit is ready")


def teardown(model: Model, unit: str) -> None:
    servers.stop_pid(servers.unit_dir(model, unit) / "haproxy.pid")  # SIGTERM: the master stops its workers


def sweep(model_name: str) -> None:
    """Stop any of the model's haproxy processes still running (whatever its state records)."""
    servers.stop_strays(model_name, "haproxy")


servers.register(
    servers.ServerKind(
        name="haproxy",
        charm="haproxy",
        provides={"website": "http"},
        requires={"reverseproxy": "http"},
        handle=handle,
        teardown=teardown,
        sweep=sweep,
        options=OPTIONS,
        description="Debian's haproxy, configured from reverseproxy as the haproxy charm does",
    )
)
