"""The ports Juju opens for the unit: the application's and the metrics exporter's."""

from __future__ import annotations

from dataclasses import replace

from charmhelpers.core import hookenv

from .memory import Memory


def _moved(previous: int, port: int) -> None:
    if previous and previous != port:
        hookenv.close_port(previous)
    if port and port != previous:
        hookenv.open_port(port)


def open_ports(memory: Memory, port: int, metrics_port: int) -> Memory:
    """Open ``port`` and ``metrics_port`` (0: none), closing the ones opened before;
    ``memory`` with the ports now open. A port already open costs no hook-tool call."""
    _moved(memory.port, port)
    _moved(memory.metrics_port, metrics_port)
    return replace(memory, port=port, metrics_port=metrics_port)
