"""Users, databases, roles and extensions on the master, as each PostgreSQL charm makes them
(through ``psql`` as the postgres superuser; every name is quoted by :func:`ident`)."""

from __future__ import annotations

from .pg_charms import ROLE_ATTRIBUTES, ROLES_16
from .pg_clusters import psql


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ensure_role(port: int, role: str, options: str) -> None:
    """Create ``role`` with ``options`` if it is missing; a role that exists (another
    relation's user, a predefined role) is left as it is."""
    psql(
        port,
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {literal(role)}) "
        f"THEN CREATE ROLE {ident(role)} WITH {options}; END IF; END $$",
    )


def login(port: int, user: str, password: str, superuser: bool) -> None:
    """The relation's own user: created if missing, then given its login and password."""
    attribute = "SUPERUSER" if superuser else "NOSUPERUSER"
    ensure_role(port, user, "LOGIN")
    statement = f"ALTER ROLE {ident(user)} WITH LOGIN {attribute} PASSWORD {literal(password)}"
    psql(port, statement, secret=True)


def database_exists(port: int, database: str) -> bool:
    return bool(psql(port, f"SELECT 1 FROM pg_database WHERE datname = {literal(database)}"))


def grant_roles(port: int, user: str, roles: list[str]) -> None:
    """Attributes (SUPERUSER, CREATEDB, CREATEROLE) as such; other roles created NOLOGIN if
    missing, then granted."""
    for role in roles:
        if role.upper() in ROLE_ATTRIBUTES:
            psql(port, f"ALTER ROLE {ident(user)} WITH {role.upper()}")
            continue
        ensure_role(port, role, "INHERIT NOLOGIN")
        psql(port, f"GRANT {ident(role)} TO {ident(user)}")


def create_extensions(port: int, database: str, extensions: list[tuple[str, str]]) -> None:
    """``CREATE EXTENSION`` each (name, schema); a schema other than public is created and
    opened to everyone first, as the classic charm does."""
    for name, schema in extensions:
        if schema != "public":
            psql(
                port,
                f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}; "
                f"GRANT USAGE ON SCHEMA {ident(schema)} TO PUBLIC",
                database,
            )
        psql(port, f"CREATE EXTENSION IF NOT EXISTS {ident(name)} WITH SCHEMA {ident(schema)}", database)


def classic(
    port: int,
    user: str,
    password: str,
    admin: bool,
    database: str,
    roles: list[str],
    extensions: list[tuple[str, str]],
) -> None:
    """The classic charm: the user owns its database; roles and extensions as asked."""
    login(port, user, password, admin)
    if not database_exists(port, database):
        psql(port, f"CREATE DATABASE {ident(database)} OWNER {ident(user)}")
    psql(port, f"GRANT ALL ON DATABASE {ident(database)} TO {ident(user)}")
    psql(port, f"GRANT ALL ON SCHEMA public TO {ident(user)}", database)
    grant_roles(port, user, roles)
    create_extensions(port, database, extensions)


def track14(
    port: int,
    user: str,
    password: str,
    superuser: bool,
    database: str,
    shared: bool,
    plugins: list[str],
    roles: list[str],
) -> None:
    """The 14 charm: the operator creates the database and revokes it from PUBLIC; the
    relation's user gets every privilege on it and, when no other relation uses the database,
    ownership of its public schema and objects (else grants on them); the enabled plugins are
    created in it."""
    login(port, user, password, superuser)
    if "admin" in roles:
        ensure_role(port, "admin", "NOLOGIN")
        psql(port, f"GRANT admin TO {ident(user)}; ALTER ROLE {ident(user)} WITH CREATEDB")
    grant_roles(port, user, [r for r in roles if r != "admin"])
    if not database_exists(port, database):
        psql(port, f"CREATE DATABASE {ident(database)}")
    psql(port, f"REVOKE ALL PRIVILEGES ON DATABASE {ident(database)} FROM PUBLIC")
    psql(port, f"GRANT ALL PRIVILEGES ON DATABASE {ident(database)} TO {ident(user)}")
    if shared:
        psql(
            port,
            f"GRANT USAGE, CREATE ON SCHEMA public TO {ident(user)}; "
            f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {ident(user)}; "
            f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {ident(user)}",
            database,
        )
    else:
        psql(port, f"ALTER SCHEMA public OWNER TO {ident(user)}", database)
        psql(port, _reown_sql(user), database)
    create_extensions(port, database, [(name, "public") for name in plugins])


def _reown_sql(user: str) -> str:
    return (
        "DO $$ DECLARE item record; BEGIN "
        "FOR item IN SELECT c.relname, c.relkind FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v', 'm', 'p') "
        "AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass "
        "AND d.deptype IN ('a', 'i') AND c.relkind = 'S') LOOP "
        "EXECUTE format('ALTER %s public.%I OWNER TO %I', "
        "CASE item.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' "
        "WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, item.relname, "
        f"{literal(user)}); END LOOP; END $$"
    )


def track16(port: int, user: str, password: str, database: str, roles: list[str]) -> None:
    """The 16 charm: ``charmed_<db>_owner`` owns the database and its public schema;
    the user is in ``charmed_<db>_admin`` (NOINHERIT member of the owner) and ``_dml``, and
    acts as the owner from login (the charm's login hook; here the role's ``role`` setting).
    A user asking for one of the predefined ``charmed_*`` roles gets that and CONNECT only."""
    owner, admin, dml = (f"charmed_{database}_{suffix}" for suffix in ("owner", "admin", "dml"))
    ensure_role(port, owner, "NOLOGIN")
    ensure_role(port, admin, "NOLOGIN NOINHERIT")
    ensure_role(port, dml, "NOLOGIN")
    psql(port, f"GRANT {ident(owner)} TO {ident(admin)}")
    if not database_exists(port, database):
        psql(port, f"CREATE DATABASE {ident(database)} OWNER {ident(owner)}")
    psql(port, f"REVOKE ALL PRIVILEGES ON DATABASE {ident(database)} FROM PUBLIC")
    psql(port, f"ALTER SCHEMA public OWNER TO {ident(owner)}", database)
    psql(port, f"GRANT CONNECT ON DATABASE {ident(database)} TO {ident(admin)}, {ident(dml)}")
    login(port, user, password, "superuser" in roles)
    if "createdb" in roles:
        psql(port, f"ALTER ROLE {ident(user)} WITH CREATEDB")
    predefined = [r for r in roles if r in ROLES_16 and r != "charmed_admin"]
    if predefined:
        for role in predefined:
            ensure_role(port, role, "NOLOGIN")
            psql(port, f"GRANT {ident(role)} TO {ident(user)}")
        psql(port, f"GRANT CONNECT ON DATABASE {ident(database)} TO {ident(user)}")
        return
    psql(port, f"GRANT {ident(admin)}, {ident(dml)} TO {ident(user)}")
    psql(port, f"ALTER ROLE {ident(user)} IN DATABASE {ident(database)} SET role = {literal(owner)}")
