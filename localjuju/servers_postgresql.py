"""PostgreSQL 15 (Debian packages), as the postgresql charm serves it.

Each unit is a cluster of its own on the host (see :mod:`.pg_clusters`; never systemd;
port 5433 and up): the master unit's is read-write, every other unit's a
hot standby streaming from it (``pg_basebackup -R``). The master creates, for each
relation, a role with a random password, a database it owns, the roles and extensions
the client asked for; every unit opens pg_hba to the granted users and publishes:

- on ``db``/``db-admin`` (pgsql), in its unit data, the keys of the classic charm:
  ``database user password schema_user schema_password roles extensions version state
  host port allowed-units allowed-subnets master standbys``;
- on ``database`` (postgresql_client), as the leader, in application data:
  ``database endpoints read-only-endpoints uris version tls username password``
  (always plain credentials: the runner has no Juju secrets).

``withhold``: a client unit can be left out of ``allowed-units``/``allowed-subnets`` to
test the "not yet granted" wait; pg_hba opens exactly the granted subnets (on one host,
units share 127.0.0.1/32, so it stays open while any unit of the relation is granted).
``failover``: the first standby is promoted,
the old master re-cloned as a standby of it, and every unit republishes.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import network, pg_clusters, servers
from .pg_clusters import VERSION, psql

if TYPE_CHECKING:
    from .agent import Agent
    from .model import Json, Model

BASE_PORT = 5433
PGSQL_ENDPOINTS = ("db", "db-admin")
CLIENT_ENDPOINT = "database"
ATTRIBUTES = ("SUPERUSER", "CREATEDB", "CREATEROLE")


# -- the protocol, pure ---------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """Where one unit's cluster listens."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Request:
    """What a pgsql client asked for; ``None`` means the key was not sent."""

    database: str
    roles: str | None = None
    extensions: str | None = None

    def role_list(self) -> list[str]:
        return [r.strip() for r in (self.roles or "").split(",") if r.strip()]

    def extension_list(self) -> list[tuple[str, str]]:
        """(name, schema) pairs from ``ext`` or ``ext:schema`` items."""
        found = []
        for item in (self.extensions or "").split(","):
            name, _, schema = item.strip().partition(":")
            if name:
                found.append((name, schema or "public"))
        return found


def pgsql_request(client_app: str, app_data: dict[str, str], units_data: list[dict[str, str]]) -> Request:
    """The client's request: application data (v2) first, then its units' data (v1)."""

    def first(key: str) -> str | None:
        for data in (app_data, *units_data):
            if data.get(key):
                return data[key]
        return None

    return Request(first("database") or client_app, first("roles"), first("extensions"))


def pgsql_user(client_app: str, admin: bool) -> str:
    """The role the classic charm names for a client application (``juju_``/``jujuadmin_``)."""
    name = f"{'jujuadmin' if admin else 'juju'}_{client_app}"
    return name[:63]


def libpq(**values: str | int) -> str:
    """A libpq connection string, keys sorted, values quoted where needed."""
    parts = []
    for key in sorted(values):
        value = str(values[key])
        if not value or re.search(r"[\s'\\]", value):
            value = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        parts.append(f"{key}={value}")
    return " ".join(parts)


def pgsql_data(
    request: Request,
    user: str,
    password: str,
    *,
    admin: bool,
    this: Node,
    master: Node,
    standbys: list[Node],
    allowed_units: list[str],
    allowed_subnets: list[str],
) -> dict[str, str]:
    """One unit's data on a pgsql relation, as the classic postgresql charm publishes it."""
    state = ("master" if standbys else "standalone") if this == master else "hot standby"

    def connection(node: Node) -> str:
        return libpq(dbname=request.database, host=node.host, password=password, port=node.port, user=user)

    data = {
        "database": request.database,
        "user": user,
        "password": password,
        "version": VERSION,
        "state": state,
        "host": this.host,
        "port": str(this.port),
        "allowed-units": " ".join(allowed_units),
        "allowed-subnets": ",".join(allowed_subnets),
        "master": connection(master),
        "standbys": "\n".join(sorted(connection(node) for node in standbys)),
    }
    if not admin:
        data.update({"schema_user": user, "schema_password": password})
    if request.roles is not None:
        data["roles"] = request.roles
    if request.extensions is not None:
        data["extensions"] = request.extensions
    return data


