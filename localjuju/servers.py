"""The other side of a relation, played by the runner with a real server.

An application of kind ``server:<name>`` has no charm: when one of its relations
changes, the handler registered under ``<name>`` sets the server up the way that
charm would and publishes the same relation data. See localjuju/servers_*.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .agent import Agent

Handler = Callable[["Agent", str, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


def register(name: str) -> Callable[[Handler], Handler]:
    def add(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        return handler

    return add


def handle(agent: Agent, unit: str, event: dict[str, Any]) -> None:
    kind = agent.model.applications[agent.model.units[unit]["app"]]["kind"]
    name = kind.split(":", 1)[1]
    handler = HANDLERS.get(name)
    if handler is None:
        raise RuntimeError(f"no server handler for {name}")
    handler(agent, unit, event)
