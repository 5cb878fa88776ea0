"""What each PostgreSQL charm says and refuses on its client relations, pure (no server).

Three charms are played, picked by the application's channel track (see FIDELITY.md for
the revisions read):

- ``classic``: the reactive postgresql charm (``db``, ``db-admin``). It creates whatever is
  asked: the database named in the client's unit data, the roles, and each extension as
  ``name`` or ``name(schema)``; an extension it cannot parse or create fails its hook.
- ``14`` (``juju deploy postgresql``, the default): ``db``/``db-admin`` (legacy, logged as
  deprecated) and ``database``. On ``db`` it blocks on a ``roles`` key in the client's
  application data and on an extension whose ``plugin_<name>_enable`` is off; it never
  creates extensions from a request, only the enabled plugins, in every database.
- ``16``: ``database`` only.

On ``database`` (both 14 and 16) the request is served once, when ``database`` first
appears; a later change of the name is never provisioned, and a changed
``extra-user-roles`` fails the provider's hook (data_interfaces refuses it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

DEFAULT_TRACK = "14"
ENDPOINTS = {
    "classic": ("db", "db-admin"),
    "14": ("db", "db-admin", "database"),
    "16": ("database",),
}
PGSQL_ENDPOINTS = ("db", "db-admin")
CLIENT_ENDPOINT = "database"

EXTENSIONS_BLOCKED = "extensions requested through relation, enable them through config options"
ROLES_BLOCKED = "roles requested through relation, use postgresql_client interface instead"
ENDPOINTS_BLOCKED = "Please choose one endpoint to use. No need to relate all of them simultaneously!"
INVALID_ROLES = "invalid role(s) for extra user roles"
INVALID_DATABASE = "invalid database name"
CHANGED_ROLES = "Cannot change extra-user-roles after relation has already been created"

ROLE_ATTRIBUTES = ("SUPERUSER", "CREATEDB", "CREATEROLE")
ROLES_16 = {"charmed_stats", "charmed_read", "charmed_dml", "charmed_admin"}
RESERVED_16 = {"databases", "postgres", "template0", "template1"}
# the 14 charm's plugin_<name>_enable options whose extensions Debian's postgresql-contrib has
PLUGINS = (
    "bloom",
    "btree_gin",
    "btree_gist",
    "citext",
    "cube",
    "dict_int",
    "dict_xsyn",
    "earthdistance",
    "fuzzystrmatch",
    "hstore",
    "intarray",
    "isn",
    "lo",
    "ltree",
    "pg_trgm",
    "pgcrypto",
    "seg",
    "tablefunc",
    "tcn",
    "tsm_system_rows",
    "tsm_system_time",
    "unaccent",
    "uuid_ossp",
)
PLUGIN_EXTENSIONS = {"uuid_ossp": "uuid-ossp"}


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


def pgsql_request(client_app: str, app_data: dict[str, str], units_data: list[dict[str, str]]) -> Request:
    """The classic charm's reading: application data first, then the units', then the app name."""

    def first(key: str) -> str | None:
        for data in (app_data, *units_data):
            if data.get(key):
                return data[key]
        return None

    return Request(first("database") or client_app, first("roles"), first("extensions"))


def classic_extensions(text: str | None) -> list[tuple[str, str]]:
    """(name, schema) from ``name`` or ``name(schema)`` items; raises ``ValueError`` as the
    classic charm does ("Invalid extension")."""
    found = []
    for item in filter(None, (text or "").split(",")):
        match = re.search(r"^\s*([^(\s]+)\s*(?:\((\w+)\))?", item)
        if match is None:
            raise ValueError(f"Invalid extension {item}")
        found.append((match.group(1), match.group(2) or "public"))
    return found


def requested_extensions(app_data: dict[str, str], units_data: list[dict[str, str]]) -> list[str]:
    """The 14 charm's list: every ``extensions`` item of the application and unit data, once."""
    found: list[str] = []
    for data in (app_data, *units_data):
        for item in (data.get("extensions") or "").split(","):
            if item and item not in found:
                found.append(item)
    return found


