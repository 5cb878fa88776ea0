"""apache2 in front of the app, configured as the apache2 charm configures itself.

Checked against the charm's ``hooks/hooks.py`` (see FIDELITY.md):

- ``balancer`` units become one ``balancer://<name>`` block per service (``all_services``,
  else ``sitenames``, else the application's name), with a ``BalancerMember`` per unit that
  has both ``private-address`` and ``port``, ``lbmethod=byrequests`` and an
  ``X-Balancer-Name`` header. Nothing routes to it unless the operator's vhost does.
- ``reverseproxy`` does not balance: the *first* unit of each related application becomes
  template variables (``<app>`` = ``host:port``, ``<app>_<key>`` for each of its keys);
  a unit without ``port`` ends the collection, as in the charm.
- The only vhost is the operator's ``vhost_http_template`` (base64 of a Jinja2 template,
  given the config, the reverseproxy variables and ``vhost_template_vars``); without one,
  nothing is served and no port is opened. The default site is off.
- Modules are Debian's defaults minus ``disable_modules``, ``lbmethod_byrequests`` when
  there is a balancer, and ``enable_modules``, each with the modules its ``.load`` file says
  it depends on (as ``a2enmod``). A config that fails ``apache2 -t`` (e.g. a balancer's
  ``RequestHeader`` without ``headers``) blocks the unit as the charm does.

localjuju differences: each unit runs Debian's apache2 binary with its own config root and
port (8000 and up, or config ``port``), started and reloaded with ``apache2 -k``; the port
the charm would serve the template on (80) is that port, so a template's
``<VirtualHost *:80>`` is rewritten to the unit's listener.
"""

from __future__ import annotations

import ast
import base64
import binascii
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import yaml

from . import servers

if TYPE_CHECKING:
    from .agent import Agent
    from .model import Model

BASE_PORT = 8000
AVOID_PORTS = (8080,)
MODS = Path("/etc/apache2/mods-available")
DEBIAN_DEFAULT_MODULES = (
    "mpm_event",
    "access_compat",
    "alias",
    "auth_basic",
    "authn_core",
    "authn_file",
    "authz_core",
    "authz_host",
    "authz_user",
    "autoindex",
    "deflate",
    "dir",
    "env",
    "filter",
    "mime",
    "negotiation",
    "reqtimeout",
    "setenvif",
    "status",
)
OPTIONS = {
    "port": {"type": "int", "default": 0, "description": "localjuju: port to listen on (0: 8000 and up)"},
    "servername": {"type": "string", "default": "", "description": "ServerName (default: the address)"},
    "vhost_http_template": {"type": "string", "default": "", "description": "base64 Jinja2 vhost template"},
    "vhost_template_vars": {"type": "string", "default": "", "description": "extra template variables"},
    "enable_modules": {"type": "string", "default": "", "description": "modules to enable (space-separated)"},
    "disable_modules": {"type": "string", "default": "status autoindex", "description": "modules to disable"},
    "lb_balancer_timeout": {"type": "int", "default": 60, "description": "BalancerMember timeout"},
}
Members = dict[str, list[str]]
Units = list[tuple[str, dict[str, str]]]


class ConfigProblem(Exception):
    """What the charm would report as blocked (or fail its hook on)."""


def balancers(units: Units) -> Members:
    """Service name -> sorted unique ``host:port`` members, from each ``balancer`` unit's data."""
    found: dict[str, set[str]] = {}
    for unit, data in units:
        host, port = data.get("private-address"), data.get("port")
        if not host or not port:
            continue  # the charm skips (and logs) such a unit
        if data.get("all_services"):
            services = [
                (str(s["service_name"]), str(s["service_port"]))
                for s in yaml.safe_load(data["all_services"]) or []
            ]
        elif data.get("sitenames"):
            services = [(name, port) for name in data["sitenames"].split()]
        else:
            services = [(unit.split("/")[0], port)]
        for name, service_port in services:
            found.setdefault(name, set()).add(f"{host}:{service_port}")
    return {name: sorted(members) for name, members in sorted(found.items())}


def _key(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "", text)


def reverseproxy_vars(units: Units) -> dict[str, str]:
    """The template variables of ``reverseproxy`` units: only each application's first unit
    counts, and a unit without ``port`` ends the collection (the charm returns there)."""
    found: dict[str, str] = {}
    for unit, data in units:
        if "port" not in data:
            return found
        app = _key(unit.split("/")[0])
        if app in found:
            continue
        host = data.get("private-address", "")
        for key, value in data.items():
            found[_key(f"{app}_{key.replace('-', '_')}")] = value
        found[app] = f"{host}:{data['port']}"
        for service in yaml.safe_load(data.get("all_services") or "") or []:
            found[_key(f"{app}_{service['service_name']}")] = f"{host}:{service['service_port']}"
    return found


