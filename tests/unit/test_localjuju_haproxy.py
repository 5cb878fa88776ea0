"""localjuju's haproxy: haproxy.cfg rendered from the reverseproxy data as the legacy haproxy
charm renders it (its own default service and a unit's ``services`` YAML), hostile data
refused, and the rendered file checked, started and reloaded by Debian's haproxy."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from localjuju import haproxy_config as cfg
from localjuju import servers, servers_haproxy
from localjuju.agent import Agent
from localjuju.model import Model

HEAD = cfg.render_globals(
    {opt: spec["default"] for opt, spec in servers_haproxy.OPTIONS.items()}, user="haproxy"
)
OURS = [  # what wsgi-app units publish on website (relations.publish_website)
    ("wsgi-app/0", {"hostname": "10.231.0.10", "private-address": "10.231.0.10", "port": "8080"}),
    ("wsgi-app/1", {"hostname": "10.231.0.11", "private-address": "10.231.0.11", "port": "8080"}),
]
# a unit sending its own services, shaped as the charm's README and tests show them
SERVICES_YAML = """\
- service_name: shop
  service_host: "0.0.0.0"
  service_port: 8443
  service_options: [mode http, balance roundrobin, "option httpchk GET /healthz", timeout client 30000]
  server_options: check inter 2000 rise 2 fall 5
  servers:
    - [shop-0, 10.0.0.5, 8000, [check]]