def disabled_extensions(requested: list[str], config: dict[str, object]) -> list[str]:
    """The requested names (before any ``:``) whose ``plugin_<name>_enable`` is not set."""
    return sorted(
        {item.split(":")[0] for item in requested if not config.get(f"plugin_{item.split(':')[0]}_enable")}
    )


def enabled_plugins(config: dict[str, object]) -> list[str]:
    """The extensions the 14 charm creates in every database it provisions."""
    return [PLUGIN_EXTENSIONS.get(name, name) for name in PLUGINS if config.get(f"plugin_{name}_enable")]


def pgsql_database(
    client_app: str, app_data: dict[str, str], stored: str, units_data: list[dict[str, str]]
) -> str:
    """The 14 charm's database for a db relation: the application's request, else the one it
    stored when it first set the relation up, else a unit's request, else the app's name."""
    if app_data.get("database"):
        return app_data["database"]
    if stored:
        return stored
    return next((d["database"] for d in units_data if d.get("database")), client_app)


def client_roles_valid(track: str, roles: list[str], existing: set[str]) -> bool:
    """Whether the ``database`` provider accepts these ``extra-user-roles``."""
    wanted = {r.lower() for r in roles if not r.lower().endswith("_access")}
    if track == "14":
        return wanted <= {"createdb", "createrole", "superuser", "admin"} | existing
    if len(wanted) > 1 and wanted != {"charmed_admin", "createdb"}:
        return False
    return wanted <= {"superuser", "createdb"} | ROLES_16


def database_name_valid(track: str, name: str) -> bool:
    return track != "16" or (len(name) <= 49 and name not in RESERVED_16)


def pgsql_user(client_app: str, admin: bool) -> str:
    """The role the classic charm names for a client application (``juju_``/``jujuadmin_``)."""
    return f"{'jujuadmin' if admin else 'juju'}_{client_app}"[:63]


def libpq(**values: str | int) -> str:
    """A libpq connection string, keys sorted, values quoted where needed."""
    parts = []
    for key in sorted(values):
        value = str(values[key])
        if not value or re.search(r"[\s'\\]", value):
            value = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        parts.append(f"{key}={value}")
    return " ".join(parts)


@dataclass(frozen=True)
class Topology:
    """This unit, the master and the standbys; who is granted; the server's version."""

    this: Node
    master: Node
    standbys: list[Node]
    allowed_units: list[str]
    allowed_subnets: list[str]
    version: str


def pgsql_data(
    track: str, database: str, user: str, password: str, where: Topology, echo: Request, admin: bool
) -> dict[str, str]:
    """One unit's data on a db/db-admin relation, as the classic or the 14 charm publishes it."""
    state = ("master" if where.standbys else "standalone") if where.this == where.master else "hot standby"

    def connection(node: Node) -> str:
        return libpq(dbname=database, host=node.host, password=password, port=node.port, user=user)

    classic = track == "classic"
    host = where.this if classic else where.master  # the 14 charm names the primary everywhere
    data = {
        "database": database,
        "user": user,
        "password": password,
        "version": where.version,
        "state": state,
        "host": host.host,
        "port": str(host.port),
        "allowed-units": " ".join(where.allowed_units),
        "allowed-subnets": ",".join(where.allowed_subnets),
        "master": connection(where.master),
        "standbys": ("\n" if classic else ",").join(sorted(connection(node) for node in where.standbys)),
    }
    if not (classic and admin):
        data.update({"schema_user": user, "schema_password": password})
    if classic and echo.roles is not None:
        data["roles"] = echo.roles
    if echo.extensions is not None:
        data["extensions"] = echo.extensions
    return data


def client_data(track: str, database: str, user: str, password: str, where: Topology) -> dict[str, str]:
    """The application data of a postgresql_client provider, no TLS (the fields the client
    lists in ``requested-secrets`` are moved into secrets by ``provider_secrets.hide``)."""
    readers = ",".join(str(node) for node in where.standbys) or str(where.master)
    return {
        "database": database,
        "endpoints": str(where.master),
        "read-only-endpoints": readers,
        "uris": f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{where.master}/{database}",
        "version": where.version,
        "tls": "False",
        "username": user,
        "password": password,
    }