def render_vhost(config: dict[str, Any], variables: dict[str, str], listener: str) -> str | None:
    """The operator's vhost, or ``None`` without a template; raises :class:`ConfigProblem`."""
    encoded = str(config.get("vhost_http_template") or "")
    if not encoded:
        return None
    try:
        source = base64.b64decode(encoded, validate=True).decode()
        template = jinja2.Template(source)
    except (binascii.Error, UnicodeDecodeError, jinja2.TemplateError) as error:
        raise ConfigProblem(f"vhost_http_template: {error}") from error
    values = {**config, **variables}
    if config.get("vhost_template_vars"):
        try:
            values.update(ast.literal_eval(str(config["vhost_template_vars"])))
        except (ValueError, SyntaxError) as error:
            raise ConfigProblem(f"vhost_template_vars: {error}") from error
    text = template.render(**values)
    return re.sub(r"<VirtualHost\s+[^>]*:80\s*>", f"<VirtualHost {listener}>", text)


def render_balancer(name: str, members: list[str], timeout: int) -> str:
    """One balancer, as the charm's ``balancer.template`` renders it."""
    lines = [
        f"<Proxy balancer://{name}>",
        *(f"    BalancerMember http://{member} timeout={timeout}" for member in members),
        "    ProxySet lbmethod=byrequests",
        f'    RequestHeader set X-Balancer-Name "{name}"',
        "</Proxy>",
    ]
    return "\n".join(lines) + "\n"


def module_order(wanted: list[str], mods: Path = MODS) -> list[str]:
    """``wanted`` with what each depends on (its ``.load``'s ``# Depends:``) before it, and
    without what a later one conflicts with (``# Conflicts:``), as ``a2enmod`` does."""
    ordered: list[str] = []

    def add(name: str) -> None:
        if name in ordered:
            return
        load = mods / f"{name}.load"
        if not load.exists():
            raise ConfigProblem(f"apache2 module {name!r} is not installed")
        text = load.read_text()
        depends = re.search(r"^# Depends:(.*)$", text, re.M)
        conflicts = re.search(r"^# Conflicts:(.*)$", text, re.M)
        for other in conflicts.group(1).split() if conflicts else []:
            if other in ordered:
                ordered.remove(other)  # a2enmod switches: the one asked last wins
        for dependency in depends.group(1).split() if depends else []:
            add(dependency)
        ordered.append(name)

    for name in wanted:
        add(name)
    return ordered


def modules(config: dict[str, Any], has_balancers: bool) -> list[str]:
    disabled = set(str(config.get("disable_modules") or "").split())
    wanted = [m for m in DEBIAN_DEFAULT_MODULES if m not in disabled]
    if has_balancers:
        wanted.append("lbmethod_byrequests")
    wanted += str(config.get("enable_modules") or "").split()
    return module_order(wanted)


def render_config(
    listener: str, servername: str, loaded: list[str], members: Members, vhost: str | None, timeout: int = 60
) -> str:
    """The whole apache2.conf of a unit (``listener`` is ``host:port``)."""
    includes = [
        f"Include {MODS / f'{name}.{suffix}'}"
        for name in loaded
        for suffix in ("load", "conf")
        if suffix == "load" or (MODS / f"{name}.conf").exists()
    ]
    head = [
        "# Generated by localjuju (servers_apache2.py); rewritten on every change.",
        "DefaultRuntimeDir ${APACHE_RUN_DIR}",
        "PidFile ${APACHE_PID_FILE}",
        "Mutex file:${APACHE_LOCK_DIR} default",
        "User ${APACHE_RUN_USER}",
        "Group ${APACHE_RUN_GROUP}",
        *includes,
        f"ServerName {servername}",
        f"Listen {listener}",
        "ErrorLog ${APACHE_LOG_DIR}/error.log",
        "LogLevel warn",
        'LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{User-Agent}i\\"" combined',
        "CustomLog ${APACHE_LOG_DIR}/access.log combined",
        "",
    ]
    blocks = [render_balancer(name, hosts, timeout) for name, hosts in members.items()]
    return (
        "\n".join(head)
        + "\n".join(blocks)
        + "\n"
        + (f"{vhost.rstrip()}\n" if vhost else "# no vhost_http_template: no vhost\n")
    )