def client_data(
    database: str, user: str, password: str, version: str, master: Node, standbys: list[Node]
) -> dict[str, str]:
    """The application data of a postgresql_client provider (plain credentials, no TLS)."""
    return {
        "database": database,
        "endpoints": str(master),
        "read-only-endpoints": ",".join(str(node) for node in standbys) or str(master),
        "uris": f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{master}/{database}",
        "version": version,
        "tls": "False",
        "username": user,
        "password": password,
    }


def render_hba(grants: list[tuple[str, str, str]]) -> str:
    """pg_hba.conf: peer for local system users (replication included), scram for each
    granted (database, user, client network)."""
    lines = [
        "# Generated by localjuju (servers_postgresql.py).",
        "local   all          postgres                 peer",
        "local   all          all                      peer",
        "local   replication  all                      peer",
    ]
    for database, user, subnet in sorted(set(grants)):
        lines.append(f'host    "{database}"  "{user}"  {subnet}  scram-sha-256')
    return "\n".join(lines) + "\n"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# -- the server application's state ----------------------------------------------------------


def app_state(model: Model, app: str) -> Json:
    """``master`` unit, ``passwords`` by user, ``withheld`` client units (kept in the model)."""
    record: Json = model.applications[app].setdefault("server", {})
    record.setdefault("passwords", {})
    record.setdefault("withheld", [])
    units = model.app_units(app)
    if record.get("master") not in units and units:
        record["master"] = units[0]
    return record


def password_for(model: Model, app: str, user: str) -> str:
    passwords: dict[str, str] = app_state(model, app)["passwords"]
    return passwords.setdefault(user, secrets.token_urlsafe(18).replace("-", "x").replace("_", "y"))


def node(model: Model, unit: str) -> Node:
    return Node(servers.unit_address(model, unit), int(servers.state(model, unit)["port"]))


def ensure_cluster(model: Model, unit: str) -> int:
    """Create and start the unit's cluster (master, or standby of the master); return its port."""
    packages = [f"postgresql-{VERSION}", "postgresql-contrib"]
    servers.ensure_packages(str(pg_clusters.BIN / "postgres"), packages)
    app = model.units[unit]["app"]
    master = app_state(model, app)["master"]
    port = servers.allocate_port(model, unit, BASE_PORT, pg_clusters.cluster_ports())
    name = pg_clusters.cluster_name(model.name, unit)
    servers.state(model, unit)["cluster"] = name
    if not pg_clusters.initialised(name):
        pg_clusters.drop(name)  # what an interrupted run left of it, if anything
        pg_clusters.create(model.name, name, port, servers.unit_address(model, unit))
    if unit == master:
        start_master(name)
    else:
        start_standby(name, int(servers.state(model, master)["port"]))
    pg_clusters.wait_ready(port)
    if unit == master:
        pg_clusters.wait_writable(port)
    return port


def start_master(name: str) -> None:
    if not pg_clusters.running(name):
        pg_clusters.ctl(name, "start")
    if pg_clusters.is_standby(name):
        pg_clusters.ctl(name, "promote")


def start_standby(name: str, master_port: int) -> None:
    if not pg_clusters.is_standby(name) or not pg_clusters.streams_from(name, master_port):
        pg_clusters.clone(name, master_port)
    if not pg_clusters.running(name):
        pg_clusters.ctl(name, "start")


# -- resources on the master ---------------------------------------------------------------------


def ensure_role(port: int, user: str, password: str, attributes: str) -> None:
    psql(
        port,
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {literal(user)}) "
        f"THEN CREATE ROLE {ident(user)}; END IF; END $$; "
        f"ALTER ROLE {ident(user)} WITH LOGIN {attributes} PASSWORD {literal(password)}",
    )


def ensure_database(port: int, database: str, owner: str) -> None:
    if not psql(port, f"SELECT 1 FROM pg_database WHERE datname = {literal(database)}"):
        psql(port, f"CREATE DATABASE {ident(database)} OWNER {ident(owner)}")
    psql(port, f"GRANT ALL ON DATABASE {ident(database)} TO {ident(owner)}")
    psql(port, f"GRANT ALL ON SCHEMA public TO {ident(owner)}", database)


