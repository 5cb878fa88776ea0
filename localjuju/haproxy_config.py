"""haproxy.cfg as the legacy haproxy charm renders it, from its ``services`` option and the
``reverseproxy`` units' data; every value is checked before it reaches a line.

Checked against canonical/haproxy-operator ``legacy/main`` @ 5cf113a2, ``hooks/hooks.py``
(``parse_services_yaml``, ``merge_service``, ``create_services``,
``ensure_service_host_port``, ``create_listen_stanza``, ``_append_backend``, the globals
and defaults; see FIDELITY.md):

- The first service of the option (default: ``haproxy_service`` on port 80, ``balance
  leastconn``, ``cookie SRVNAME insert``, servers ``maxconn 100 cookie S{i} check``) is the
  default service.
- A unit that sends ``services`` (YAML) has its services merged in (the option's keys win,
  ``servers`` are unioned) and is not added otherwise.
- Any other unit needs ``private-address`` and ``port`` (else it is skipped) and becomes a
  server ``<unit with - for />-<port>`` of its ``service_name`` (an unknown one skips it),
  its ``sitenames``, ``<app>_service`` and ``<app>`` when they are services, else of the
  default service.
- Each service is a ``frontend <unit>-<port>`` and a ``backend <name>``, its options split
  between them as the charm splits them.

The charm writes whatever a unit sends. Here each value must be what its place in the
file takes: names, addresses and ports are checked, an option is one line whose first
word is a proxy keyword, and nothing may name a file on the host, its environment or Lua
(:class:`Refused`, and the unit's data is left out).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

DEFAULT_SERVICES = """\
- service_name: haproxy_service
  service_host: "0.0.0.0"
  service_port: 80
  service_options: [balance leastconn, cookie SRVNAME insert]
  server_options: maxconn 100 cookie S{i} check
"""
MONITORING_PORT = 10000  # the charm's monitoring_port: where ensure_service_host_port counts from
SSL_CIPHERS = (  # the charm's global_default_bind_ciphers default
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDH"
    "E-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-DSS-AES128-GCM-SHA256:kEDH+AESGCM:"
    "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-"
    "SHA:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA:ECDHE-ECDSA-AES"
    "256-SHA:DHE-RSA-AES128-SHA256:!DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA256:DHE-RSA-AES256-SHA"
    "256:DHE-DSS-AES256-SHA:!DHE-RSA-AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA2"
    "56:AES256-SHA256:AES128-SHA:AES256-SHA:AES:!CAMELLIA:DES-CBC3-SHA:!aNULL:!eNULL:!EXPORT:!D"
    "ES:!RC4:!MD5:!PSK:!aECDH:!EDH-DSS-DES-CBC3-SHA:!EDH-RSA-DES-CBC3-SHA:!KRB5-DES-CBC3-SHA"
)
DUPE_OPTIONS = ("mode tcp", "option tcplog", "mode http", "option httplog")
FRONTEND_ONLY = (
    "acl",
    "backlog",
    "bind",
    "capture cookie",
    "capture request header",
    "capture response header",
    "clitimeout",
    "default_backend",
    "http-request",
    "maxconn",
    "monitor fail",
    "monitor-net",
    "monitor-uri",
    "option accept-invalid-http-request",
    "option clitcpka",
    "option contstats",
    "option dontlog-normal",
    "option dontlognull",
    "option http-use-proxy-header",
    "option log-separate-errors",
    "option logasap",
    "option socket-stats",
    "option tcp-smart-accept",
    "rate-limit sessions",
    "redirect",
    "tcp-request content accept",
    "tcp-request content reject",
    "tcp-request inspect-delay",
    "timeout client",
    "timeout clitimeout",
    "use_backend",
)
# the first word of a service option: what a frontend or backend section takes, less what
# binds sockets (bind, source), sends logs elsewhere (log) or reads files (errorfile...)
PROXY_KEYWORDS = frozenset(
    (
        "acl",
        "backlog",
        "balance",
        "capture",
        "clitimeout",
        "compression",
        "cookie",
        "default_backend",
        "default-server",
        "fullconn",
        "hash-type",
        "http-check",
        "http-request",
        "http-response",
        "http-reuse",
        "maxconn",
        "mode",
        "monitor",
        "monitor-net",
        "monitor-uri",
        "option",
        "rate-limit",
        "redirect",
        "retries",
        "stick",
        "stick-table",
        "tcp-check",
        "tcp-request",
        "tcp-response",
        "timeout",
        "use_backend",
    )
)
# fragments that name the host's files (errorfile, ca-file, crt...), its environment or
# Lua, anywhere in an option: haproxy would read them as root at start
FORBIDDEN = ("file", "crt", "lua", "env(", "${", "external-check", "spoe", "filter", "\\")
# patterns or maps read from a file named by the option (``acl x src -f /etc/shadow``,
# ``map_ip(/etc/shadow)``, ``set-map(...)``, ``add-acl(...)``): haproxy reads it as root and
# quotes a line it cannot parse in its error, which would reach the status and the log
FILE_ARGUMENTS = re.compile(r"(?<![^\s{])-[fM](?![^\s}])|(map|acl)(_\w+)?\(")
NAME = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
SERVER_WORD = re.compile(r"[A-Za-z0-9_.:%/-]*(\{i\}[A-Za-z0-9_.:%/-]*)*")
SERVICE_KEYS = (
    "service_name",
    "service_host",
    "service_port",
    "service_options",
    "server_options",
    "servers",
)
NOT_PLAYED = ("backends", "errorfiles", "crts")
Units = list[tuple[str, dict[str, str]]]


class Refused(ValueError):
    """Data that would not be a value in its place in haproxy.cfg (or is not played here)."""


@dataclass(frozen=True)
class Server:
    name: str
    address: str
    port: int
    options: tuple[str, ...]

    def line(self, number: int) -> str:
        """The server line; ``{i}`` is the server's place in its backend (the charm's cookie)."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        words = " ".join(self.options).replace("{i}", str(number))
        return f"server {self.name} {host}:{self.port}" + (f" {words}" if words else "")


