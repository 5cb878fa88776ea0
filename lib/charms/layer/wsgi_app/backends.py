"""Whether the services the relations point at answer at all (a TCP connect, no login).

Relation data says where a backend is, not that it is up: a stopped PostgreSQL changes
no relation. The status reports backends that refuse connections, on every hook and so
on every update-status, and clears when they answer again; the app itself reconnects.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from .integrations import HostPort, Integrations

CONNECT_TIMEOUT = 2.0


def tcp_answers(address: HostPort, timeout: float = CONNECT_TIMEOUT) -> bool:
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout):
            return True
    except OSError:
        return False


def backend_addresses(integrations: Integrations) -> list[tuple[str, HostPort]]:
    """(role, address) of every backend the app is configured to use."""
    found: list[tuple[str, HostPort]] = []
    if integrations.database is not None:
        found.append(("database", integrations.database.primary))
    found += [("memcached", cache) for cache in integrations.caches]
    found += [("elasticsearch", node.address) for node in integrations.search]
    storage = integrations.storage
    if storage is not None and storage.address is not None:
        found.append(("s3", storage.address))
    if integrations.redis is not None:
        found.append(("redis", integrations.redis.address))
    if integrations.amqp is not None:
        found.append(("rabbitmq", integrations.amqp.address))
    return found


def unreachable(
    integrations: Integrations, answers: Callable[[HostPort], bool] = tcp_answers
) -> tuple[str, ...]:
    """What to wait for, e.g. ``database at 10.0.0.5:5432 (not answering)``."""
    return tuple(
        f"{role} at {address} (not answering)"
        for role, address in backend_addresses(integrations)
        if not answers(address)
    )
