"""The other side of a relation, played by the runner with a real server.

An application of kind ``server:<name>`` has no charm and no machine: its units are
servers the runner starts on the host. Machines that share the host's network namespace
reach them on 127.0.0.1; an application deployed ``--isolated`` runs its servers in the
model network's server namespace instead (``10.231.0.2``, see :mod:`.network`), where
the isolated machines reach them. Each server module
(``servers_<name>.py``) registers a :class:`ServerKind`: the endpoints of the charm it
stands in for, a handler that reconciles one unit on any of its events (start the
server, create what clients asked for, publish the relation data that charm would),
a teardown that stops the unit's processes and removes its files, and a sweep that
removes what a model's servers left when its state is gone (found by the naming
convention: paths under the model's directory, ``lj-<model>-*`` names).
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import socket
import subprocess
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import network, procs
from .machines import cache_dir, locked
from .model import model_dir

if TYPE_CHECKING:
    from .agent import Agent
    from .model import Model

Json = dict[str, Any]
Handler = Callable[["Agent", str, dict[str, Any]], None]
Teardown = Callable[["Model", str], None]
Sweep = Callable[[str], None]
MODULES = (
    "servers_postgresql",
    "servers_memcached",
    "servers_elasticsearch",
    "servers_apache2",
    "servers_s3",
    "servers_redis",
    "servers_rabbitmq",
    "servers_prometheus",
    "servers_haproxy",
    "servers_rsyslog",
)
HOST_ADDRESS = "127.0.0.1"


@dataclass(frozen=True)
class ServerKind:
    """What a server stands in for (``charm``, its endpoints) and how to run one unit of it."""

    name: str
    charm: str
    provides: dict[str, str]
    requires: dict[str, str]
    handle: Handler
    teardown: Teardown
    options: Json = field(default_factory=dict)
    description: str = ""
    sweep: Sweep = lambda model_name: None
    channels: dict[str, tuple[str, ...]] = field(default_factory=dict)  # track -> its endpoints
    default_track: str = ""
    prepare: Callable[[], None] = lambda: None  # once per unit added, on the host's network

    def track(self, channel: str) -> str:
        """The track of ``channel`` (``16/stable`` -> ``16``; empty or ``latest``: the default)."""
        track = (channel or "").split("/")[0]
        track = self.default_track if track in ("", "latest") else track
        if self.channels and track not in self.channels:
            raise SystemExit(
                f"{self.charm} has no channel {channel!r} here (tracks: {', '.join(self.channels)})"
            )
        return track

    def endpoints(self, channel: str = "") -> Json:
        """The ``endpoints`` entry of the application in the model, as the charm of that
        channel's metadata declares them."""
        track = self.track(channel)
        offered = self.channels.get(track, tuple(self.provides) + tuple(self.requires))
        return {
            "provides": {name: {"interface": i} for name, i in self.provides.items() if name in offered},
            "requires": {name: {"interface": i} for name, i in self.requires.items() if name in offered},
            "peers": {},
        }


KINDS: dict[str, ServerKind] = {}


def register(kind: ServerKind) -> ServerKind:
    KINDS[kind.name] = kind
    return kind


def kinds() -> dict[str, ServerKind]:
    """Every known server, by name (importing the server modules registers them)."""
    for module in MODULES:
        importlib.import_module(f"{__package__}.{module}")
    return KINDS


def kind_of(model: Model, app: str) -> ServerKind:
    name = model.applications[app]["kind"].split(":", 1)[1]
    kind = kinds().get(name)
    if kind is None:
        raise RuntimeError(f"no server handler for {name}")
    return kind


