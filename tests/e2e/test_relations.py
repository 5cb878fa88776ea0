"""Relations against real servers: PostgreSQL 15 (pgsql and postgresql_client, failover,
access not yet granted), memcached (several units), apache2 in front (http, forwarded
client address). Elasticsearch is a STAND-IN (localjuju/es_standin.py): no ES server can
be installed here.

Servers run on the host (localjuju plays their charms); the wsgi-app unit reaches them on
127.0.0.1, as does apache2 reaching the unit.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from localmodel import APP, LocalModel, apache2_config, http_get, report

URL = "http://127.0.0.1:8080"
SEED = 20261204
APACHE = "http://127.0.0.1:8000"
# what data_interfaces' DatabaseRequires sends by default
REQUESTED_SECRETS = ["username", "password", "tls", "tls-ca", "uris", "read-only-uris"]


@pytest.fixture(scope="module")
def stack(model: LocalModel, charm: Path) -> LocalModel:
    model.cli("deploy", str(charm))
    model.cli("deploy", "postgresql", "-n", "2")
    model.cli("deploy", "memcached", "-n", "2")
    model.cli("deploy", "elasticsearch")
    model.cli("deploy", "apache2", "--config", "port=8000", *apache2_config())
    return model


def settings(model: LocalModel) -> dict[str, str]:
    return model.settings()


def backends(model: LocalModel) -> dict[str, Any]:
    health = http_get(f"{URL}/healthz").json()
    result: dict[str, Any] = health["backends"]
    return result


def visits(model: LocalModel) -> int:
    detail = backends(model)["database"]["detail"]
    match = re.search(r"\((\d+) visits\)", detail)
    assert match, detail
    return int(match.group(1))


def test_database_waits_for_access_then_serves_from_postgresql(stack: LocalModel) -> None:
    stack.cli("relate", "wsgi-app:db", "postgresql:db")
    assert settings(stack)["DATABASE_URL"].startswith("postgresql://")
    stack.cli("withhold-access", "postgresql", "wsgi-app/0")
    unit = stack.unit()
    assert unit["workload-status"] == "waiting" and "database access" in unit["message"], unit
    stack.cli("grant-access", "postgresql", "wsgi-app/0")
    unit = stack.unit()
    assert unit["workload-status"] == "active", unit
    env = settings(stack)
    assert env["DATABASE_URL"].startswith(f"postgresql://{env['PGUSER']}:")
    assert env["PGHOST"] == "127.0.0.1" and env["PGDATABASE"] == APP
    assert env["DATABASE_READ_URLS"].startswith("postgresql://")  # the streaming standby
    database = backends(stack)["database"]
    assert database["ok"] is True and "postgresql" in database["detail"], database
    password = env["PGPASSWORD"]
    assert password not in stack.cli("debug-log", "--replay").stdout
    assert password not in str(stack.action("show-settings"))
    assert stack.sh(f"stat -c %a /etc/{APP}/settings.env").strip() == "640"


def test_unchanged_relation_data_restarts_nothing(stack: LocalModel) -> None:
    pid = stack.main_pid()
    stack.cli("grant-access", "postgresql", "wsgi-app/0")  # publishes the same data again
    stack.cli("run-hook", "wsgi-app/0", "update-status")
    assert stack.main_pid() == pid


def test_failover_follows_the_new_master(stack: LocalModel) -> None:
    before = settings(stack)["PGPORT"]
    count = visits(stack)
    stack.cli("failover", "postgresql")
    after = settings(stack)
    assert after["PGPORT"] != before
    assert backends(stack)["database"]["ok"] is True
    assert visits(stack) > count  # the rows written before the failover are still there
    assert stack.unit()["workload-status"] == "active"


def test_both_database_relations_block(stack: LocalModel) -> None:
    stack.cli("relate", "wsgi-app:database", "postgresql:database")
    unit = stack.unit()
    assert unit["workload-status"] == "blocked" and "remove one" in unit["message"], unit
    server = stack.unit("postgresql/0")  # the 14 charm blocks too
    assert server["message"].startswith("Please choose one endpoint to use"), server
    assert http_get(f"{URL}/healthz").json()["status"] == "ok"  # still serving
    stack.cli("remove-relation", "wsgi-app:db", "postgresql:db")
    assert stack.unit()["workload-status"] == "active"
    assert stack.unit("postgresql/0")["workload-status"] == "active"
    env = settings(stack)
    assert env["DATABASE_URL"].startswith("postgresql://") and "PGPASSWORD" in env  # postgresql_client


def test_a_renamed_database_blocks_until_the_relation_is_made_again(stack: LocalModel) -> None:
    """The postgresql charm provisions a database relation once, when ``database`` first
    appears: a new name is never served there, so the unit says how to get it."""
    stack.config(database_name="shop")
    unit = stack.unit()
    assert unit["workload-status"] == "blocked", unit
    assert "serves database 'wsgi-app', not 'shop'" in unit["message"], unit
    assert "relate it again" in unit["message"], unit
    assert settings(stack)["PGDATABASE"] == APP and http_get(f"{URL}/healthz").json()["status"] == "ok"
    stack.cli("remove-relation", "wsgi-app:database", "postgresql:database")
    stack.cli("relate", "wsgi-app:database", "postgresql:database")
    env = settings(stack)
    assert env["PGDATABASE"] == "shop" and stack.unit()["workload-status"] == "active"
    assert backends(stack)["database"]["ok"] is True


def database_relation(stack: LocalModel) -> str:
    """The id of the live wsgi-app:database to postgresql:database relation."""
    wanted = {APP: "database", "postgresql": "database"}
    relations = stack.record()["relations"]
    return next(r for r, rel in relations.items() if rel["apps"] == wanted and not rel.get("removing"))


def can_log_in(port: str, user: str, password: str) -> bool:
    """Whether ``user`` logs in to database shop over TCP with ``password`` (given in the
    environment, never on the command line)."""
    command = ["psql", "-h", "127.0.0.1", "-p", port, "-U", user, "-d", "shop", "-XAtc", "SELECT 1"]
    env = {"PATH": "/usr/bin:/bin", "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"}
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False).stdout.strip() == "1"


def test_credentials_in_a_secret_user_secret_serve_and_rotate(stack: LocalModel) -> None:
    """The charm lists its credentials in ``requested-secrets`` (as data_interfaces'
    DatabaseRequires does) and gets them in a ``secret-user`` secret of the server, granted
    to its relation; it reads it with ``secret-get``. ``rotate-password`` is a new revision
    (ALTER ROLE on the server) and queues ``secret-changed`` for the unit that read it."""
    rid = database_relation(stack)
    asked = stack.record()["relations"][rid]["data"][APP]["requested-secrets"]
    assert json.loads(asked) == REQUESTED_SECRETS
    server = stack.record()["relations"][rid]["data"]["postgresql"]
    assert not {"username", "password", "uris"} & set(server), sorted(server)
    assert server["database"] == "shop" and server["endpoints"], sorted(server)
    uri = server["secret-user"]
    assert backends(stack)["database"]["ok"] is True
    env = settings(stack)
    shown = yaml.safe_load(stack.cli("show-secret", uri, "--reveal").stdout)[uri.removeprefix("secret:")]
    assert shown["owner"] == "postgresql" and shown["label"] == f"database.{rid}.user.secret"
    assert shown["content"]["password"] == env["PGPASSWORD"] and shown["content"]["username"] == env["PGUSER"]
    stack.cli("rotate-password", "postgresql")
    secret = stack.record()["secrets"][uri]
    # told of revision 2, the unit read it in its secret-changed hook (with --refresh)
    assert secret["latest"] == 2 and secret["consumers"][f"{APP}/0"] == {"revision": 2, "notified": 2}
    rotated = yaml.safe_load(stack.cli("show-secret", uri, "--reveal").stdout)[uri.removeprefix("secret:")]
    password = rotated["content"]["password"]
    assert password != env["PGPASSWORD"]
    assert can_log_in(env["PGPORT"], env["PGUSER"], password)
    assert not can_log_in(env["PGPORT"], env["PGUSER"], env["PGPASSWORD"])
    assert password not in stack.cli("status", "--format", "json").stdout
    assert settings(stack)["PGPASSWORD"] == password and backends(stack)["database"]["ok"] is True


def test_every_memcached_unit_is_used(stack: LocalModel) -> None:
    stack.cli("relate", "wsgi-app:cache", "memcached:cache")
    servers = settings(stack)["MEMCACHE_SERVERS"].split(",")
    assert len(servers) == 2 and all(s.startswith("127.0.0.1:") for s in servers)
    cache = backends(stack)["cache"]
    assert cache["ok"] is True and "2" in cache["detail"], cache
    stack.cli("add-unit", "memcached")
    assert len(settings(stack)["MEMCACHE_SERVERS"].split(",")) == 3
    assert backends(stack)["cache"]["ok"] is True


def test_search_with_the_elasticsearch_standin(stack: LocalModel) -> None:
    stack.cli("relate", "wsgi-app:search", "elasticsearch:client")
    env = settings(stack)
    assert env["ELASTICSEARCH_URL"].startswith("http://127.0.0.1:")
    search = backends(stack)["search"]
    assert search["ok"] is True, search
    # a charms.reactive Endpoint provider JSON-encodes its values ("127.0.0.1" with quotes)
    stack.cli("config", "elasticsearch", "publish-as=endpoint")
    relations = stack.record()["relations"].values()
    published = next(rel["data"]["elasticsearch/0"] for rel in relations if "elasticsearch" in rel["apps"])
    assert published["host"] == '"127.0.0.1"' and published["cluster_name"] == '"elasticsearch"', published
    assert settings(stack)["ELASTICSEARCH_URL"] == env["ELASTICSEARCH_URL"]
    assert backends(stack)["search"]["ok"] is True
    stack.cli("config", "elasticsearch", "publish-as=relation-set")


def test_apache2_in_front_forwards_the_client(stack: LocalModel) -> None:
    spoofed = {"X-Forwarded-For": "203.0.113.7"}
    direct = http_get(f"{URL}/request", headers=spoofed, source="127.0.0.2").json()
    assert direct["client"] == "127.0.0.2"  # no proxy trusted yet: a forged header is ignored
    stack.cli("relate", "apache2:balancer", "wsgi-app:website")
    assert settings(stack)["FORWARDED_ALLOW_IPS"] == "127.0.0.1"
    answer = stack.wait_serving(f"{APACHE}/request")
    assert answer.status == 200
    through = http_get(f"{APACHE}/request", source="127.0.0.2", headers={"X-Forwarded-Proto": "https"}).json()
    assert through == {"client": "127.0.0.2", "scheme": "https", "unit": "wsgi-app/0"}, through
    page = http_get(f"{APACHE}/")
    assert "wsgi-app demo" in page.body


# values an address parser accepts, or nearly, each carrying something else (see
# tests/unit/test_relation_addresses.py for every class)
HOSTILE = [
    "fe80::1%'\nDATABASE_URL=postgresql://evil",
    "127.0.0.1\nFORWARDED_ALLOW_IPS=*",
    "0x7f000001",
    "127.1",
    "10.0.0.1'; import os; os.system('id') #",
    "\"__import__('os').system('id')\"",
    "%(x)s%n$(id)`id`",
    "a" * 5000,
    "\u0661\u0662\u0667.0.0.1",
    "127.0.0.1%0aX=1",
    "ws://127.0.0.1:1/",
]
SHAPE = (
    "import ast, copy, hashlib, sys\n"
    "class Blank(ast.NodeTransformer):\n"
    "    def visit_Constant(self, node):\n"
    "        return ast.Constant(value=type(node.value).__name__)\n"
    "tree = ast.parse(open(sys.argv[1]).read())\n"
    "print(hashlib.sha256(ast.dump(Blank().visit(tree)).encode()).hexdigest())\n"
)
ENV_LINE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*="(?:[^"\\`$\n]|\\.)*"\Z')


def test_hostile_data_on_every_endpoint_keeps_the_unit_serving(stack: LocalModel) -> None:
    """Every related application's data (units' and apps') set to values crafted to
    survive an address parser: never a hook error, never a line or statement injected
    into settings.env or gunicorn.conf.py, and the app keeps serving."""
    model = stack.record()
    remote = {
        (rid, entity): dict(data)
        for rid, rel in model["relations"].items()
        if APP in rel["apps"] and len(rel["apps"]) == 2
        for entity, data in rel["data"].items()
        if entity.split("/")[0] != APP and data
    }
    endpoints = {model["relations"][rid]["apps"][APP] for rid, _ in remote}
    assert endpoints == {"database", "cache", "search", "website"}, endpoints
    shape = stack.sh(f"python3 -c \"$(cat <<'EOF'\n{SHAPE}EOF\n)\" /etc/{APP}/gunicorn.conf.py")
    rng = random.Random(SEED)
    tried = 0
    for (rid, entity), original in sorted(remote.items()):
        keys = sorted(set(original) | {"host", "port", "private-address", "ingress-address"})
        for value in rng.sample(HOSTILE, 3):
            stack.cli("set-relation-data", rid, entity, *(f"{key}={value}" for key in keys))
            unit = stack.unit()
            assert unit["agent-status"] == "idle" and unit["workload-status"] != "error", (
                entity,
                value,
                unit,
            )
            lines = [
                line for line in stack.sh(f"cat /etc/{APP}/settings.env").splitlines() if line[:1] != "#"
            ]
            assert all(ENV_LINE.match(line) for line in lines), (entity, value, lines)
            assert "evil" not in "".join(lines) and 'FORWARDED_ALLOW_IPS="*"' not in lines
            now = stack.sh(f"python3 -c \"$(cat <<'EOF'\n{SHAPE}EOF\n)\" /etc/{APP}/gunicorn.conf.py")
            assert now == shape, (entity, value)  # only the expected assignments, whatever the values
            assert http_get(f"{URL}/healthz").json()["status"] == "ok"
            tried += len(keys)
        stack.cli("set-relation-data", rid, entity, "--replace", *(f"{k}={v}" for k, v in original.items()))
    report(f"hostile relation data: {tried} values on {len(remote)} entities, seed {SEED}")
    unit = stack.unit()
    assert unit["workload-status"] == "active", unit
    assert all(backends(stack)[name]["ok"] is True for name in ("database", "cache", "search")), backends(
        stack
    )


def test_relation_removed_while_a_hook_runs(stack: LocalModel) -> None:
    """remove-relation issued while a hook is running: it waits its turn, as Juju queues a
    unit's hooks, and the departed/broken hooks that follow leave the unit consistent."""
    command = [sys.executable, "-m", "localjuju.cli", "-m", stack.name]
    running = subprocess.Popen([*command, "run-hook", "wsgi-app/0", "config-changed"])
    time.sleep(0.3)
    removed = subprocess.run([*command, "remove-relation", "wsgi-app:cache", "memcached:cache"], check=False)
    assert running.wait(timeout=300) == 0 and removed.returncode == 0
    unit = stack.unit()
    assert unit["agent-status"] == "idle" and unit["workload-status"] == "active", unit
    assert "MEMCACHE_SERVERS" not in settings(stack)
    assert backends(stack)["cache"]["ok"] is None


