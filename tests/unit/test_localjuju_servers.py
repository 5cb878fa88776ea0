"""The pure parts of localjuju's server applications: relation data each publishes, apache2's
rendered config, and the Elasticsearch stand-in exercised over loopback (no root, no machine)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from localjuju import es_standin, ops, servers, servers_apache2, servers_elasticsearch, servers_memcached
from localjuju import servers_postgresql as pg

# -- endpoints and names ------------------------------------------------------------------------


def test_every_server_declares_the_real_charms_endpoints() -> None:
    found = {name: (kind.provides, kind.requires) for name, kind in servers.kinds().items()}
    assert found == {
        "postgresql": ({"db": "pgsql", "db-admin": "pgsql", "database": "postgresql_client"}, {}),
        "memcached": ({"cache": "memcache"}, {}),
        "elasticsearch": ({"client": "elasticsearch"}, {}),
        "apache2": ({}, {"reverseproxy": "http", "balancer": "http"}),
    }


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("postgresql", "postgresql"),
        ("server:memcached", "memcached"),
        ("ch:apache2", "apache2"),
        ("cs:xenial/elasticsearch-42", "elasticsearch"),
        ("./wsgi-app.charm", None),
        ("haproxy", None),
    ],
)
def test_server_name_reads_deploy_and_bundle_charm_names(spec: str, name: str | None) -> None:
    assert ops.server_name(spec) == name


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

MASTER = pg.Node("127.0.0.1", 5433)
STANDBY = pg.Node("127.0.0.1", 5434)


def test_request_prefers_application_data_then_units_then_the_app_name() -> None:
    assert pg.pgsql_request("app", {"database": "shop"}, [{"database": "other", "roles": "r"}]) == pg.Request(
        "shop", "r", None
    )
    assert pg.pgsql_request("app", {}, [{}]) == pg.Request("app", None, None)


def test_request_parses_roles_and_extensions_with_schemas() -> None:
    request = pg.Request("db", "reader, writer", "hstore,postgis:gis")
    assert request.role_list() == ["reader", "writer"]
    assert request.extension_list() == [("hstore", "public"), ("postgis", "gis")]


def test_master_unit_publishes_the_classic_charms_keys() -> None:
    data = pg.pgsql_data(
        pg.Request("shop", None, "hstore"),
        "juju_app",
        "pw",
        admin=False,
        this=MASTER,
        master=MASTER,
        standbys=[STANDBY],
        allowed_units=["app/0", "app/1"],
        allowed_subnets=["127.0.0.1/32"],
    )
    assert data == {
        "database": "shop",
        "user": "juju_app",
        "password": "pw",
        "schema_user": "juju_app",
        "schema_password": "pw",
        "extensions": "hstore",
        "version": "15",
        "state": "master",
        "host": "127.0.0.1",
        "port": "5433",
        "allowed-units": "app/0 app/1",
        "allowed-subnets": "127.0.0.1/32",
        "master": "dbname=shop host=127.0.0.1 password=pw port=5433 user=juju_app",
        "standbys": "dbname=shop host=127.0.0.1 password=pw port=5434 user=juju_app",
    }


def test_standby_and_admin_data() -> None:
    data = pg.pgsql_data(
        pg.Request("shop"),
        pg.pgsql_user("app", admin=True),
        "pw",
        admin=True,
        this=STANDBY,
        master=MASTER,
        standbys=[STANDBY],
        allowed_units=[],
        allowed_subnets=[],
    )
    assert (data["state"], data["port"], data["user"]) == ("hot standby", "5434", "jujuadmin_app")
    assert "port=5433" in data["master"]
    assert "schema_user" not in data and "roles" not in data
    assert data["allowed-units"] == ""  # dropped before publishing: access withheld


def test_a_lone_master_is_standalone_without_standbys() -> None:
    args: dict[str, Any] = {"admin": False, "allowed_units": ["a/0"], "allowed_subnets": []}
    data = pg.pgsql_data(pg.Request("d"), "u", "p", this=MASTER, master=MASTER, standbys=[], **args)
    assert (data["state"], data["standbys"]) == ("standalone", "")


def test_libpq_quotes_values_that_need_it() -> None:
    assert pg.libpq(user="a b", password="it's", port=5) == r"password='it\'s' port=5 user='a b'"


def test_postgresql_client_application_data() -> None:
    data = pg.client_data("shop", "relation-4", "p@ss", "15.18", MASTER, [STANDBY])
    assert data == {
        "database": "shop",
        "endpoints": "127.0.0.1:5433",
        "read-only-endpoints": "127.0.0.1:5434",
        "uris": "postgresql://relation-4:p%40ss@127.0.0.1:5433/shop",
        "version": "15.18",
        "tls": "False",
        "username": "relation-4",
        "password": "p@ss",
    }
    assert pg.client_data("d", "u", "p", "15", MASTER, [])["read-only-endpoints"] == "127.0.0.1:5433"


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
            {"private-address": "10.0.0.4", "all_services": "- {service_name: api, service_port: 9000}"},
        ),
        ("nothing/0", {"private-address": "10.0.0.5"}),
    ]
    assert servers_apache2.balancers(units) == {
        "api": ["10.0.0.4:9000"],
        "blog": ["10.0.0.3:80"],
        "news": ["10.0.0.3:80"],
        "wsgi-app": ["10.0.0.1:8090", "10.0.0.2:8090"],
    }


def test_apache_config_proxies_the_site_to_its_balancer() -> None:
    text = servers_apache2.render_config(8001, "web", {"wsgi-app": ["127.0.0.1:8090"]})
    assert "Listen 127.0.0.1:8001\n" in text
    assert text.endswith(
        "<Proxy balancer://wsgi-app>\n"
        "    ProxySet lbmethod=byrequests\n"
        '    RequestHeader set X-Balancer-Name "wsgi-app"\n'
        "    BalancerMember http://127.0.0.1:8090 timeout=60\n"
        "</Proxy>\n"
        "\n"
        "<VirtualHost 127.0.0.1:8001>\n"
        "    ServerName web\n"
        "    ProxyRequests Off\n"
        "    ProxyPreserveHost On\n"
        "    ProxyPass / balancer://wsgi-app/\n"
        "    ProxyPassReverse / balancer://wsgi-app/\n"
        "</VirtualHost>\n"
    )
    for module in ("proxy_module", "proxy_http_module", "proxy_balancer_module", "headers_module"):
        assert f"LoadModule {module} " in text


def test_apache_config_without_backends_has_no_proxy() -> None:
    assert "Proxy" not in servers_apache2.render_config(8001, "web", {}).split("<VirtualHost")[1]


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