def grant_roles(port: int, user: str, roles: list[str]) -> None:
    for role in roles:
        if role.upper() in ATTRIBUTES:
            psql(port, f"ALTER ROLE {ident(user)} WITH {role.upper()}")
            continue
        psql(
            port,
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {literal(role)}) "
            f"THEN CREATE ROLE {ident(role)} INHERIT NOLOGIN; END IF; END $$; "
            f"GRANT {ident(role)} TO {ident(user)}",
        )


def ensure_extensions(port: int, database: str, extensions: list[tuple[str, str]]) -> None:
    for name, schema in extensions:
        if schema != "public":
            psql(port, f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}", database)
        psql(port, f"CREATE EXTENSION IF NOT EXISTS {ident(name)} WITH SCHEMA {ident(schema)}", database)


def provision(port: int, user: str, password: str, admin: bool, request: Request) -> None:
    """Role, database, roles and extensions for one relation (on the master)."""
    ensure_role(port, user, password, "SUPERUSER" if admin else "NOSUPERUSER")
    ensure_database(port, request.database, user)
    grant_roles(port, user, request.role_list())
    ensure_extensions(port, request.database, request.extension_list())


# -- one unit's reconcile step --------------------------------------------------------------------


@dataclass
class Grant:
    """What one relation gives: its database, user and password, and the data to publish."""

    request: Request
    user: str
    password: str
    admin: bool
    data: dict[str, str]
    app_level: bool = False


def client_subnets(model: Model, rel: Json, unit: str) -> str:
    data = rel["data"].get(unit, {})
    if data.get("egress-subnets"):
        return str(data["egress-subnets"])
    address = data.get("ingress-address") or data.get("private-address") or servers.unit_address(model, unit)
    return f"{address}/32"


def pgsql_grant(model: Model, unit: str, rel: Json, master: str, peers: list[str]) -> Grant:
    app = model.units[unit]["app"]
    endpoint = rel["apps"][app]
    client_app = next(a for a in rel["apps"] if a != app)
    clients = servers.remote_units(model, rel, unit)
    request = pgsql_request(
        client_app, rel["data"].get(client_app, {}), [rel["data"].get(u, {}) for u in clients]
    )
    admin = endpoint == "db-admin"
    user = pgsql_user(client_app, admin)
    password = password_for(model, app, user)
    withheld = set(app_state(model, app)["withheld"])
    granted = [u for u in clients if u not in withheld]
    denied_subnets = {s for u in clients if u in withheld for s in client_subnets(model, rel, u).split(",")}
    subnets = {s for u in granted for s in client_subnets(model, rel, u).split(",")} - denied_subnets
    data = pgsql_data(
        request,
        user,
        password,
        admin=admin,
        this=node(model, unit),
        master=node(model, master),
        standbys=[node(model, p) for p in peers if p != master],
        allowed_units=granted,
        allowed_subnets=sorted(subnets),
    )
    return Grant(request, user, password, admin, data)


def client_grant(model: Model, rid: str, unit: str, rel: Json, master: str, peers: list[str]) -> Grant | None:
    app = model.units[unit]["app"]
    client_app = next(a for a in rel["apps"] if a != app)
    request = rel["data"].get(client_app, {})
    if not request.get("database"):
        return None  # the client's leader has not asked yet
    user = f"relation-{rid}"
    password = password_for(model, app, user)
    version = str(app_state(model, app).get("full_version", VERSION))
    data = client_data(
        request["database"],
        user,
        password,
        version,
        node(model, master),
        [node(model, p) for p in peers if p != master],
    )
    wanted = Request(request["database"], request.get("extra-user-roles"))
    return Grant(wanted, user, password, False, data, app_level=True)


def collect_grants(model: Model, unit: str, master: str) -> list[tuple[str, Grant]]:
    """(relation id, grant) for every live relation with something to grant."""
    app = model.units[unit]["app"]
    peers = model.app_units(app)
    grants: list[tuple[str, Grant]] = []
    for rid, rel in servers.live_relations(model, app):
        endpoint = rel["apps"][app]
        if endpoint in PGSQL_ENDPOINTS and servers.remote_units(model, rel, unit):
            grants.append((rid, pgsql_grant(model, unit, rel, master, peers)))
        elif endpoint == CLIENT_ENDPOINT:
            found = client_grant(model, rid, unit, rel, master, peers)
            if found:
                grants.append((rid, found))
    return grants


