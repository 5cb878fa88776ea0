"""Isolated networks for a model: each isolated machine gets a network namespace of its own.

A model's network is a "switch" namespace (``lj-<model>-sw``) holding a bridge, and one
namespace per machine (``lj-<model>-<n>``) whose ``eth0`` is one end of a veth pair; the
other end is enslaved to the bridge. Addresses are ``10.231.0.<10+n>/24``. Every model has
its own switch, so models never see each other, and nothing is added to the host's own
namespace: the host cannot reach the machines (and they cannot reach anything else).
Deleting the namespaces removes the veths with them.

Server applications deployed ``--isolated`` (PostgreSQL, memcached, apache2...) run on
the same network in one more namespace, ``lj-<model>-srv`` at ``10.231.0.2``: the runner
enters it (:func:`entered`, a thread-level ``setns``) to start their processes and to
send a test's requests, so nothing ever leaves the namespaces the runner made.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

SUBNET = "10.231.0"
PREFIX_LENGTH = 24
CIDR = f"{SUBNET}.0/{PREFIX_LENGTH}"  # the model network
FIRST_HOST = 10
LAST_HOST = 254
BRIDGE = "br0"
INTERFACE = "eth0"
IFNAMSIZ = 15  # the longest interface name the kernel takes
NETNS_DIR = Path("/run/netns")
SERVERS_HOST = 2  # 10.231.0.2: the namespace of the model's server applications
CLONE_NEWNET = 0x40000000


class NetworkError(RuntimeError):
    pass


@dataclass(frozen=True)
class Attachment:
    """Where machine ``number`` of a model sits on the model's network."""

    netns: str
    address: str
    port: str  # the veth end on the bridge, in the switch namespace

    @property
    def cidr(self) -> str:
        return CIDR


def switch_netns(model: str) -> str:
    return f"lj-{model}-sw"


def machine_netns(model: str, number: int) -> str:
    return f"lj-{model}-{number}"


def servers_netns(model: str) -> str:
    return f"lj-{model}-srv"


def servers_address() -> str:
    return f"{SUBNET}.{SERVERS_HOST}"


def address(number: int) -> str:
    host = FIRST_HOST + number
    if not FIRST_HOST <= host <= LAST_HOST:
        raise NetworkError(f"machine {number} has no address in {CIDR}")
    return f"{SUBNET}.{host}"


def attachment(model: str, number: int) -> Attachment:
    port = f"m{number}"  # interface names are per namespace: short, and unique within the switch
    return Attachment(machine_netns(model, number), address(number), port)


def owned_by(model: str, netns: str) -> bool:
    """Whether ``netns`` is one of ``model``'s (not a model whose name merely starts the same)."""
    return re.fullmatch(re.escape(f"lj-{model}-") + r"(sw|srv|\d+)", netns) is not None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def exists(netns: str) -> bool:
    return (NETNS_DIR / netns).exists()


def ensure_switch(model: str) -> str:
    """The model's switch namespace with its bridge up (created once)."""
    switch = switch_netns(model)
    if not exists(switch):
        _ip("netns", "add", switch)
    if _ip("-n", switch, "link", "show", BRIDGE, check=False).returncode != 0:
        _ip("-n", switch, "link", "add", BRIDGE, "type", "bridge")
    _ip("-n", switch, "link", "set", BRIDGE, "up")
    return switch


def attach(model: str, number: int) -> Attachment:
    """Create machine ``number``'s namespace, wired to the model's switch."""
    return _wire(model, attachment(model, number))


# Load tests open a connection per request from the server namespace: reuse ports in
# TIME_WAIT and widen the range, as a busy proxy host is tuned (per namespace sysctls).
SERVERS_SYSCTLS = {"net.ipv4.tcp_tw_reuse": "1", "net.ipv4.ip_local_port_range": "15000 64999"}


def ensure_servers(model: str) -> Attachment:
    """The server applications' namespace on the model's network (created once)."""
    wire = Attachment(servers_netns(model), servers_address(), "srv")
    if exists(wire.netns) and _ip("-n", wire.netns, "link", "show", INTERFACE, check=False).returncode == 0:
        return wire
    _wire(model, wire)
    for key, value in SERVERS_SYSCTLS.items():
        _ip("netns", "exec", wire.netns, "sysctl", "-q", "-w", f"{key}={value}")
    return wire


def _wire(model: str, wire: Attachment) -> Attachment:
    switch = ensure_switch(model)
    if exists(wire.netns):
        _ip("netns", "delete", wire.netns)  # a leftover from an interrupted run: start clean
    _ip("-n", switch, "link", "delete", wire.port, check=False)
    _ip("netns", "add", wire.netns)
    _ip("-n", switch, "link", "add", wire.port, "type", "veth", "peer", INTERFACE, "netns", wire.netns)
    _ip("-n", switch, "link", "set", wire.port, "master", BRIDGE, "up")
    _ip("-n", wire.netns, "addr", "add", f"{wire.address}/{PREFIX_LENGTH}", "dev", INTERFACE)
    _ip("-n", wire.netns, "link", "set", INTERFACE, "up")
    _ip("-n", wire.netns, "link", "set", "lo", "up")
    return wire


def detach(netns: str) -> None:
    """Delete a machine's namespace (its veth pair goes with it)."""
    if netns and exists(netns):
        _ip("netns", "delete", netns, check=False)


def namespaces() -> list[str]:
    return sorted(p.name for p in NETNS_DIR.iterdir()) if NETNS_DIR.is_dir() else []


def teardown(model: str) -> None:
    """Delete every namespace of ``model``: its machines' and its switch."""
    for netns in namespaces():
        if owned_by(model, netns):
            detach(netns)


@contextlib.contextmanager
def entered(netns: str) -> Iterator[None]:
    """Run the block with the calling thread in ``netns`` (processes it starts inherit it).

    Only the thread moves (``setns`` on a thread's network namespace), and it moves back
    to the namespace it came from when the block ends.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(NETNS_DIR / netns, os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise NetworkError(f"setns {netns}: {os.strerror(ctypes.get_errno())}")
        try:
            yield
        finally:
            if libc.setns(home, CLONE_NEWNET) != 0:
                raise NetworkError(f"setns back from {netns}: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(target)
        os.close(home)


def call_in(netns: str, function: Callable[[], object]) -> None:
    """Call ``function`` in a thread that entered ``netns``; its exception is raised here."""
    errors: list[BaseException] = []

    def body() -> None:
        try:
            with entered(netns):
                function()
        except BaseException as error:  # handed to the caller's thread
            errors.append(error)

    worker = threading.Thread(target=body, name=f"in-{netns}")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
