"""All relations' raw data into one :class:`~..integrations.Integrations` value.

The endpoint names are those of metadata.yaml. Relating both PostgreSQL endpoints is
an operator error (which database would the application use?): it raises
:class:`RelationConflict`; an s3 integrator whose answer breaks S3's rules raises
:class:`RelationProblem`. The unit reports either as ``blocked``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from ..config import ConfigError
from ..integrations import AmqpBroker, Integrations, ObjectStorage, RedisServer
from . import elasticsearch, http, memcache, pgsql, postgresql_client, rabbitmq, redis, s3
from .common import BadData, Note, RawRelation

T = TypeVar("T")
ENDPOINTS = ("db", "database", "cache", "search", "s3", "redis", "amqp", "website")


class RelationProblem(ConfigError):
    """Relation data the unit cannot use; the message says what to fix."""

    def __init__(self, message: str):
        super().__init__([("relations", message)])

    @property
    def summary(self) -> str:
        return self.problems[0][1]


class RelationConflict(RelationProblem):
    """Relations that cannot be used together; the message says what to remove."""


@dataclass(frozen=True)
class Gathered:
    """The integrations, and what was skipped on the way (for the log)."""

    integrations: Integrations
    notes: tuple[tuple[str, Note], ...] = ()  # (endpoint, note)


def _joined(relations: tuple[RawRelation, ...]) -> bool:
    return any(relation.units for relation in relations)


def own_address(relations: tuple[RawRelation, ...], unit_name: str) -> pgsql.OwnAddress:
    """This unit as the pgsql server sees it: its egress subnets, else its ingress address."""
    for relation in relations:
        own = relation.own
        subnets = [s.strip() for s in (own.get("egress-subnets") or "").split(",") if s.strip()]
        if not subnets:
            address = (own.get("ingress-address") or own.get("private-address") or "").strip()
            subnets = [f"{address}/{128 if ':' in address else 32}"] if address else []
        if subnets:
            return pgsql.OwnAddress(unit_name, tuple(subnets))
    return pgsql.OwnAddress(unit_name)


def integrations_from(
    relations: Mapping[str, tuple[RawRelation, ...]], request: pgsql.DatabaseRequest, unit_name: str
) -> Gathered:
    """What every related application provides to this unit; raises :class:`RelationConflict`."""
    db, database = relations.get("db", ()), relations.get("database", ())
    if _joined(db) and _joined(database):
        raise RelationConflict(
            "both db (pgsql) and database (postgresql_client) are related: remove one of the two relations"
        )
    notes: list[tuple[str, Note]] = []
    waiting: list[str] = []

    def track(endpoint: str, ready: bool, found: list[Note], why: str) -> None:
        notes.extend((endpoint, note) for note in found)
        if _joined(relations.get(endpoint, ())) and not ready:
            waiting.append(why)

    chosen, found = pgsql.read_database(db, request, own_address(db, unit_name))
    track("db", chosen is not None, found, pgsql.WAITING)
    if chosen is None:
        stale = postgresql_client.served_instead(database, request)
        if stale is not None:
            raise RelationConflict(
                f"relation {stale[0]} serves database {stale[1]!r}, not {request.name!r} "
                "(PostgreSQL creates it only when the relation is made): "
                "remove the database relation and relate it again"
            )
        chosen, found = postgresql_client.read_database(database, request)
        track("database", chosen is not None, found, postgresql_client.WAITING)
    caches, found = memcache.read_servers(relations.get("cache", ()))
    track("cache", bool(caches), found, memcache.WAITING)
    search, found = elasticsearch.read_nodes(relations.get("search", ()))
    track("search", bool(search), found, elasticsearch.WAITING)
    storage, found = _storage(relations.get("s3", ()))
    track("s3", storage is not None, found, s3.WAITING)
    broker, found = _redis(relations.get("redis", ()))
    track("redis", broker is not None, found, redis.WAITING)
    amqp, found = _amqp(relations.get("amqp", ()), unit_name)
    track("amqp", amqp is not None, found, rabbitmq.WAITING)
    proxies, found = http.read_proxies(relations.get("website", ()))
    notes.extend(("website", note) for note in found)
    integrations = Integrations(
        database=chosen,
        caches=caches,
        search=search,
        storage=storage,
        redis=broker,
        amqp=amqp,
        redis_related=_joined(relations.get("redis", ())),
        proxies=proxies,
        waiting_for=tuple(waiting),
    )
    return Gathered(integrations, tuple(notes))


def _checked(endpoint: str, provider: str, read: Callable[[], tuple[T, list[Note]]]) -> tuple[T, list[Note]]:
    """``read()``, its :class:`BadData` turned into the :class:`RelationProblem` that blocks the unit."""
    try:
        return read()
    except BadData as error:
        raise RelationProblem(f"unusable {endpoint} relation data ({error}): fix the {provider}") from None


def _storage(relations: tuple[RawRelation, ...]) -> tuple[ObjectStorage | None, list[Note]]:
    return _checked("s3", "s3 integrator's configuration", lambda: s3.read_storage(relations))


def _redis(relations: tuple[RawRelation, ...]) -> tuple[RedisServer | None, list[Note]]:
    return _checked("redis", "Redis charm's answer", lambda: redis.read_server(relations))


def _amqp(relations: tuple[RawRelation, ...], unit_name: str) -> tuple[AmqpBroker | None, list[Note]]:
    request = rabbitmq.request_for(unit_name.split("/", 1)[0])
    return _checked("amqp", "RabbitMQ charm's answer", lambda: rabbitmq.read_broker(relations, request))
