"""Typed values for what related applications provide; ``None`` or empty means not ready.

The interface layers (``interfaces/``) read and validate raw relation data; the reactive
handlers turn what they return into these values, and :mod:`.environment` turns these
into the application's settings. Nothing here talks to Juju.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class HostPort:
    """A network service address."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Database:
    """A PostgreSQL database this unit has been granted, with optional read-only standbys."""

    primary: HostPort
    name: str
    user: str
    password: str
    standbys: tuple[HostPort, ...] = ()

    def url(self, address: HostPort | None = None) -> str:
        """A ``postgresql://`` URL for the primary, or for ``address`` (a standby)."""
        where = address or self.primary
        credentials = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return f"postgresql://{credentials}@{where}/{quote(self.name, safe='')}"


@dataclass(frozen=True)
class SearchServer:
    """One Elasticsearch node."""

    address: HostPort
    cluster_name: str = ""

    @property
    def url(self) -> str:
        return f"http://{self.address}"


@dataclass(frozen=True)
class Integrations:
    """Everything the related applications currently provide to this unit."""

    database: Database | None = None
    caches: tuple[HostPort, ...] = ()
    search: tuple[SearchServer, ...] = ()
    proxies: tuple[str, ...] = ()  # addresses whose forwarded headers are trusted
    waiting_for: tuple[str, ...] = ()  # relations joined but not ready, for the status