def handle(agent: Agent, unit: str, event: dict[str, Any]) -> None:
    """Any event: keep the cluster up, provision (master), open pg_hba, publish."""
    model = agent.model
    app = model.units[unit]["app"]
    record = app_state(model, app)
    master = record["master"]
    port = ensure_cluster(model, unit)
    if unit == master:
        record["full_version"] = psql(port, "SHOW server_version").split()[0]
    grants = collect_grants(model, unit, master)
    if unit == master:
        for _, grant in grants:
            provision(port, grant.user, grant.password, grant.admin, grant.request)
    open_hba(model, unit, grants)
    for rid, grant in grants:
        if grant.app_level:
            if model.applications[app].get("leader") == unit:
                servers.publish(agent, rid, app, grant.data)
        else:
            servers.publish(agent, rid, unit, {**servers.juju_keys(model, unit), **grant.data})
    role = "master" if unit == master else "hot standby"
    servers.set_status(model, unit, "active", f"ready ({role}, {servers.unit_address(model, unit)}:{port})")


def open_hba(model: Model, unit: str, grants: list[tuple[str, Grant]]) -> None:
    """pg_hba for the granted subnets of every relation (an application-level grant, which
    names no subnets, opens the server's own network); reload."""
    own_network = (
        f"{network.SUBNET}.0/{network.PREFIX_LENGTH}"
        if servers.isolated(model, model.units[unit]["app"])
        else f"{servers.HOST_ADDRESS}/32"
    )
    entries = [
        (g.request.database, g.user, subnet)
        for _, g in grants
        for subnet in (
            [own_network] if g.app_level else filter(None, g.data.get("allowed-subnets", "").split(","))
        )
    ]
    name = pg_clusters.cluster_name(model.name, unit)
    path = pg_clusters.conf_dir(name) / "pg_hba.conf"
    text = render_hba(entries)
    if path.read_text() != text:
        path.write_text(text)
        pg_clusters.ctl(name, "reload")


def failover(agent: Agent, app: str) -> str:
    """Promote the first standby; the old master is re-cloned as its standby. Returns the new master."""
    model = agent.model
    record = app_state(model, app)
    old = record["master"]
    standbys = [u for u in model.app_units(app) if u != old]
    if not standbys:
        raise RuntimeError(f"{app} has no standby to promote (add a unit first)")
    new = standbys[0]
    pg_clusters.ctl(pg_clusters.cluster_name(model.name, old), "stop", "-m", "fast", check=False)
    pg_clusters.ctl(pg_clusters.cluster_name(model.name, new), "promote")
    pg_clusters.wait_writable(int(servers.state(model, new)["port"]))
    record["master"] = new
    for unit in [new, *[u for u in model.app_units(app) if u != new]]:
        agent.enqueue(unit, "failover")
    return new


def set_withheld(agent: Agent, app: str, client_unit: str, withheld: bool) -> None:
    """Leave ``client_unit`` out of (or put it back in) the access lists, and republish."""
    record = app_state(agent.model, app)
    names = set(record["withheld"])
    names = names | {client_unit} if withheld else names - {client_unit}
    record["withheld"] = sorted(names)
    for unit in agent.model.app_units(app):
        agent.enqueue(unit, "config-changed")


def teardown(model: Model, unit: str) -> None:
    """Drop the unit's cluster: its server, data and configuration."""
    pg_clusters.drop(servers.state(model, unit).get("cluster") or pg_clusters.cluster_name(model.name, unit))


def sweep(model_name: str) -> None:
    """Drop every cluster of ``model_name`` still on the host (found by name, not state)."""
    for name in pg_clusters.model_clusters(model_name):
        pg_clusters.drop(name)


servers.register(
    servers.ServerKind(
        name="postgresql",
        charm="postgresql",
        provides={"db": "pgsql", "db-admin": "pgsql", "database": "postgresql_client"},
        requires={},
        handle=handle,
        teardown=teardown,
        sweep=sweep,
        description="PostgreSQL 15 clusters: the first unit the master, the others streaming standbys",
    )
)
