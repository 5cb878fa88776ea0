"""The ports Juju opens for the unit: the application's and the metrics exporter's."""

from __future__ import annotations

from dataclasses import replace

from charmhelpers.core import hookenv

from .memory import Memory


def open_ports(memory: Memory, port: int, metrics_port: int) -> Memory:
    """Open ``port`` and ``metrics_port`` (0: none), closing the ones opened before that
    are no longer wanted; ``memory`` with the ports now open. A port already open costs no
    hook-tool call (and two ports that swap stay open)."""
    opened = {memory.port, memory.metrics_port} - {0}
    wanted = {port, metrics_port} - {0}
    for gone in sorted(opened - wanted):
        hookenv.close_port(gone)
    for new in sorted(wanted - opened):
        hookenv.open_port(new)
    return replace(memory, port=port, metrics_port=metrics_port)
