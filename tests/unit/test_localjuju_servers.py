"""The pure parts of localjuju's server applications: relation data each publishes, apache2's
rendered config, and the Elasticsearch stand-in exercised over loopback (no root, no machine)."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from localjuju import (
    deploying,
    es_standin,
    servers,
    servers_apache2,
    servers_elasticsearch,
    servers_memcached,
    servers_rabbitmq,
    servers_redis,
)
from localjuju import pg_charms as pgc
from localjuju import servers_postgresql as pg

ROOT = Path(__file__).resolve().parents[2]

# -- endpoints and names ------------------------------------------------------------------------


def test_every_server_declares_the_real_charms_endpoints() -> None:
    found = {name: (kind.provides, kind.requires) for name, kind in servers.kinds().items()}
    assert found == {
        "postgresql": ({"db": "pgsql", "db-admin": "pgsql", "database": "postgresql_client"}, {}),
        "memcached": ({"cache": "memcache"}, {}),
        "elasticsearch": ({"client": "elasticsearch"}, {}),
        "apache2": ({}, {"reverseproxy": "http", "balancer": "http"}),
        "s3-integrator": ({"s3-credentials": "s3"}, {}),
        "redis": ({"db": "redis"}, {}),
        "rabbitmq-server": ({"amqp": "rabbitmq"}, {}),
        "prometheus": ({}, {"metrics-endpoint": "prometheus_scrape"}),
        "haproxy": ({"website": "http"}, {"reverseproxy": "http"}),
        "rsyslog": ({}, {}),  # no relation: a shipper is configured with its address
    }


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("postgresql", "postgresql"),
        ("server:memcached", "memcached"),
        ("ch:apache2", "apache2"),
        ("cs:xenial/elasticsearch-42", "elasticsearch"),
        ("./wsgi-app.charm", None),
        ("haproxy", "haproxy"),
        ("nginx", None),
    ],
)
def test_server_name_reads_deploy_and_bundle_charm_names(spec: str, name: str | None) -> None:
    assert deploying.server_name(spec) == name


# -- memcached and elasticsearch ------------------------------------------------------------------


def test_memcached_publishes_host_port_and_udp_port() -> None:
    assert servers_memcached.relation_data("127.0.0.1", 11212) == {
        "host": "127.0.0.1",
        "port": "11212",
        "udp-port": "0",
    }


def test_elasticsearch_publishes_cluster_name_host_and_port() -> None:
    assert servers_elasticsearch.relation_data("search", "127.0.0.1", 9200) == {
        "cluster-name": "search",
        "host": "127.0.0.1",
        "port": "9200",
    }
    # a charms.reactive Endpoint provider: to_publish JSON-encodes each value
    assert servers_elasticsearch.relation_data("search", "127.0.0.1", 9200, "endpoint") == {
        "cluster_name": '"search"',
        "host": '"127.0.0.1"',
        "port": "9200",
    }


# -- postgresql --------------------------------------------------------------------------------------

MASTER = pgc.Node("127.0.0.1", 5433)
STANDBY = pgc.Node("127.0.0.1", 5434)


def where(this: pgc.Node = MASTER, standbys: list[pgc.Node] | None = None, **changes: Any) -> pgc.Topology:
    fields: dict[str, Any] = {
        "this": this,
        "master": MASTER,
        "standbys": [STANDBY] if standbys is None else standbys,
        "allowed_units": ["app/0", "app/1"],
        "allowed_subnets": ["127.0.0.1/32"],
        "version": "15.8",
    }
    return pgc.Topology(**{**fields, **changes})


def test_each_track_offers_the_endpoints_of_its_charm() -> None:
    kind = servers.kinds()["postgresql"]
    assert set(kind.endpoints("16/stable")["provides"]) == {"database"}
    assert set(kind.endpoints("14/stable")["provides"]) == {"db", "db-admin", "database"}
    assert set(kind.endpoints("")["provides"]) == {"db", "db-admin", "database"}  # 14, as juju deploy
    assert set(kind.endpoints("classic")["provides"]) == {"db", "db-admin"}
    with pytest.raises(SystemExit, match="no channel"):
        kind.endpoints("9/edge")


def test_classic_request_prefers_application_data_then_units_then_the_app_name() -> None:
    request = pgc.pgsql_request("app", {"database": "shop"}, [{"database": "other", "roles": "r"}])
    assert request == pgc.Request("shop", "r", None)
    assert pgc.pgsql_request("app", {}, [{}]) == pgc.Request("app", None, None)


def test_classic_extensions_are_name_or_name_with_schema_in_brackets() -> None:
    assert pgc.classic_extensions("hstore,postgis(gis)") == [("hstore", "public"), ("postgis", "gis")]
    assert pgc.classic_extensions("") == []
    # what we used to send: the classic charm reads the whole item as a name, and CREATE fails
    assert pgc.classic_extensions("postgis:gis") == [("postgis:gis", "public")]
    with pytest.raises(ValueError, match="Invalid extension"):
        pgc.classic_extensions(" (x)")


def test_the_14_charm_checks_extensions_against_its_plugin_options() -> None:
    requested = pgc.requested_extensions({"extensions": "citext"}, [{"extensions": "hstore:public,citext"}])
    assert requested == ["citext", "hstore:public"]
    assert pgc.disabled_extensions(requested, {"plugin_citext_enable": True}) == ["hstore"]
    assert (
        pgc.disabled_extensions(requested, {"plugin_citext_enable": True, "plugin_hstore_enable": True}) == []
    )
    assert "uuid-ossp" in pgc.enabled_plugins({"plugin_uuid_ossp_enable": True})


def test_the_14_charm_keeps_the_database_it_set_up_unless_the_app_asks_again() -> None:
    assert pgc.pgsql_database("app", {"database": "new"}, "old", [{"database": "unit"}]) == "new"
    assert pgc.pgsql_database("app", {}, "old", [{"database": "unit"}]) == "old"
    assert pgc.pgsql_database("app", {}, "", [{}, {"database": "unit"}]) == "unit"
    assert pgc.pgsql_database("app", {}, "", []) == "app"


@pytest.mark.parametrize(
    ("track", "roles", "valid"),
    [
        ("14", [], True),
        ("14", ["createdb", "superuser", "admin"], True),
        ("14", ["reporting"], False),
        ("14", ["reporting_access"], True),  # *_access groups are dropped first
        ("16", ["charmed_read"], True),
        ("16", ["charmed_admin", "createdb"], True),
        ("16", ["charmed_read", "charmed_dml"], False),
        ("16", ["admin"], False),
    ],
)
def test_extra_user_roles_each_track_accepts(track: str, roles: list[str], valid: bool) -> None:
    assert pgc.client_roles_valid(track, roles, existing={"reporting_other"}) is valid


def test_16_refuses_reserved_and_long_database_names() -> None:
    assert pgc.database_name_valid("16", "shop")
    assert not pgc.database_name_valid("16", "postgres") and not pgc.database_name_valid("16", "x" * 50)
    assert pgc.database_name_valid("14", "x" * 50)


def test_channels_name_a_track() -> None:
    kind = servers.kinds()["postgresql"]
    assert [kind.track(c) for c in ("", "latest/stable", "14/stable", "16/edge", "classic")] == [
        "14",
        "14",
        "14",
        "16",
        "classic",
    ]


def test_classic_master_publishes_its_own_address_and_echoes_the_request() -> None:
    data = pgc.pgsql_data(
        "classic", "shop", "juju_app", "pw", where(), pgc.Request("shop", "r", "hstore"), False
    )
    assert data == {
        "database": "shop",
        "user": "juju_app",
        "password": "pw",
        "schema_user": "juju_app",
        "schema_password": "pw",
        "roles": "r",
        "extensions": "hstore",
        "version": "15.8",
        "state": "master",
        "host": "127.0.0.1",
        "port": "5433",
        "allowed-units": "app/0 app/1",
        "allowed-subnets": "127.0.0.1/32",
        "master": "dbname=shop host=127.0.0.1 password=pw port=5433 user=juju_app",
        "standbys": "dbname=shop host=127.0.0.1 password=pw port=5434 user=juju_app",
    }


def test_14_standby_names_the_primary_and_never_echoes_roles() -> None:
    two = [STANDBY, pgc.Node("127.0.0.1", 5435)]
    data = pgc.pgsql_data(
        "14", "shop", "relation-3", "pw", where(STANDBY, two), pgc.Request("shop", "r", ""), True
    )
    assert (data["state"], data["host"], data["port"]) == ("hot standby", "127.0.0.1", "5433")
    assert "roles" not in data and data["schema_user"] == "relation-3"
    assert data["standbys"].count(",") == 1 and "\n" not in data["standbys"]
    classic = pgc.pgsql_data("classic", "d", "jujuadmin_app", "p", where(STANDBY), pgc.Request("d"), True)
    assert (classic["port"], "schema_user" in classic) == ("5434", False)


def test_a_lone_master_is_standalone_without_standbys() -> None:
    data = pgc.pgsql_data("14", "d", "u", "p", where(standbys=[]), pgc.Request("d"), False)
    assert (data["state"], data["standbys"]) == ("standalone", "")


def test_libpq_quotes_values_that_need_it() -> None:
    assert pgc.libpq(user="a b", password="it's", port=5) == r"password='it\'s' port=5 user='a b'"


def test_postgresql_client_application_data() -> None:
    data = pgc.client_data("16", "shop", "relation-4", "p@ss", where())
    assert data == {
        "database": "shop",
        "endpoints": "127.0.0.1:5433",
        "read-only-endpoints": "127.0.0.1:5434",
        "uris": "postgresql://relation-4:p%40ss@127.0.0.1:5433/shop",
        "version": "15.8",
        "tls": "False",
        "username": "relation-4",
        "password": "p@ss",
    }
    assert pgc.client_data("14", "d", "u", "p", where(standbys=[]))["read-only-endpoints"] == "127.0.0.1:5433"


def test_pg_hba_grants_each_user_its_database_from_the_address() -> None:
    assert pg.render_hba(
        [("shop", "juju_app", "127.0.0.1/32"), ("shop", "juju_app", "127.0.0.1/32")]
    ).splitlines()[4:] == ['host    "shop"  "juju_app"  127.0.0.1/32  scram-sha-256']


# -- apache2 ---------------------------------------------------------------------------------------


def test_balancers_group_units_by_service_like_the_charm() -> None:
    units = [
        ("wsgi-app/1", {"private-address": "10.0.0.2", "port": "8090"}),
        ("wsgi-app/0", {"private-address": "10.0.0.1", "port": "8090"}),
        ("blog/0", {"private-address": "10.0.0.3", "port": "80", "sitenames": "blog news"}),
        (
            "api/0",
            {
                "private-address": "10.0.0.4",
                "port": "1",
                "all_services": "- {service_name: api, service_port: 9000}",
            },
        ),
        ("nothing/0", {"private-address": "10.0.0.5"}),
        ("hostname-only/0", {"hostname": "10.0.0.6", "port": "80"}),  # the charm needs private-address
    ]
    assert servers_apache2.balancers(units) == {
        "api": ["10.0.0.4:9000"],
        "blog": ["10.0.0.3:80"],
        "news": ["10.0.0.3:80"],
        "wsgi-app": ["10.0.0.1:8090", "10.0.0.2:8090"],
    }


def test_reverseproxy_exposes_only_the_first_unit_of_each_application() -> None:
    units = [
        ("wsgi-app/0", {"private-address": "10.0.0.1", "port": "8080", "hostname": "10.0.0.1"}),
        ("wsgi-app/1", {"private-address": "10.0.0.2", "port": "8080"}),
        ("other-app/3", {"private-address": "10.0.0.9", "port": "81"}),
        ("late/0", {"private-address": "10.0.0.7"}),  # no port: the charm stops collecting here
        ("after/0", {"private-address": "10.0.0.8", "port": "82"}),
    ]
    found = servers_apache2.reverseproxy_vars(units)
    assert found["wsgiapp"] == "10.0.0.1:8080"
    assert found["wsgiapp_private_address"] == "10.0.0.1"
    assert found["wsgiapp_hostname"] == "10.0.0.1"
    assert found["otherapp"] == "10.0.0.9:81"
    assert "after" not in found and "10.0.0.2:8080" not in found.values()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_only_the_operators_template_makes_a_vhost() -> None:
    assert servers_apache2.render_vhost({"vhost_http_template": ""}, {}, "127.0.0.1:8001") is None
    template = (
        "<VirtualHost *:80>\n  ServerName {{ servername }}\n"
        "  ProxyPass / http://{{ wsgiapp }}/\n</VirtualHost>\n"
    )
    config = {"vhost_http_template": _b64(template), "servername": "web"}
    vhost = servers_apache2.render_vhost(config, {"wsgiapp": "10.0.0.1:8080"}, "127.0.0.1:8001")
    # the listener in place of *:80, and Jinja2 drops the last newline
    expected = "<VirtualHost 127.0.0.1:8001>\n  ServerName web\n  ProxyPass / http://10.0.0.1:8080/\n"
    assert vhost == expected + "</VirtualHost>"
    extra = {**config, "vhost_template_vars": "{'wsgiapp': 'override:1'}"}
    assert "http://override:1/" in str(servers_apache2.render_vhost(extra, {"wsgiapp": "x"}, "h:1"))
    with pytest.raises(servers_apache2.ConfigProblem):
        servers_apache2.render_vhost({"vhost_http_template": "not base64!"}, {}, "h:1")


def test_the_documented_template_routes_to_the_balancer_of_the_relation() -> None:
    text = (ROOT / "files" / "apache2" / "vhost-balancer.conf").read_text()
    bundle = yaml.safe_load((ROOT / "bundle.yaml").read_text())
    options = bundle["applications"]["apache2"]["options"]
    assert base64.b64decode(options["vhost_http_template"]).decode() == text
    assert set(options["enable_modules"].split()) == {"headers", "proxy_http"}
    vhost = servers_apache2.render_vhost(dict(options, servername="web"), {}, "127.0.0.1:8001")
    assert vhost is not None and "ProxyPass / balancer://wsgi-app/" in vhost
    vhost_lines = [line.strip() for line in text.splitlines() if not line.startswith("#")]
    readme = "\n".join(line.strip() for line in (ROOT / "README.md").read_text().splitlines())
    assert "\n".join(vhost_lines) in readme  # README shows the same vhost


def test_modules_come_with_what_they_depend_on_and_only_when_asked(tmp_path: Path) -> None:
    loaded = servers_apache2.modules({"disable_modules": "status autoindex"}, has_balancers=True)
    assert "status" not in loaded and "autoindex" not in loaded
    for needed in ("proxy", "slotmem_shm", "proxy_balancer"):
        assert loaded.index(needed) < loaded.index("lbmethod_byrequests")
    assert "proxy_http" not in loaded and "headers" not in loaded  # enable_modules' job
    assert "proxy" not in servers_apache2.modules({}, has_balancers=False)
    asked = servers_apache2.modules({"enable_modules": "headers proxy_http"}, has_balancers=False)
    assert {"headers", "proxy_http", "proxy"} <= set(asked)
    with pytest.raises(servers_apache2.ConfigProblem, match="not installed"):
        servers_apache2.module_order(["nope"], tmp_path)


def test_apache_config_has_the_balancers_and_the_vhost_it_was_given() -> None:
    text = servers_apache2.render_config(
        "127.0.0.1:8001",
        "web",
        ["mpm_event"],
        {"wsgi-app": ["127.0.0.1:8090"]},
        "<VirtualHost x>\n</VirtualHost>\n",
    )
    assert "Listen 127.0.0.1:8001\n" in text
    assert "Include /etc/apache2/mods-available/mpm_event.load\n" in text
    assert text.endswith(
        "<Proxy balancer://wsgi-app>\n"
        "    BalancerMember http://127.0.0.1:8090 timeout=60\n"
        "    ProxySet lbmethod=byrequests\n"
        '    RequestHeader set X-Balancer-Name "wsgi-app"\n'
        "</Proxy>\n"
        "\n"
        "<VirtualHost x>\n</VirtualHost>\n"
    )
    assert "VirtualHost" not in servers_apache2.render_config("127.0.0.1:8001", "web", [], {}, None)


# -- the Elasticsearch stand-in, over loopback ---------------------------------------------------------


@pytest.fixture
def es() -> Iterator[str]:
    server = es_standin.StandIn(0, "test-cluster")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def call(url: str, method: str = "GET", body: Any = None) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, dict(error.headers), json.loads(raw) if raw else None


def test_info_says_elasticsearch_8_with_the_product_header(es: str) -> None:
    status, headers, info = call(es + "/")
    assert status == 200 and headers["X-Elastic-Product"] == "Elasticsearch"
    assert info["version"]["number"].startswith("8.") and info["cluster_name"] == "test-cluster"
    assert call(es + "/_cluster/health")[2]["status"] == "green"


def test_index_get_and_search_documents(es: str) -> None:
    assert call(es + "/demo", "HEAD")[0] == 404
    assert (
        call(es + "/demo/_doc/one?refresh=true", "PUT", {"marker": "abc123", "text": "Hello World"})[0] == 201
    )
    assert call(es + "/demo/_doc", "POST", {"marker": "zzz", "text": "other words"})[0] == 201
    assert call(es + "/demo", "HEAD")[0] == 200
    assert call(es + "/demo/_refresh", "POST")[0] == 200
    assert call(es + "/demo/_doc/one")[2]["_source"]["marker"] == "abc123"
    assert call(es + "/demo/_doc/missing")[0] == 404

    def hits(query: Any) -> int:
        return int(call(es + "/demo/_search", "POST", {"query": query})[2]["hits"]["total"]["value"])

    assert hits({"term": {"marker": "abc123"}}) == 1
    assert hits({"match": {"text": "hello"}}) == 1
    assert hits({"match_all": {}}) == 2
    assert call(es + "/demo/_search")[2]["hits"]["total"]["value"] == 2


def test_errors_look_like_elasticsearch_errors(es: str) -> None:
    status, _, body = call(es + "/nowhere/_search", "POST", {"query": {"match_all": {}}})
    assert status == 404 and body["error"]["type"] == "index_not_found_exception"
    call(es + "/made", "PUT")
    assert call(es + "/made", "PUT")[2]["error"]["type"] == "resource_already_exists_exception"


def test_a_port_reserved_by_a_live_model_is_not_taken_by_another(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALJUJU_HOME", str(tmp_path / "models"))
    (tmp_path / "models" / "alive").mkdir(parents=True)
    marker = tmp_path / "5433"
    marker.write_text("alive")
    assert servers.reserved_by_another(marker, "other") is True
    assert servers.reserved_by_another(marker, "alive") is False  # its own
    marker.write_text("destroyed")  # a model that is gone reserves nothing
    assert servers.reserved_by_another(marker, "other") is False
    assert servers.reserved_by_another(tmp_path / "5434", "other") is False


def test_a_module_asked_later_replaces_what_it_conflicts_with(tmp_path: Path) -> None:
    (tmp_path / "mpm_event.load").write_text("# Conflicts: mpm_worker mpm_prefork\nLoadModule x y\n")
    (tmp_path / "mpm_prefork.load").write_text("# Conflicts: mpm_event mpm_worker\nLoadModule x y\n")
    assert servers_apache2.module_order(["mpm_event", "mpm_prefork"], tmp_path) == ["mpm_prefork"]


# -- redis ----------------------------------------------------------------------------------------


def test_redis_publishes_what_the_machine_charm_does() -> None:
    assert servers_redis.relation_data("127.0.0.1", 6380, "pw") == {
        "hostname": "127.0.0.1",
        "port": "6380",
        "password": "pw",
    }


def test_redis_conf_binds_the_unit_address_and_sets_the_password_quoted() -> None:
    conf = servers_redis.config("10.231.0.2", 6380, 'a"b\\c d', Path("/m/servers/redis-0"))
    lines = conf.splitlines()
    assert lines[:2] == ["bind 10.231.0.2", "port 6380"]
    assert 'requirepass "a\\"b\\\\c d"' in lines
    assert 'save ""' in lines and 'dir "/m/servers/redis-0/data"' in lines
    assert not any(
        line.startswith("requirepass") for line in servers_redis.config("::1", 1, "", Path("/x")).splitlines()
    )
    with pytest.raises(ValueError, match="control character"):
        servers_redis.config("127.0.0.1", 6380, "pw\nrequirepass x", Path("/x"))


# -- rabbitmq-server ------------------------------------------------------------------------------


def test_rabbitmq_serves_each_valid_request_once() -> None:
    rel = {
        "seen": {"rabbitmq-server/0": ["wsgi-app/1", "wsgi-app/0", "gone/3"]},
        "data": {
            "wsgi-app/0": {"username": "wsgi-app", "vhost": "wsgi-app"},
            "wsgi-app/1": {"username": "wsgi-app", "vhost": "wsgi-app"},
        },
    }

    class FakeModel:
        units = {"wsgi-app/0": {}, "wsgi-app/1": {}}

    assert servers_rabbitmq.requests(FakeModel(), rel, "rabbitmq-server/0") == [("wsgi-app", "wsgi-app")]  # type: ignore[arg-type]
    rel["data"]["wsgi-app/0"] = {"username": "x; rm -rf /", "vhost": "v"}
    rel["data"]["wsgi-app/1"] = {"username": "-n", "vhost": "v"}
    assert servers_rabbitmq.requests(FakeModel(), rel, "rabbitmq-server/0") == []  # type: ignore[arg-type]


def test_rabbitmq_node_is_the_units_own_and_on_loopback() -> None:
    env = servers_rabbitmq.environment(Path("/m/servers/rmq-0"), "lj-m-rmq-0@localhost", "10.231.0.2", 5673)
    assert env["RABBITMQ_NODE_IP_ADDRESS"] == "10.231.0.2" and env["RABBITMQ_NODE_PORT"] == "5673"
    assert env["RABBITMQ_DIST_PORT"] == "25673" and env["ERL_EPMD_ADDRESS"] == "127.0.0.1"
    assert all(v.startswith("/m/servers/rmq-0/") for k, v in env.items() if k.endswith(("_BASE", "_FILE")))
    assert (
        servers_rabbitmq.node_name("my.model", "rabbitmq-server/1")
        == "lj-my-model-rabbitmq-server-1@localhost"
    )


def test_epmd_is_asked_and_stopped_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """teardown and sweep never hang on a wedged epmd: every call is bounded, and a
    timeout leaves it to the leftover check instead of failing the teardown."""
    calls: list[tuple[list[str], object]] = []

    def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append((argv, kwargs.get("timeout")))
        return subprocess.CompletedProcess(argv, 0, stdout="epmd: up and running on port 4369 with data:\n")

    monkeypatch.setattr(servers_rabbitmq.subprocess, "run", run)
    servers_rabbitmq.stop_idle_epmd()
    assert [argv for argv, _ in calls] == [["epmd", "-names"], ["epmd", "-kill"]]
    assert all(isinstance(timeout, (int, float)) and 0 < timeout <= 30 for _, timeout in calls)

    def hang(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(argv, kwargs.get("timeout") or 0)

    monkeypatch.setattr(servers_rabbitmq.subprocess, "run", hang)
    servers_rabbitmq.stop_idle_epmd()  # no exception


def test_the_sweep_also_stops_the_idle_epmd_of_the_models_server_namespace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A node run ``--isolated`` starts its epmd inside the model's server namespace; when
    the teardown failed, the host's epmd is not that one, and deleting the namespace would
    leave it running there, unnamed and out of every leftover check."""
    where: list[str] = []
    monkeypatch.setattr(servers_rabbitmq.procs, "under", lambda directory: [])
    monkeypatch.setattr(servers_rabbitmq, "stop_idle_epmd", lambda: where.append("host"))
    monkeypatch.setattr(servers_rabbitmq.network, "exists", lambda netns: netns == "lj-shop-srv")
    monkeypatch.setattr(
        servers_rabbitmq.network, "call_in", lambda netns, work: (where.append(netns), work())
    )
    servers_rabbitmq.sweep("shop")
    assert where == ["host", "lj-shop-srv", "host"]
    where.clear()
    servers_rabbitmq.sweep("other")  # not isolated: its namespace does not exist
    assert where == ["host"]