@dataclass(frozen=True)
class Service:
    """One entry of ``services``; ``None``: the key was not given (merging keeps the other's)."""

    name: str
    host: str | None = None
    port: int | None = None
    options: tuple[str, ...] | None = None
    server_options: tuple[str, ...] | None = None
    servers: tuple[Server, ...] = field(default=())


Services = dict[str, Service]  # in order: the first is the default service


# -- values ---------------------------------------------------------------------------------


def name(value: object, what: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise Refused(f"{what} {value!r} is not a name (letters, digits, _ . : -)")
    return value


def port(value: object, what: str = "port") -> int:
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise Refused(f"{what} {value!r} is not a port")
    return int(text)


def address(value: object, what: str = "address") -> str:
    """An IP address or a host name."""
    text = value if isinstance(value, str) else ""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        if HOSTNAME.fullmatch(text):
            return text
    raise Refused(f"{what} {value!r} is not an address")


def _line(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 1000:
        raise Refused(f"{what} {value!r} is not a line")
    if not value.isprintable():  # control characters, line and paragraph separators
        raise Refused(f"{what} {value!r} holds a control character")
    lowered = value.lower()
    for fragment in FORBIDDEN:
        if fragment in lowered:
            raise Refused(f"{what} {value!r} names {fragment!r} (files, environment, Lua: refused)")
    found = FILE_ARGUMENTS.search(value)
    if found:
        raise Refused(f"{what} {value!r} names {found.group(0)!r} (patterns from a file: refused)")
    return value.strip()


def option(value: object) -> str:
    """A frontend/backend line: one line, its first word a proxy keyword."""
    text = _line(value, "service option")
    if text.split()[0] not in PROXY_KEYWORDS:
        raise Refused(f"service option {text!r}: {text.split()[0]!r} is not a keyword taken here")
    return text


def server_option(value: object) -> str:
    """Words of a server line (``maxconn 100 cookie S{i} check``)."""
    text = _line(value, "server option")
    for word in text.split():
        if not SERVER_WORD.fullmatch(word):
            raise Refused(f"server option {text!r}: {word!r} is not a word taken here")
    return text


def comma_split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _options(value: object, check: Any, what: str) -> tuple[str, ...]:
    items = comma_split(value) if isinstance(value, str) else value
    if not isinstance(items, list):
        raise Refused(f"{what} must be a string or a list")
    return tuple(check(item) for item in items)


def _server(entry: object) -> Server:
    if not isinstance(entry, list | tuple) or len(entry) != 4:
        raise Refused(f"server {entry!r} is not [name, address, port, options]")
    server_name, host, server_port, options = entry
    if options is None:
        options = []
    return Server(
        name(server_name, "server name"),
        address(host),
        port(server_port),
        _options(options, server_option, "server options"),
    )


def service(entry: object) -> Service:
    """One ``services`` entry, checked; raises :class:`Refused`."""
    if not isinstance(entry, dict):
        raise Refused(f"service {entry!r} is not a mapping")
    for key in NOT_PLAYED:
        if key in entry:
            raise Refused(f"service key {key!r} is not played by localjuju")
    servers = entry.get("servers") or []
    if not isinstance(servers, list):
        raise Refused("servers must be a list")
    has = entry.__contains__
    return Service(
        name=name(entry.get("service_name"), "service_name"),
        host=address(entry["service_host"], "service_host") if has("service_host") else None,
        port=port(entry["service_port"], "service_port") if has("service_port") else None,
        options=_options(entry["service_options"], option, "service_options")
        if has("service_options")
        else None,
        server_options=(
            _options(entry["server_options"], server_option, "server_options")
            if has("server_options")
            else None
        ),
        servers=tuple(_server(s) for s in servers),
    )


def parse_services(text: str) -> list[Service]:
    """A ``services`` YAML (the option's or a unit's), checked entry by entry."""
    if len(text) > 65536:
        raise Refused("services is over 64 KiB")
    try:
        entries = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise Refused(f"services is not YAML: {error}") from error
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise Refused("services is not a list")
    return [service(entry) for entry in entries]


# -- what the charm does with them ----------------------------------------------------------


def merge(services: Services, new: Iterable[Service]) -> Services:
    """``merge_service``: what is already there wins, except ``servers``, which are unioned."""
    merged = dict(services)
    for entry in new:
        old = merged.get(entry.name)
        if old is None:
            merged[entry.name] = entry
            continue
        servers = old.servers + tuple(s for s in entry.servers if s not in old.servers)
        merged[entry.name] = Service(
            name=old.name,
            host=old.host if old.host is not None else entry.host,
            port=old.port if old.port is not None else entry.port,
            options=old.options if old.options is not None else entry.options,
            server_options=old.server_options if old.server_options is not None else entry.server_options,
            servers=servers,
        )
    return merged


def _unit_services(services: Services, unit: str, data: dict[str, str]) -> list[str] | None:
    """The services ``unit`` joins (``None``: an unknown ``service_name`` skips it)."""
    app = unit.rsplit("/", 1)[0]
    joined: list[str] = []
    if "service_name" in data:
        if data["service_name"] not in services:
            return None
        joined.append(data["service_name"])
    joined += [s for s in data.get("sitenames", "").split() if s in services]
    joined += [s for s in (f"{app}_service", app) if s in services]
    joined = list(dict.fromkeys(joined))
    return joined or [next(iter(services))]


def assign(services: Services, units: Units) -> tuple[Services, list[str]]:
    """``create_services``: the option's services with every unit's servers; and why the
    data of each refused unit was left out."""
    refused: list[str] = []
    for unit, data in units:
        if "services" in data:
            try:
                services = merge(services, parse_services(data["services"]))
            except Refused as problem:
                refused.append(f"{unit}: {problem}")
    if not services:
        return services, refused
    for unit, data in units:
        if "services" in data or "port" not in data or "private-address" not in data:
            continue  # handled above, or skipped (and logged) by the charm
        try:
            server_port = port(data["port"])
            host = address(data["private-address"], "private-address")
        except Refused as problem:
            refused.append(f"{unit}: {problem}")
            continue
        server_name = f"{unit.replace('/', '-')}-{server_port}"
        for joined in _unit_services(services, unit, data) or []:
            entry = services[joined]
            server = Server(server_name, host, server_port, entry.server_options or ())
            services[joined] = replace(entry, servers=(*entry.servers, server))
    return services, refused


def with_host_port(services: Services) -> Services:
    """``ensure_service_host_port``: a service without host or port gets ``0.0.0.0`` and
    the next port but one after the highest given (or the monitoring port)."""
    given = sorted((s.host, s.port) for s in services.values() if s.host is not None and s.port is not None)
    last = given[-1][1] if given else MONITORING_PORT
    done = {}
    for key, entry in sorted(services.items()):
        if entry.host is None or entry.port is None:
            last += 2
            entry = replace(entry, host="0.0.0.0", port=last)
        done[key] = entry
    return {key: done[key] for key in services}


# -- rendering ------------------------------------------------------------------------------


def split_options(options: Iterable[str]) -> tuple[list[str], list[str]]:
    """Frontend and backend lines, as ``create_listen_stanza`` splits them (its prefix
    tests included: a dupe option is copied to both when it starts with a given option)."""
    options = list(options)
    front = [o for o in DUPE_OPTIONS if any(o.startswith(given) for given in options)]
    back = list(front)
    for given in options:
        side = front if any(given.startswith(f) for f in FRONTEND_ONLY) else back
        if given not in side:
            side.append(given)
    return front, back


def render_service(unit: str, entry: Service, bind: tuple[str, int]) -> str:
    """One service's frontend (named for the haproxy unit and port) and backend."""
    front, back = split_options(entry.options or ())
    host = f"[{bind[0]}]" if ":" in bind[0] else bind[0]
    lines = [
        f"frontend {unit.replace('/', '-')}-{bind[1]}",
        f"    bind {host}:{bind[1]}",
        f"    default_backend {entry.name}",
        *(f"    {o}" for o in front),
        "",
        f"backend {entry.name}",
        *(f"    {o}" for o in back),
        *(f"    {server.line(i)}" for i, server in enumerate(entry.servers)),
    ]
    return "\n".join(lines)


def render_globals(config: dict[str, Any], user: str | None) -> str:
    """``create_haproxy_globals`` and ``create_haproxy_defaults`` from the options (no
    ``log /dev/log``: see FIDELITY.md)."""
    lines = ["global", f"    maxconn {int(config.get('global_maxconn') or 4096)}"]
    if user:
        lines += [f"    user {user}", f"    group {user}"]
    lines += [
        f"    spread-checks {int(config.get('global_spread_checks') or 0)}",
        "    tune.ssl.default-dh-param 2048",
        f"    ssl-default-bind-ciphers {SSL_CIPHERS}",
        "",
        "defaults",
        f"    log {name(config.get('default_log') or 'global', 'default_log')}",
        f"    mode {name(config.get('default_mode') or 'http', 'default_mode')}",
        *(f"    {option('option ' + o)}" for o in comma_split(str(config.get("default_options") or ""))),
        f"    retries {int(config.get('default_retries') or 0)}",
        *(f"    {option('timeout ' + t)}" for t in comma_split(str(config.get("default_timeouts") or ""))),
    ]
    return "\n".join(lines)


def render(unit: str, head: str, services: Services, binds: dict[str, tuple[str, int]]) -> str:
    """The whole haproxy.cfg: globals and defaults, then every service (by name)."""
    stanzas = [render_service(unit, services[key], binds[key]) for key in sorted(services)]
    return (
        "\n\n".join(
            ["# Generated by localjuju (servers_haproxy.py); rewritten on every change.\n" + head, *stanzas]
        )
        + "\n"
    )