def apache_env(directory: Path) -> dict[str, str]:
    """The ``APACHE_*`` variables the config refers to, as Debian's envvars file sets them."""
    return {
        "APACHE_RUN_USER": "www-data",
        "APACHE_RUN_GROUP": "www-data",
        "APACHE_PID_FILE": str(directory / "apache2.pid"),
        "APACHE_RUN_DIR": str(directory / "run"),
        "APACHE_LOCK_DIR": str(directory / "lock"),
        "APACHE_LOG_DIR": str(directory / "log"),
        "LANG": "C",
    }


def related_units(model: Model, unit: str, endpoint: str) -> Units:
    """(unit, data) for every unit on the unit's live ``endpoint`` relations, in relation id
    order; Juju's own keys filled in."""
    app = model.units[unit]["app"]
    found = []
    for _, rel in sorted(servers.live_relations(model, app), key=lambda item: int(item[0])):
        if rel["apps"][app] != endpoint:
            continue
        for remote in servers.remote_units(model, rel, unit):
            found.append((remote, {**servers.juju_keys(model, remote), **rel["data"].get(remote, {})}))
    return found


def apply(directory: Path, listener: str, text: str) -> None:
    """Write the config; start apache2, or reload it gracefully when it changed. Raises
    :class:`ConfigProblem` when ``apache2 -t`` refuses it (the running config stays)."""
    servers.ensure_packages("apache2", ["apache2"])
    for sub in ("run", "lock", "log"):
        (directory / sub).mkdir(exist_ok=True)
    conf = directory / "apache2.conf"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **apache_env(directory)}
    running = servers.read_pid(directory / "apache2.pid") is not None
    if running and conf.exists() and conf.read_text() == text:
        return
    candidate = directory / "apache2.conf.new"
    candidate.write_text(text)
    checked = subprocess.run(
        ["apache2", "-d", str(directory), "-f", str(candidate), "-t"], env=env, capture_output=True, text=True
    )
    if checked.returncode != 0:
        raise ConfigProblem(f"apache2 -t: {checked.stderr.strip()}")
    candidate.replace(conf)
    servers.run(
        ["apache2", "-d", str(directory), "-f", str(conf), "-k", "graceful" if running else "start"], env=env
    )
    if not running:
        host, port = listener.rsplit(":", 1)
        servers.wait_for_port(int(port), host=host)


def handle(agent: Agent, unit: str, event: dict[str, Any]) -> None:
    """Any event: render balancers and the operator's vhost, (re)load; Juju's keys only on
    the relations (the charm publishes nothing on balancer/reverseproxy)."""
    model = agent.model
    config = dict(agent.effective_config(model.units[unit]["app"]))
    if config.get("port"):
        servers.state(model, unit)["port"] = int(config["port"])
    port = servers.allocate_port(model, unit, BASE_PORT, AVOID_PORTS)
    config["servername"] = str(config.get("servername") or servers.unit_address(model, unit))
    listener = f"{servers.unit_address(model, unit)}:{port}"
    members = balancers(related_units(model, unit, "balancer"))
    servers.publish_everywhere(agent, unit, {})
    try:
        vhost = render_vhost(config, reverseproxy_vars(related_units(model, unit, "reverseproxy")), listener)
        loaded = modules(config, bool(members))
        text = render_config(
            listener,
            config["servername"],
            loaded,
            members,
            vhost,
            int(config.get("lb_balancer_timeout") or 60),
        )
        apply(servers.unit_dir(model, unit), listener, text)
    except ConfigProblem as problem:
        (servers.unit_dir(model, unit) / "problem.log").write_text(f"{problem}\n")
        servers.set_status(model, unit, "blocked", "service check failed, possible invalid configuration")
        return
    model.units[unit]["ports"] = [f"{port}/tcp"] if vhost else []  # the charm opens only a served port
    backends = sum(len(m) for m in members.values())
    what = "vhost" if vhost else "no vhost_http_template"
    servers.set_status(model, unit, "active", f"ready (:{port}, {what}, {backends} balancer member(s))")


def teardown(model: Model, unit: str) -> None:
    servers.stop_pid(servers.unit_dir(model, unit) / "apache2.pid")  # SIGTERM: apache2 -k stop


def sweep(model_name: str) -> None:
    """Stop any of the model's apache2 processes still running (whatever its state records)."""
    servers.stop_strays(model_name, "apache2")


servers.register(
    servers.ServerKind(
        name="apache2",
        charm="apache2",
        provides={},
        requires={"reverseproxy": "http", "balancer": "http"},
        handle=handle,
        teardown=teardown,
        sweep=sweep,
        options=OPTIONS,
        description="apache2 configured from its own vhost_http_template and enable_modules",
    )
)