def handle(agent: Agent, unit: str, event: dict[str, Any]) -> None:
    """Run the unit's handler; a failure puts the unit in error, as a failed hook does."""
    model = agent.model
    info = model.units[unit]
    kind = kind_of(model, info["app"])
    agent.report(f"{unit}: {event['hook']} (server {kind.name})")
    try:
        in_place(model, info["app"], lambda: kind.handle(agent, unit, event))
    except Exception as error:  # any failure is reported on the unit, like a hook error
        info["agent"] = "error"
        info["error"] = {
            "hook": event["hook"],
            "output": traceback.format_exc()[-4000:],
            **{k: event.get(k, "") for k in ("relation_id", "remote_unit", "remote_app")},
        }
        agent.report(f"{unit}: {event['hook']} failed: {error}")
        model.append_log(f"{unit}: {time.strftime('%H:%M:%S')} server {kind.name}: {error}\n")
        return
    info["agent"] = "idle"
    info.pop("error", None)


def teardown(model: Model) -> None:
    """Stop every server ``model`` records and remove its files (errors are reported, not
    raised); :func:`sweep` then finds what the state does not record."""
    for app, application in model.applications.items():
        if str(application.get("kind", "")).startswith("server:"):
            teardown_app(model, app)


def teardown_app(model: Model, app: str) -> None:
    """Stop every unit of server application ``app`` and remove its files."""
    kind = kind_of(model, app)
    for unit in model.app_units(app):
        try:
            in_place(model, app, lambda: kind.teardown(model, unit))  # noqa: B023 - called at once
        except Exception as error:  # keep tearing the others down
            print(f"   {unit}: teardown failed: {error}", flush=True)


def sweep(model_name: str) -> None:
    """Remove what servers of ``model_name`` left on the host, whatever its state says:
    each kind's own leftovers, then the model's server files."""
    for kind in kinds().values():
        try:
            kind.sweep(model_name)
        except Exception as error:  # keep sweeping the others
            print(f"   {kind.name}: sweep failed: {error}", flush=True)
    shutil.rmtree(model_dir(model_name) / "servers", ignore_errors=True)


def stop_strays(model_name: str, program: str) -> None:
    """Stop every ``program`` process (by its name, or its script's) run from the model's
    server files: what a unit the state no longer records left running."""
    directory = model_dir(model_name) / "servers"
    procs.terminate(p.pid for p in procs.under(directory) if program in {Path(a).name for a in p.argv[:2]})


def isolated(model: Model, app: str) -> bool:
    return bool(model.applications.get(app, {}).get("isolated"))


def in_place(model: Model, app: str, work: Callable[[], object]) -> None:
    """Do ``work`` where ``app``'s servers live: the host, or the model's server namespace."""
    if isolated(model, app):
        network.ensure_servers(model.name)
        network.call_in(network.servers_netns(model.name), work)
    else:
        work()


def app_address(model: Model, app: str) -> str:
    """Where ``app``'s servers listen (and what their units' addresses are)."""
    return network.servers_address() if isolated(model, app) else HOST_ADDRESS


# -- helpers shared by the server modules ---------------------------------------------------


def unit_dir(model: Model, unit: str) -> Path:
    """The unit's own directory (config, data, logs, pid file), under the model's directory."""
    path = model.dir / "servers" / unit.replace("/", "-")
    path.mkdir(parents=True, exist_ok=True)
    return path


def state(model: Model, unit: str) -> Json:
    """The unit's server record in the model (port, pid file...), created empty."""
    return model.units[unit].setdefault("server", {})  # type: ignore[no-any-return]


def set_status(model: Model, unit: str, status: str, message: str) -> None:
    model.units[unit]["status"] = {"status": status, "message": message}


