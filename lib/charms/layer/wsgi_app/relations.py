"""The Juju side of the relations: read every endpoint's raw data, publish our requests.

Reading goes through the hook tools directly (not the Endpoint objects), so it works
the same in hooks and in actions; everything it reads is handed to the pure readers
of :mod:`.relation_data`, which validate it. Publishing goes through the interface
layers' Endpoint classes (``interfaces/``), which exist only inside a reactive hook.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Any

from charmhelpers.core import hookenv

from . import juju_secrets, leadership, observability, options, rollout
from .integrations import Integrations
from .juju_secrets import SECRET_ID, SecretError
from .relation_data import http, postgresql_client, prometheus_scrape, rabbitmq, s3
from .relation_data.combine import ENDPOINTS, Gathered, RelationConflict, integrations_from
from .relation_data.common import RawRelation, RemoteUnit, as_strings
from .relation_data.pgsql import DatabaseRequest

__all__ = [
    "RelationConflict",
    "database_request",
    "gather_integrations",
    "publish",
    "publish_report",
    "publish_website",
    "read_peers",
]

_logged: set[str] = set()  # notes already logged by this hook (state is gathered several times)


def database_request(raw_config: dict[str, Any] | None = None) -> DatabaseRequest:
    """The database this application asks for, from the charm config (bad values: defaults).

    An invalid value is reported by the config parser; the request then falls back to the
    defaults rather than asking the server for something unchecked.
    """
    config = dict(hookenv.config()) if raw_config is None else raw_config
    values = {}
    for name in ("database_name", "database_roles", "database_extensions"):
        option = options.BY_NAME[name]
        try:
            values[name] = option.parse(config.get(name) or option.default)
        except ValueError:
            values[name] = option.parse(option.default)
    app = hookenv.local_unit().split("/", 1)[0]
    return DatabaseRequest(
        name=values["database_name"] or app,
        roles=values["database_roles"],
        extensions=values["database_extensions"],
    )


def _departing() -> tuple[str, str, bool]:
    """(relation id, departing unit, relation broken) of the running hook, if any."""
    hook = hookenv.hook_name()
    if "-relation-" not in hook:
        return "", "", False
    return hookenv.relation_id() or "", hookenv.remote_unit() or "", hook.endswith("-relation-broken")


def _read_relations(endpoint: str) -> tuple[RawRelation, ...]:
    relation_id, departing, broken = _departing()
    me = hookenv.local_unit()
    found = []
    for rid in sorted(hookenv.relation_ids(endpoint) or []):
        if broken and rid == relation_id:
            continue  # the relation is being removed: its data must go
        try:
            found.append(_read_relation(rid, relation_id, departing, me))
        except subprocess.CalledProcessError:
            # removed while this hook ran (on another unit's request): the hooks that
            # follow its removal bring this unit up to date
            hookenv.log(f"{endpoint} relation {rid} went away while it was read", hookenv.WARNING)
    return tuple(found)


def _read_relation(rid: str, relation_id: str, departing: str, me: str) -> RawRelation:
    units = []
    for name in sorted(hookenv.related_units(rid) or []):
        if rid == relation_id and name == departing and hookenv.hook_name().endswith("-departed"):
            continue  # Juju may still list the unit that is leaving
        units.append(RemoteUnit(name, as_strings(hookenv.relation_get(rid=rid, unit=name))))
    app_data: dict[str, str] = {}
    if units:
        app_name = units[0].name.split("/", 1)[0]
        app_data = as_strings(_relation_get_app(rid, app_name))
    own = as_strings(hookenv.relation_get(rid=rid, unit=me))
    return RawRelation(rid, tuple(units), app_data, own)


def _relation_get_app(rid: str, app: str) -> Any:
    try:
        return hookenv.relation_get(rid=rid, app=app)
    except subprocess.CalledProcessError:  # Juju before 2.7 has no application data
        return {}


@dataclass(frozen=True)
class SecretKeys:
    """Where a provider may put credentials in a Juju secret instead of its data."""

    endpoint: str
    id_key: str  # the application data key that holds the secret's id
    fields: tuple[str, ...]  # the credentials it holds, merged into the application data
    refresh: bool = False  # follow the secret's latest revision (the provider rotates keys)


# the server rotates a password as a new revision of its secret (secret-changed follows):
# every read follows the latest, as the data_interfaces library's requirers do
SECRETS = (
    SecretKeys("database", postgresql_client.SECRET_KEY, ("username", "password"), refresh=True),
    SecretKeys("s3", s3.SECRET_KEY, s3.SECRET_FIELDS, refresh=True),
)


def _with_secret(relation: RawRelation, keys: SecretKeys) -> RawRelation:
    """``relation`` with the credentials of its Juju secret merged into the app data.

    The secret's content never reaches a log line or a command line: ``secret-get`` is
    given its id only, and its answer is read from the pipe.
    """
    secret_id = relation.app.get(keys.id_key)
    if not secret_id or relation.app.get(keys.fields[0]):
        return relation
    if not SECRET_ID.fullmatch(secret_id):  # the provider's value: never an option of secret-get
        hookenv.log(f"{keys.endpoint}: {relation.relation_id} names no Juju secret", hookenv.WARNING)
        return relation
    try:
        content = juju_secrets.get(secret_id, refresh=keys.refresh)
    except SecretError as error:
        hookenv.log(
            f"{keys.endpoint}: cannot read the credentials secret of {relation.relation_id}: {error}",
            hookenv.WARNING,
        )
        return relation
    merged = {**relation.app, **{k: content[k] for k in keys.fields if k in content}}
    return RawRelation(relation.relation_id, relation.units, merged, relation.own)


def _log(gathered: Gathered) -> None:
    for endpoint, note in gathered.notes:
        line = f"{endpoint} relation: {note.message}"
        if line not in _logged:
            _logged.add(line)
            hookenv.log(line, level=note.level)


def gather_integrations() -> Integrations:
    """Everything the related applications currently provide to this unit.

    Raises :class:`RelationConflict` (a ConfigError) when both PostgreSQL endpoints are related.
    """
    relations = {endpoint: _read_relations(endpoint) for endpoint in ENDPOINTS}
    for keys in SECRETS:
        relations[keys.endpoint] = tuple(_with_secret(r, keys) for r in relations[keys.endpoint])
    gathered = integrations_from(relations, database_request(), hookenv.local_unit())
    _log(gathered)
    return gathered.integrations


def read_peers(leader: str) -> rollout.Peers:
    """The other units' rollout reports and this unit's own, from the peer relation
    (a unit that is leaving is not listed); ``leader``: the unit that leads."""
    return rollout.peers_from(_read_relations(rollout.ENDPOINT), leader, hookenv.local_unit())


def publish_report(peers: rollout.Peers, report: rollout.Report) -> None:
    """Publish this unit's rollout report in peer data: only the keys that changed, so an
    idle hook sets nothing (hooks and actions alike: through the hook tool)."""
    before = peers.own.data()
    changed = {key: value for key, value in report.data().items() if before[key] != value}
    if not peers.relation_id or not changed:
        return
    try:
        hookenv.relation_set(relation_id=peers.relation_id, relation_settings=changed)
    except subprocess.CalledProcessError:  # the relation went away while the hook ran
        hookenv.log(f"{peers.relation_id} went away before the rollout report was set", hookenv.WARNING)


def _own_address(rid: str) -> str:
    address = hookenv.relation_get("ingress-address", unit=hookenv.local_unit(), rid=rid)
    return str(address or hookenv.unit_private_ip())


def _port(raw_config: dict[str, Any]) -> int | None:
    try:
        return int(options.BY_NAME["port"].parse(raw_config.get("port") or options.BY_NAME["port"].default))
    except ValueError:
        return None  # the config problem is reported elsewhere; keep what proxies have


def _metrics_port(raw_config: dict[str, Any]) -> int | None:
    option = options.BY_NAME["metrics_port"]
    try:
        return int(option.parse(raw_config.get("metrics_port") or option.default))
    except ValueError:
        return None


def publish() -> None:
    """Publish our requests and address on every relation that needs them (reactive hooks only).

    The Endpoint classes write only values that differ, so unchanged data triggers no hook
    on the other side.
    """
    raw_config = dict(hookenv.config())
    _publish_requests(raw_config)
    _publish_addresses(raw_config)


def _publish_requests(raw_config: dict[str, Any]) -> None:
    """What this application asks of the database, the broker and the S3 integrator."""
    from charms.reactive import endpoint_from_name

    request = database_request(raw_config)
    db = endpoint_from_name("db")
    if db is not None and db.is_joined:
        db.request(request.relation_data())
    amqp = endpoint_from_name("amqp")
    if amqp is not None and amqp.is_joined:
        amqp.request(rabbitmq.request_for(hookenv.local_unit().split("/", 1)[0]).relation_data())
    if not leadership.is_leader():
        return
    database = endpoint_from_name("database")
    if database is not None and database.is_joined:
        database.request(postgresql_client.request_data(request))
    storage = endpoint_from_name("s3")
    if storage is not None:
        app = hookenv.local_unit().split("/", 1)[0]
        for relation in storage.relations:
            storage.request(relation, s3.request_data(app, relation.relation_id))


def publish_website(ready: bool) -> None:
    """Tell the proxies where this unit serves, once it serves fully wired (``ready``, decided
    by the hook's reconcile; reactive hooks only).

    Until then the unit stays out of their balancers: a new unit whose database has not yet
    granted it access would answer without it. A proxy told once keeps being told (a port
    change reaches it): taking a serving unit out because a backend is slow to answer
    would take the whole site out with it.
    """
    from charms.reactive import endpoint_from_name

    website, port = endpoint_from_name("website"), _port(dict(hookenv.config()))
    if website is None or port is None:
        return
    for relation in website.relations:
        if ready or relation.to_publish_raw.get("port"):
            website.publish(relation, http.website_data(_own_address(relation.relation_id), port))


def _publish_addresses(raw_config: dict[str, Any]) -> None:
    """Where this unit can be reached by log shippers and scrapers (proxies:
    :func:`publish_website`)."""
    from charms.reactive import endpoint_from_name

    logging = endpoint_from_name("logging")
    if logging is not None:
        for relation in logging.relations:
            logging.publish(relation, observability.logging_data(hookenv.local_unit()))
    metrics_port = _metrics_port(raw_config)
    if metrics_port is None:
        return
    scrape = endpoint_from_name("scrape")
    if scrape is not None:
        for relation in scrape.relations:
            address = _own_address(relation.relation_id)
            scrape.publish(relation, observability.scrape_data(address, metrics_port))
    _publish_scrape_jobs(endpoint_from_name("metrics-endpoint"), metrics_port)


def _publish_scrape_jobs(endpoint: Any, metrics_port: int) -> None:
    """The unit's address on every ``metrics-endpoint`` relation, and from the leader the
    scrape jobs and topology (prometheus_scrape); the leadership answer is the hook's."""
    if endpoint is None or not endpoint.relations:
        return
    unit = hookenv.local_unit()
    app_values = None
    # the jobs follow the config, leadership (leader-elected) and the relation's hooks, none
    # of which update-status changes: it would only read the app data back (one relation-get)
    if leadership.is_leader() and hookenv.hook_name() != "update-status":
        topology = prometheus_scrape.Topology(
            model=os.environ.get("JUJU_MODEL_NAME", ""),
            model_uuid=os.environ.get("JUJU_MODEL_UUID", ""),
            application=unit.split("/", 1)[0],
            unit=unit,
            charm_name=hookenv.charm_name() or "",
        )
        app_values = prometheus_scrape.app_data(topology, metrics_port)
    for relation in endpoint.relations:
        address = _own_address(relation.relation_id)
        endpoint.publish(relation, prometheus_scrape.unit_data(address, unit), app_values)