"""


def default_services() -> cfg.Services:
    return cfg.merge({}, cfg.parse_services(cfg.DEFAULT_SERVICES))


def rendered(units: cfg.Units, services: cfg.Services | None = None) -> tuple[str, list[str]]:
    found, refused = cfg.assign(services if services is not None else default_services(), units)
    found = cfg.with_host_port(found)
    binds = {key: ("10.231.0.2", int(entry.port or 0)) for key, entry in found.items()}
    return cfg.render("haproxy/0", HEAD, found, binds), refused


def stanzas(text: str) -> str:
    return text.split("timeout server 50000\n\n", 1)[1]


# -- the charm's rendering ---------------------------------------------------------------------


def test_two_units_of_ours_become_servers_of_the_default_service() -> None:
    text, refused = rendered(OURS)
    assert refused == []
    assert stanzas(text) == (
        "frontend haproxy-0-80\n"
        "    bind 10.231.0.2:80\n"
        "    default_backend haproxy_service\n"
        "\n"
        "backend haproxy_service\n"
        "    balance leastconn\n"
        "    cookie SRVNAME insert\n"
        "    server wsgi-app-0-8080 10.231.0.10:8080 maxconn 100 cookie S0 check\n"
        "    server wsgi-app-1-8080 10.231.0.11:8080 maxconn 100 cookie S1 check\n"
    )


def test_globals_and_defaults_are_the_charms_defaults_without_syslog() -> None:
    head = HEAD.splitlines()
    assert head[:5] == [
        "global",
        "    maxconn 4096",
        "    user haproxy",
        "    group haproxy",
        "    spread-checks 0",
    ]
    assert head[head.index("defaults") :] == [
        "defaults",
        "    log global",
        "    mode http",
        "    option httplog",
        "    option dontlognull",
        "    retries 3",
        "    timeout queue 20000",
        "    timeout client 50000",
        "    timeout connect 5000",
        "    timeout server 50000",
    ]
    assert "/dev/log" not in HEAD


def test_a_unit_without_port_or_address_is_skipped_and_none_left_keeps_the_config() -> None:
    units = [("wsgi-app/0", {"private-address": "10.231.0.10"}), ("wsgi-app/1", {"port": "8080"})]
    found, refused = cfg.assign(default_services(), units)
    assert refused == []
    assert not any(entry.servers for entry in found.values())  # servers_haproxy keeps the running config


def test_service_name_sitenames_and_the_apps_service_pick_the_services() -> None:
    services = cfg.merge(
        default_services(),
        cfg.parse_services("- {service_name: api, service_port: 81}\n- {service_name: wsgi-app_service}\n"),
    )
    units = [
        ("other/0", {"private-address": "10.0.0.1", "port": "1", "service_name": "api"}),
        ("other/1", {"private-address": "10.0.0.2", "port": "2", "service_name": "nope"}),  # skipped
        ("other/2", {"private-address": "10.0.0.3", "port": "3", "sitenames": "api missing"}),
        ("wsgi-app/0", {"private-address": "10.0.0.4", "port": "4"}),
    ]
    found, _ = cfg.assign(services, units)
    names = {key: [s.name for s in entry.servers] for key, entry in found.items()}
    assert names == {
        "haproxy_service": [],
        "api": ["other-0-1", "other-2-3"],
        "wsgi-app_service": ["wsgi-app-0-4"],
    }
    ported = cfg.with_host_port(found)
    # no host: host and port are the charm's (80, the highest given, + 2 for each, by name)
    assert [(ported[k].host, ported[k].port) for k in ("api", "wsgi-app_service")] == [
        ("0.0.0.0", 82),
        ("0.0.0.0", 84),
    ]


def test_a_units_services_are_merged_and_that_unit_is_not_added_again() -> None:
    units = [("shop/0", {"private-address": "10.0.0.5", "port": "8000", "services": SERVICES_YAML}), *OURS]
    text, refused = rendered(units)
    assert refused == []
    shop = text.split("frontend haproxy-0-8443\n", 1)[1]
    assert shop == (
        "    bind 10.231.0.2:8443\n"
        "    default_backend shop\n"
        "    mode http\n"
        "    timeout client 30000\n"
        "\n"
        "backend shop\n"
        "    mode http\n"
        "    balance roundrobin\n"
        "    option httpchk GET /healthz\n"
        "    server shop-0 10.0.0.5:8000 check\n"
    )
    assert "wsgi-app-1-8080" in text.split("backend haproxy_service", 1)[1].split("frontend", 1)[0]


def test_the_options_services_win_over_a_units_and_servers_are_unioned() -> None:
    mine = "- {service_name: haproxy_service, service_port: 9000, servers: [[a, 10.0.0.1, 1, check]]}\n"
    services = cfg.merge(default_services(), cfg.parse_services(mine))
    entry = services["haproxy_service"]
    assert entry.port == 80 and entry.options == ("balance leastconn", "cookie SRVNAME insert")
    assert [s.name for s in entry.servers] == ["a"]


def test_options_split_between_frontend_and_backend_as_the_charm_splits_them() -> None:
    front, back = cfg.split_options(
        ["mode tcp", "option tcplog", "maxconn 10", "balance source", "acl a src 1.2.3.4"]
    )
    assert front == ["mode tcp", "option tcplog", "maxconn 10", "acl a src 1.2.3.4"]
    assert back == ["mode tcp", "option tcplog", "balance source"]


# -- hostile data ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"private-address": "10.0.0.9\n    bind 0.0.0.0:22", "port": "8080"}, "not an address"),
        ({"private-address": "10.0.0.9 backup", "port": "8080"}, "not an address"),
        ({"private-address": "10.0.0.9", "port": "8080 check addr 1.1.1.1"}, "not a port"),
        ({"private-address": "10.0.0.9", "port": "0"}, "not a port"),
        ({"private-address": "10.0.0.9", "port": "70000"}, "not a port"),
        (
            {"services": '- service_name: x\n  service_options: ["balance roundrobin\\n    bind :22"]\n'},
            "control",
        ),
        (
            {"services": '- service_name: x\n  service_options: ["balance roundrobin\\u2028bind :22"]\n'},
            "control",
        ),
        ({"services": '- service_name: x\n  server_options: "check\\rbackup"\n'}, "control"),
        ({"services": "- service_name: x\n  service_options: [bind 0.0.0.0:22]\n"}, "not a keyword"),
        ({"services": "- service_name: x\n  service_options: [log 10.0.0.1 local0]\n"}, "not a keyword"),
        ({"services": "- service_name: x\n  service_options: [errorfile 503 /etc/shadow]\n"}, "file"),
        (
            {
                "services": "- service_name: x\n  service_options: "
                "['http-request return status 200 file /etc/shadow']\n"
            },
            "file",
        ),
        (
            {
                "services": "- service_name: x\n  service_options: "
                "['http-request set-header X %[env(PATH)]']\n"
            },
            "env(",
        ),
        ({"services": "- service_name: x\n  service_options: ['http-request use-service lua.x']\n"}, "lua"),
        # haproxy reads these files as root and quotes their first line in its error
        ({"services": "- service_name: x\n  service_options: ['acl bad src -f /etc/shadow']\n"}, "-f"),
        (
            {
                "services": "- service_name: x\n  service_options: "
                "['use_backend b if { src -f /etc/shadow }']\n"
            },
            "-f",
        ),
        (
            {
                "services": "- service_name: x\n  service_options: "
                "['http-request set-header X %[src,map_ip(/etc/shadow)]']\n"
            },
            "map_ip(",
        ),
        (
            {
                "services": "- service_name: x\n  service_options: "
                "['http-request add-acl(/etc/shadow) %[src]']\n"
            },
            "acl(",
        ),
        ({"services": "- service_name: x\n  service_options: ['option external-check']\n"}, "external-check"),
        (
            {"services": "- service_name: x\n  service_options: ['http-response set-header X a\\\\x0aY']\n"},
            "\\\\",
        ),
        ({"services": "- service_name: x\n  server_options: 'check ca-file /etc/shadow'\n"}, "file"),
        ({"services": "- service_name: x\n  server_options: 'check {0.__class__}'\n"}, "not a word"),
        ({"services": "- service_name: 'x\n\nglobal'\n"}, "not a name"),
        ({"services": "- service_name: 'x y'\n"}, "not a name"),
        ({"services": "- {service_name: x, servers: [[a, '1.2.3.4:99', 80, []]]}\n"}, "not an address"),
        ({"services": "- {service_name: x, servers: [[a, 1.2.3.4, 80]]}\n"}, "not [name"),
        ({"services": "- {service_name: x, crts: [DEFAULT]}\n"}, "not played"),
        ({"services": "{service_name: x}"}, "not a list"),
        ({"services": "- [unclosed"}, "not YAML"),
    ],
)
def test_hostile_relation_data_is_refused_and_only_that_unit_is_left_out(
    data: dict[str, str], reason: str
) -> None:
    text, refused = rendered([*OURS, ("evil/0", {"private-address": "10.0.0.9", "port": "8080", **data})])
    assert len(refused) == 1 and refused[0].startswith("evil/0: ") and reason in refused[0], refused
    assert "10.0.0.9" not in text and "/etc/shadow" not in text and ":22" not in text
    assert "server wsgi-app-1-8080 10.231.0.11:8080" in text  # the others still serve


def test_ipv6_addresses_and_host_names_are_taken_in_haproxys_syntax() -> None:
    text, refused = rendered(
        [
            ("a/0", {"private-address": "fd00::5", "port": "80"}),
            ("b/0", {"private-address": "web-1.internal", "port": "81"}),
        ]
    )
    assert refused == []
    assert "server a-0-80 [fd00::5]:80 maxconn 100" in text
    assert "server b-0-81 web-1.internal:81 maxconn 100" in text


def test_a_refused_option_of_the_operators_is_raised() -> None:
    with pytest.raises(cfg.Refused, match="not a keyword"):
        cfg.parse_services("- {service_name: x, service_options: [stats socket /tmp/s]}\n")


# -- the server kind ---------------------------------------------------------------------------


def test_the_server_kind_plays_the_charms_endpoints_and_options() -> None:
    kind = servers.kinds()["haproxy"]
    assert (kind.charm, kind.requires, kind.provides) == (
        "haproxy",
        {"reverseproxy": "http"},
        {"website": "http"},
    )
    assert kind.options["services"]["default"] == cfg.DEFAULT_SERVICES
    assert kind.endpoints()["requires"] == {"reverseproxy": {"interface": "http"}}


HAPROXY = shutil.which("haproxy")
needs_haproxy = pytest.mark.skipif(
    HAPROXY is None or os.geteuid() != 0, reason="Debian's haproxy and root needed (make deps installs it)"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@needs_haproxy
def test_the_rendered_config_passes_haproxy_c(tmp_path: Path) -> None:
    text, _ = rendered([("shop/0", {"services": SERVICES_YAML}), *OURS])
    (tmp_path / "haproxy.cfg").write_text(text)
    checked = subprocess.run(
        ["haproxy", "-c", "-q", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True
    )
    assert checked.returncode == 0, checked.stderr


@needs_haproxy
def test_apply_starts_haproxy_then_reloads_it_with_a_new_worker(tmp_path: Path) -> None:
    listen = ("127.0.0.1", free_port())
    services = cfg.with_host_port(cfg.assign(default_services(), OURS[:1])[0])
    first = cfg.render("haproxy/0", HEAD, services, {"haproxy_service": listen})
    try:
        servers_haproxy.apply(tmp_path, first, [listen])
        master = servers.read_pid(tmp_path / "haproxy.pid")
        assert master is not None
        before = servers_haproxy.workers(master)
        assert len(before) == 1
        servers_haproxy.apply(tmp_path, first, [listen])  # unchanged: no reload
        assert servers_haproxy.workers(master) == before
        services = cfg.with_host_port(cfg.assign(default_services(), OURS)[0])
        servers_haproxy.apply(
            tmp_path, cfg.render("haproxy/0", HEAD, services, {"haproxy_service": listen}), [listen]
        )
        assert servers.read_pid(tmp_path / "haproxy.pid") == master  # the same master, a new worker
        assert servers_haproxy.workers(master) - before
        assert "wsgi-app-1-8080" in (tmp_path / "haproxy.cfg").read_text()
        with pytest.raises(servers_haproxy.ConfigProblem, match="haproxy -c"):
            servers_haproxy.apply(tmp_path, first + "backend broken\n    balance nonsense\n", [listen])
        assert "wsgi-app-1-8080" in (tmp_path / "haproxy.cfg").read_text()  # the running config stays
    finally:
        servers.stop_pid(tmp_path / "haproxy.pid")
    assert servers.read_pid(tmp_path / "haproxy.pid") is None


@pytest.fixture
def proxied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Agent, Model]]:
    """A model (in a scratch home) with haproxy/0 on the host related to two units of ours."""
    monkeypatch.setenv("LOCALJUJU_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOCALJUJU_CACHE", str(tmp_path / "cache"))
    model = Model.empty("hx")
    kind = servers.kinds()["haproxy"]
    model.applications["haproxy"] = {"kind": "server:haproxy", "options": kind.options, "config": {}}
    model.applications["wsgi-app"] = {"kind": "charm"}
    model.units["haproxy/0"] = {"app": "haproxy", "machine": "host", "status": {}}
    for n in (0, 1):
        model.machines[str(n)] = {"address": f"127.0.0.{10 + n}"}
        model.units[f"wsgi-app/{n}"] = {"app": "wsgi-app", "machine": str(n), "status": {}}
    model.relations["0"] = {
        "apps": {"haproxy": "reverseproxy", "wsgi-app": "website"},
        "interface": "http",
        "seen": {"haproxy/0": ["wsgi-app/0", "wsgi-app/1"]},
        "data": {f"wsgi-app/{n}": {"port": "8080", "hostname": f"127.0.0.{10 + n}"} for n in (0, 1)},
    }
    agent = Agent(model)
    try:
        yield agent, model
    finally:
        servers_haproxy.teardown(model, "haproxy/0")


def conf_servers(model: Model) -> list[str]:
    conf = servers.unit_dir(model, "haproxy/0") / "haproxy.cfg"
    return [line.split()[1] for line in conf.read_text().splitlines() if line.startswith("    server ")]


@needs_haproxy
def test_the_server_kind_serves_reloads_and_names_a_refused_unit(proxied: tuple[Agent, Model]) -> None:
    agent, model = proxied
    event = {"hook": "reverseproxy-relation-changed", "relation_id": "0"}
    servers_haproxy.handle(agent, "haproxy/0", event)
    unit = model.units["haproxy/0"]
    assert unit["status"] == {"status": "active", "message": "Unit is ready"}
    port = unit["server"]["port"]
    assert unit["ports"] == [f"{port}/tcp"] and port >= servers_haproxy.BASE_PORT
    servers.wait_for_port(port)
    assert conf_servers(model) == ["wsgi-app-0-8080", "wsgi-app-1-8080"]
    assert model.relations["0"]["data"]["haproxy/0"]["public-address"] == "127.0.0.1"
    # a unit sends a second line in its address: it is left out, the others keep serving
    model.relations["0"]["data"]["wsgi-app/1"]["private-address"] = "127.0.0.11\n    bind 127.0.0.1:2222"
    servers_haproxy.handle(agent, "haproxy/0", event)
    assert unit["status"]["status"] == "blocked"
    assert "wsgi-app/1: private-address" in unit["status"]["message"]
    assert conf_servers(model) == ["wsgi-app-0-8080"]
    assert "relation data refused: wsgi-app/1" in (model.dir / "debug.log").read_text()
    # it departs: the unit is ready again; the last one departing leaves the config as it was
    model.relations["0"]["seen"]["haproxy/0"] = ["wsgi-app/0"]
    servers_haproxy.handle(agent, "haproxy/0", event)
    assert unit["status"] == {"status": "active", "message": "Unit is ready"}
    model.relations["0"]["seen"]["haproxy/0"] = []
    servers_haproxy.handle(agent, "haproxy/0", event)
    assert conf_servers(model) == ["wsgi-app-0-8080"]
    # an operator's services option haproxy refuses blocks the unit and keeps it running
    model.applications["haproxy"]["config"]["services"] = "- {service_name: x, service_options: [bind :1]}"
    servers_haproxy.handle(agent, "haproxy/0", event)
    assert unit["status"]["status"] == "blocked" and "configuration refused" in unit["status"]["message"]
    servers.wait_for_port(port)


def test_acls_matching_in_the_option_itself_are_taken() -> None:
    assert (
        cfg.option("acl host hdr(host) -m str -i example.com") == "acl host hdr(host) -m str -i example.com"
    )
    assert cfg.option("use_backend b if { path_beg -m beg /api }").endswith("/api }")