def test_unrelating_removes_the_settings(stack: LocalModel) -> None:
    for a, b in [("wsgi-app:search", "elasticsearch:client")]:
        stack.cli("remove-relation", a, b)
    stack.cli("remove-relation", "wsgi-app:database", "postgresql:database")
    env = settings(stack)
    assert not {"MEMCACHE_SERVERS", "ELASTICSEARCH_URL", "PGPASSWORD"} & set(env), env
    assert env["DATABASE_URL"].startswith("sqlite:///")
    assert stack.unit()["workload-status"] == "active"
    assert backends(stack)["cache"]["ok"] is None
    assert http_get(f"{URL}/healthz").json()["status"] == "ok"


def psql_as_postgres(port: str, database: str, sql: str) -> str:
    command = ["runuser", "-u", "postgres", "--", "psql", "-h", "/var/run/postgresql", "-p", port]
    result = subprocess.run([*command, "-d", database, "-XAtc", sql], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_14_charm_blocks_extensions_and_roles_it_was_not_told_to_allow(stack: LocalModel) -> None:
    """The postgresql charm (14) creates no extension a pgsql client asks for: it blocks
    until its plugin option is on, then creates it itself; a ``roles`` request blocks it."""
    stack.config(database_extensions="citext")
    stack.cli("relate", "wsgi-app:db", "postgresql:db")
    server = stack.unit("postgresql/0")
    assert server["workload-status"] == "blocked", server
    assert server["message"] == "extensions requested through relation, enable them through config options"
    unit = stack.unit()
    assert unit["workload-status"] == "waiting" and "database access" in unit["message"], unit
    stack.cli("config", "postgresql", "plugin_citext_enable=true")
    assert stack.unit("postgresql/0")["workload-status"] == "active"
    assert stack.unit()["workload-status"] == "active", stack.unit()
    env = settings(stack)
    assert env["PGDATABASE"] == "shop" and env["PGUSER"].startswith("relation-")
    citext = "SELECT extname FROM pg_extension WHERE extname = 'citext'"
    assert psql_as_postgres(env["PGPORT"], "shop", citext) == "citext"
    assert backends(stack)["database"]["ok"] is True
    stack.config(database_roles="reporting")
    server = stack.unit("postgresql/0")
    assert server["message"] == "roles requested through relation, use postgresql_client interface instead"
    stack.config(database_roles="")
    assert stack.unit("postgresql/0")["workload-status"] == "active"
    assert stack.unit()["workload-status"] == "active"


def test_the_classic_charm_creates_extensions_in_the_schema_asked(stack: LocalModel) -> None:
    stack.cli("remove-relation", "wsgi-app:db", "postgresql:db")
    stack.config(database_extensions="hstore(kv)", database_roles="reporting")
    stack.cli("deploy", "postgresql", "pgclassic", "--channel", "classic")
    stack.cli("relate", "wsgi-app:db", "pgclassic:db")
    unit = stack.unit()
    assert unit["workload-status"] == "active", unit
    env = settings(stack)
    assert env["PGUSER"] == f"juju_{APP}" and env["PGDATABASE"] == "shop"
    schema = "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
    assert psql_as_postgres(env["PGPORT"], "shop", f"{schema} WHERE e.extname = 'hstore'") == "kv"
    member = f"SELECT pg_has_role('juju_{APP}', 'reporting', 'MEMBER')"
    assert psql_as_postgres(env["PGPORT"], "shop", member) == "t"
    assert backends(stack)["database"]["ok"] is True
    stack.cli("remove-relation", "wsgi-app:db", "pgclassic:db")
    stack.config(database_extensions="", database_roles="")
