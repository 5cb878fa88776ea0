"""Typed values for what related applications provide; ``None`` or empty means not ready.

The interface layers (``interfaces/``) read and validate raw relation data; the reactive
handlers turn what they return into these values, and :mod:`.environment` turns these
into the application's settings. Nothing here talks to Juju.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit


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
class ObjectStorage:
    """An S3 bucket and the credentials to use it (the s3 relation)."""

    access_key: str
    secret_key: str
    bucket: str
    endpoint: str = ""  # http(s)://host[:port], no trailing slash; "" is AWS's default
    region: str = ""
    path: str = ""  # a key prefix inside the bucket, without leading or trailing "/"
    uri_style: str = ""  # "path" or "host" (virtual-hosted); "" lets the client choose

    @property
    def address(self) -> HostPort | None:
        """Where the endpoint listens; ``None`` for AWS's own (no endpoint given)."""
        if not self.endpoint:
            return None
        parts = urlsplit(self.endpoint)
        return HostPort(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))

    def url(self) -> str:
        """One ``s3://`` URL carrying all of it: ``s3://KEY:SECRET@BUCKET/PATH?endpoint=...``.

        Credentials and every query value are percent-encoded, so the URL holds no ``,``
        or ``@`` of its own and the redaction of ``scheme://user:password@`` finds the secret.
        """
        credentials = f"{quote(self.access_key, safe='')}:{quote(self.secret_key, safe='')}"
        query = urlencode(
            [
                (key, value)
                for key, value in (
                    ("endpoint", self.endpoint),
                    ("region", self.region),
                    ("uri_style", self.uri_style),
                )
                if value
            ],
            quote_via=quote,
            safe="",
        )
        path = f"/{quote(self.path, safe='/')}" if self.path else ""
        return f"s3://{credentials}@{self.bucket}{path}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class RedisServer:
    """A Redis server (the redis relation); ``password`` is ``""`` when it asks for none."""

    address: HostPort
    password: str = ""

    def url(self, db: int = 0) -> str:
        """``redis://[:PASSWORD@]HOST:PORT/DB``, the password percent-encoded."""
        credentials = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{credentials}{self.address}/{db}"


@dataclass(frozen=True)
class AmqpBroker:
    """A RabbitMQ vhost and the user it granted us (the amqp relation)."""

    address: HostPort
    username: str
    password: str
    vhost: str

    def url(self) -> str:
        """``amqp://USER:PASSWORD@HOST:PORT/VHOST``, every part percent-encoded (``/`` too)."""
        credentials = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}"
        return f"amqp://{credentials}@{self.address}/{quote(self.vhost, safe='')}"


@dataclass(frozen=True)
class Integrations:
    """Everything the related applications currently provide to this unit."""

    database: Database | None = None
    caches: tuple[HostPort, ...] = ()
    search: tuple[SearchServer, ...] = ()
    storage: ObjectStorage | None = None
    redis: RedisServer | None = None
    amqp: AmqpBroker | None = None
    redis_related: bool = False  # a redis relation is joined (answered or not): Celery's broker
    proxies: tuple[str, ...] = ()  # addresses whose forwarded headers are trusted
    waiting_for: tuple[str, ...] = ()  # relations joined but not ready, for the status