def port_is_free(port: int) -> bool:
    """Whether ``port`` is free on the loopback of the namespace the thread is in."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST_ADDRESS, port))
        except OSError:
            return False
    return True


def allocate_port(model: Model, unit: str, start: int, avoid: Iterable[int] = ()) -> int:
    """The unit's port: kept once chosen, else the first free one from ``start`` on that
    no other live model has reserved (models deployed at once must not pick the same
    port before either binds it)."""
    record = state(model, unit)
    if record.get("port"):
        return int(record["port"])
    taken = {int(u.get("server", {}).get("port", 0)) for u in model.units.values()} | set(avoid)
    reservations = cache_dir() / "ports"
    reservations.mkdir(parents=True, exist_ok=True)
    with locked(reservations / ".lock"):
        port = start
        while (
            port in taken
            or reserved_by_another(reservations / str(port), model.name)
            or not port_is_free(port)
        ):
            port += 1
        (reservations / str(port)).write_text(model.name)
    record["port"] = port
    return port


def reserved_by_another(marker: Path, model_name: str) -> bool:
    """Whether the reservation ``marker`` names another model that still exists."""
    try:
        owner = marker.read_text().strip()
    except OSError:
        return False
    return bool(owner) and owner != model_name and model_dir(owner).is_dir()


def ensure_packages(binary: str, packages: Iterable[str]) -> None:
    """apt-get install ``packages`` on the host unless ``binary`` is already there."""
    if shutil.which(binary) or Path(binary).exists():
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        check=True,
        env=env,
        capture_output=True,
    )


def run(command: list[str], env: dict[str, str] | None = None) -> str:
    """Run ``command``; return its output, or raise RuntimeError carrying its error output."""
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-2000:]
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {detail}")
    return result.stdout


def read_pid(pidfile: Path) -> int | None:
    """The pid in ``pidfile`` if that process is alive."""
    try:
        pid = int(pidfile.read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid


def stop_pid(pidfile: Path, timeout: float = 10.0) -> None:
    """SIGTERM the process in ``pidfile`` and wait for it to go (SIGKILL after ``timeout``)."""
    pid = read_pid(pidfile)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def wait_for_port(port: int, timeout: float = 15.0, host: str = HOST_ADDRESS) -> None:
    """Return once something accepts connections on ``host``:``port``; raise after ``timeout``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def wait_for_file(path: Path, timeout: float = 15.0) -> None:
    """Return once ``path`` exists and is not empty; raise after ``timeout``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.stat().st_size:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{path} was not written after {timeout:.0f}s")


def juju_keys(model: Model, unit: str) -> dict[str, str]:
    """What Juju itself keeps in every unit's relation data."""
    address = unit_address(model, unit)
    return {"private-address": address, "ingress-address": address, "egress-subnets": f"{address}/32"}


def unit_address(model: Model, unit: str) -> str:
    """A unit's address: its machine's, or where its application's servers listen."""
    info = model.units.get(unit, {})
    if info.get("machine") == "host":
        return app_address(model, info["app"])
    return str(model.machines.get(info.get("machine", ""), {}).get("address", HOST_ADDRESS))


def live_relations(model: Model, app: str) -> list[tuple[str, Json]]:
    """The relations of ``app`` that are not being removed, by id."""
    return [(rid, rel) for rid, rel in model.relations_of(app) if not rel.get("removing")]


def remote_units(model: Model, rel: Json, unit: str) -> list[str]:
    """The remote units ``unit`` has seen join ``rel`` (sorted by name, still in the model)."""
    return sorted(
        (u for u in rel["seen"].get(unit, []) if u in model.units), key=lambda u: int(u.split("/")[1])
    )


def publish(agent: Agent, rid: str, entity: str, data: dict[str, str]) -> None:
    """Write ``entity``'s (a unit or the app) data in relation ``rid``; empty values are dropped."""
    agent.publish(rid, entity, {k: v for k, v in data.items() if v not in ("", None)})


def publish_everywhere(agent: Agent, unit: str, data: dict[str, str]) -> None:
    """Publish ``data`` with Juju's own address keys as ``unit``'s on every live relation of its app."""
    model = agent.model
    merged = {**juju_keys(model, unit), **data}
    for rid, _ in live_relations(model, model.units[unit]["app"]):
        publish(agent, rid, unit, merged)
