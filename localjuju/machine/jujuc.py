"""Juju hook tools for localjuju: what each tool does to the hook's context.

The agent holds the hook's context (what the unit may see: config, relations, leader
settings, status, ports, action) in memory while the hook runs and serves these tools
over a unix socket (``localjuju/toolserver.py``); the machine runs them through one
small client (``hooktool.py``), as Juju's hook tools are one small binary that talks to
the unit agent. Arguments, output formats and exit codes are those of Juju's own tools.
Standard library + PyYAML only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, NoReturn

Context = dict[str, Any]


def yaml_module() -> Any:
    """PyYAML, imported only by the calls that print or read YAML."""
    import yaml

    return yaml


class ToolError(Exception):
    """A failure while running the tool: exit 1, as juju/cmd's Run errors."""

    code = 1


class UsageError(ToolError):
    """Bad arguments (flags, relation ids, a missing argument): exit 2, as juju/cmd's
    Init errors; charmhelpers' relation_get turns that into None."""

    code = 2


@dataclass
class Call:
    """One tool call as the caller made it: its ``JUJU_*`` environment, where its output
    goes, and ``read``, which returns a file's text (``-``: stdin) as the caller sees it."""

    env: dict[str, str]
    out: IO[str]
    err: IO[str]
    read: Callable[[str], str]
    kill_caller: bool = field(default=False)


class Parser(argparse.ArgumentParser):
    """argparse writing to the call's streams; a usage error prints ``ERROR ...``, exits 2."""

    def __init__(self, prog: str, call: Call, **kwargs: Any):
        super().__init__(prog=prog, **kwargs)
        self.call = call

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            (self.call.err if file is sys.stderr else self.call.out).write(message)

    def error(self, message: str) -> NoReturn:
        self.call.err.write(f"ERROR {message}\n")
        raise SystemExit(2)


def count(context: Context, name: str) -> Context:
    """One more call of ``name`` in the hook's cost (failed calls count too)."""
    context["tool_calls"] = context.get("tool_calls", 0) + 1
    used = context.setdefault("tools_used", {})
    used[name] = used.get(name, 0) + 1
    return context


def emit(call: Call, value: Any, fmt: str) -> None:
    out = call.out
    if fmt == "json":
        out.write(json.dumps(value) + "\n")
    elif fmt == "yaml":
        if value is not None:  # a scalar as Go's yaml writes it: no "..." document end
            out.write(yaml_module().safe_dump(value, default_flow_style=False).removesuffix("...\n"))
    elif value is None:
        return
    elif isinstance(value, bool):
        out.write("True\n" if value else "False\n")
    elif isinstance(value, (dict, list)):
        if value:
            out.write(yaml_module().safe_dump(value, default_flow_style=False))
    else:
        out.write(f"{value}\n")


def format_arg(parser: Parser) -> None:
    parser.add_argument("--format", default="smart", choices=("smart", "json", "yaml"))
    parser.add_argument("-o", "--output", default=None)


def relation_id(context: Context, given: str, call: Call) -> str:
    rid = given or call.env.get("JUJU_RELATION_ID", "")
    if not rid:
        raise UsageError("no relation id specified")
    if rid not in context["relations"]:
        # Juju accepts "db:3" and "3"
        matches = [r for r in context["relations"] if r.split(":")[-1] == rid.split(":")[-1]]
        if not matches:
            raise UsageError(f'invalid value "{rid}" for option -r: relation not found')
        rid = matches[0]
    return rid


def key_values(pairs: list[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ToolError(f'expected "key=value", got "{pair}"')
        settings[key] = value
    return settings


# -- the tools ---------------------------------------------------------------------------


def config_get(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("config-get", call)
    p.add_argument("key", nargs="?")
    p.add_argument("-a", "--all", action="store_true")
    format_arg(p)
    a = p.parse_args(args)
    config = ctx["config"]
    emit(call, config if a.key is None else config.get(a.key), a.format)


def relation_ids(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("relation-ids", call)
    p.add_argument("name", nargs="?")
    format_arg(p)
    a = p.parse_args(args)
    name = a.name or call.env.get("JUJU_RELATION", "")
    ids = sorted(
        (r for r, rel in ctx["relations"].items() if rel["endpoint"] == name),
        key=lambda r: int(r.split(":")[-1]),
    )
    emit(call, ids, a.format) if a.format != "smart" else [print(i, file=call.out) for i in ids]


def relation_list(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("relation-list", call)
    p.add_argument("-r", "--relation", default="")
    p.add_argument("--app", action="store_true")
    format_arg(p)
    a = p.parse_args(args)
    rel = ctx["relations"][relation_id(ctx, a.relation, call)]
    value = rel["remote_app"] if a.app else sorted(rel["units"], key=lambda u: int(u.split("/")[-1]))
    if a.format == "smart" and isinstance(value, list):
        for unit in value:
            print(unit, file=call.out)
    else:
        emit(call, value, a.format)


def relation_get(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("relation-get", call)
    p.add_argument("key", nargs="?", default="-")
    p.add_argument("unit", nargs="?", default="")
    p.add_argument("-r", "--relation", default="")
    p.add_argument("--app", action="store_true")
    format_arg(p)
    a = p.parse_args(args)
    rid = relation_id(ctx, a.relation, call)
    rel = ctx["relations"][rid]
    if a.app:
        entity = a.unit.split("/")[0] if a.unit else (call.env.get("JUJU_REMOTE_APP") or rel["remote_app"])
        if entity == ctx["app"] and not ctx["leader"]:
            raise ToolError("permission denied: only the leader can read its application's data")
    else:
        entity = a.unit or call.env.get("JUJU_REMOTE_UNIT", "")
        if not entity:
            raise UsageError("no unit id specified")
    known = (ctx["unit"], ctx["app"], *([rel["remote_app"]] if a.app else []))  # app data: {} until set
    if entity not in rel["data"] and entity not in known:
        raise ToolError(f'cannot read settings for unit "{entity}" in relation "{rid}": unit not found')
    data = rel["data"].get(entity, {})
    if entity == ctx["unit"]:
        data = {**data, **{k: v for k, v in ctx.get("addresses", {}).items() if k not in data}}
    emit(call, data if a.key == "-" else data.get(a.key), a.format)


def relation_set(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("relation-set", call, description="set relation settings (--file reads YAML)")
    p.add_argument("settings", nargs="*")
    p.add_argument("-r", "--relation", default="")
    p.add_argument("--app", action="store_true")
    p.add_argument("--file", default=None, help="file containing key-value pairs")
    format_arg(p)
    a = p.parse_args(args)
    rid = relation_id(ctx, a.relation, call)
    settings = {}
    if a.file:
        text = call.read(a.file)
        loaded = yaml_module().safe_load(text) or {}
        if not isinstance(loaded, dict):
            raise ToolError("expected YAML map of settings")
        # Juju reads a map of strings: a list or map value is an error (and str() of a few
        # hundred bytes of nested aliases would be gigabytes)
        if any(isinstance(v, (list, dict)) for v in loaded.values()):
            raise ToolError("yaml: unmarshal errors: a setting's value must be a string, not a list or map")
        settings.update({str(k): ("" if v is None else str(v)) for k, v in loaded.items()})
    settings.update(key_values(a.settings))
    if a.app and not ctx["leader"]:
        raise ToolError("cannot write relation settings: not the leader")
    entity = ctx["app"] if a.app else ctx["unit"]
    data = ctx["relations"][rid]["data"].setdefault(entity, {})
    for key, value in settings.items():
        if value == "":
            data.pop(key, None)
        else:
            data[key] = value


def unit_get(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("unit-get", call)
    p.add_argument("setting", choices=("private-address", "public-address"))
    format_arg(p)
    a = p.parse_args(args)
    emit(call, ctx["address"], a.format)


def network_get(args: list[str], ctx: Context, call: Call) -> None:
    """Juju's network-get: one flag prints that value alone (``--ingress-address`` a string,
    ``--egress-subnets`` a list), several a map, none the whole binding; YAML and JSON name
    the address fields differently, as Juju's params structs do."""
    p = Parser("network-get", call)
    p.add_argument("binding")
    p.add_argument("--ingress-address", action="store_true")
    p.add_argument("--bind-address", "--primary-address", dest="bind_address", action="store_true")
    p.add_argument("--egress-subnets", action="store_true")
    p.add_argument("-r", "--relation", default="")
    format_arg(p)
    a = p.parse_args(args)
    if a.relation:
        relation_id(ctx, a.relation, call)
    if a.binding not in ctx.get("bindings", []):
        raise ToolError(f'no network config found for binding "{a.binding}"')
    address = ctx["address"]
    values = {"bind-address": address, "ingress-address": address, "egress-subnets": [f"{address}/32"]}
    keys = [
        k
        for k, on in (
            ("bind-address", a.bind_address),
            ("ingress-address", a.ingress_address),
            ("egress-subnets", a.egress_subnets),
        )
        if on
    ]
    if len(keys) == 1:
        emit(call, values[keys[0]], a.format)
        return
    if keys:
        emit(call, {k: values[k] for k in keys}, a.format)
        return
    json_keys = a.format == "json"
    entry = {
        "hostname": "",
        ("value" if json_keys else "address"): address,
        "cidr": ctx.get("cidr", "127.0.0.0/8"),
    }
    emit(
        call,
        {
            "bind-addresses": [
                {
                    ("mac-address" if json_keys else "macaddress"): ctx.get("mac", ""),
                    ("interface-name" if json_keys else "interfacename"): ctx.get("interface", "lo"),
                    "addresses": [entry],
                }
            ],
            "egress-subnets": values["egress-subnets"],
            "ingress-addresses": [address],
        },
        a.format,
    )


def status_set(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("status-set", call)
    p.add_argument("status", choices=("maintenance", "blocked", "waiting", "active"))
    p.add_argument("message", nargs="?", default="")
    p.add_argument("--application", action="store_true")
    a = p.parse_args(args)
    if a.application and not ctx["leader"]:
        raise ToolError("this unit is not the leader")
    target = "application" if a.application else "unit"
    ctx["status"][target] = {"status": a.status, "message": a.message, "since": time.time()}
    ctx.setdefault("status_history", []).append([target, a.status, a.message, time.time()])


def status_get(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("status-get", call)
    p.add_argument("--include-data", action="store_true")
    p.add_argument("--application", action="store_true")
    format_arg(p)
    a = p.parse_args(args)
    status = ctx["status"]["application" if a.application else "unit"]
    if a.format == "smart" and not a.include_data:
        print(status["status"], file=call.out)
    else:
        emit(
            call,
            {"status": status["status"], "message": status["message"], "status-data": {}}
            if a.include_data
            else status["status"],
            a.format,
        )


def application_version_set(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("application-version-set", call)
    p.add_argument("version")
    ctx["version"] = p.parse_args(args).version


def juju_log(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("juju-log", call)
    p.add_argument("message", nargs="+")
    p.add_argument("-l", "--log-level", default="INFO")
    p.add_argument("--debug", action="store_true")
    a = p.parse_args(args)
    ctx.setdefault("logs", []).append([time.time(), a.log_level.upper(), " ".join(a.message)])


def _port_spec(spec: str) -> str:
    number, _, proto = spec.partition("/")
    if "-" in number:
        low, high = (int(x) for x in number.split("-"))
    else:
        low = high = int(number)
    if not 1 <= low <= high <= 65535:
        raise ToolError(f'invalid port "{spec}"')
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "icmp"):
        raise ToolError(f'invalid protocol "{proto}"')
    return f"{low}/{proto}" if low == high else f"{low}-{high}/{proto}"


def open_port(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("open-port", call)
    p.add_argument("port")
    p.add_argument("--endpoints", default="")
    spec = _port_spec(p.parse_args(args).port)
    if spec not in ctx["ports"]:
        ctx["ports"].append(spec)


def close_port(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("close-port", call)
    p.add_argument("port")
    p.add_argument("--endpoints", default="")
    spec = _port_spec(p.parse_args(args).port)
    ctx["ports"] = [port for port in ctx["ports"] if port != spec]


def opened_ports(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("opened-ports", call)
    p.add_argument("--endpoints", action="store_true")
    format_arg(p)
    a = p.parse_args(args)
    if a.format == "smart":
        for port in ctx["ports"]:
            print(port, file=call.out)
    else:
        emit(call, ctx["ports"], a.format)


def is_leader(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("is-leader", call)
    format_arg(p)
    emit(call, bool(ctx["leader"]), p.parse_args(args).format)


def leader_get(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("leader-get", call)
    p.add_argument("key", nargs="?", default="-")
    format_arg(p)
    a = p.parse_args(args)
    data = ctx["leader_data"]
    emit(call, data if a.key == "-" else data.get(a.key), a.format)


def leader_set(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("leader-set", call)
    p.add_argument("settings", nargs="*")
    a = p.parse_args(args)
    if not ctx["leader"]:
        raise ToolError("cannot write leadership settings: cannot write settings: not the leader")
    for key, value in key_values(a.settings).items():
        if value == "":
            ctx["leader_data"].pop(key, None)
        else:
            ctx["leader_data"][key] = value


def _action(ctx: Context) -> Context:
    if not ctx.get("action"):
        raise ToolError("not running an action")
    action: Context = ctx["action"]
    return action


def action_get(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("action-get", call)
    p.add_argument("key", nargs="?")
    format_arg(p)
    a = p.parse_args(args)
    params = _action(ctx)["params"]
    if a.key:
        for part in a.key.split("."):
            params = params.get(part) if isinstance(params, dict) else None
    emit(call, params, a.format)


def action_set(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("action-set", call)
    p.add_argument("settings", nargs="+")
    a = p.parse_args(args)
    results = _action(ctx)["results"]
    for key, value in key_values(a.settings).items():
        parts = key.split(".")
        for part in parts:
            if not part or not all(c.islower() or c.isdigit() or c == "-" for c in part):
                raise ToolError(
                    f'key "{key}" must start and end with lowercase alphanumeric, '
                    "and contain only lowercase alphanumeric and hyphens"
                )
        target = results
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value


def action_log(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("action-log", call)
    p.add_argument("message", nargs="+")
    _action(ctx)["log"].append([time.time(), " ".join(p.parse_args(args).message)])


def action_fail(args: list[str], ctx: Context, call: Call) -> None:
    p = Parser("action-fail", call)
    p.add_argument("message", nargs="?", default="action failed without reason given")
    _action(ctx)["failed"] = p.parse_args(args).message


def goal_state(args: list[str], ctx: Context, call: Call) -> None:
    """The units of the application and the relations' remote applications and units, with
    their status (``dying`` for a unit being removed) and ``since``."""
    p = Parser("goal-state", call)
    p.add_argument("--format", default="yaml", choices=("yaml", "json"))
    p.add_argument("-o", "--output", default=None)
    emit(call, ctx.get("goal", {"units": {}, "relations": {}}), p.parse_args(args).format)


def juju_reboot(args: list[str], ctx: Context, call: Call) -> None:
    """Ask for the machine to reboot after the hook (``--now``: at once; the hook is run again
    afterwards). Not allowed in actions."""
    p = Parser("juju-reboot", call)
    p.add_argument("--now", action="store_true")
    a = p.parse_args(args)
    if ctx.get("action"):
        raise ToolError("juju-reboot is not supported when running an action.")
    ctx["reboot"] = "now" if a.now else "after-hook"


TOOLS: dict[str, Callable[[list[str], Context, Call], None]] = {
    "config-get": config_get,
    "relation-ids": relation_ids,
    "relation-list": relation_list,
    "relation-get": relation_get,
    "relation-set": relation_set,
    "unit-get": unit_get,
    "network-get": network_get,
    "status-set": status_set,
    "status-get": status_get,
    "application-version-set": application_version_set,
    "juju-log": juju_log,
    "open-port": open_port,
    "close-port": close_port,
    "opened-ports": opened_ports,
    "is-leader": is_leader,
    "leader-get": leader_get,
    "leader-set": leader_set,
    "action-get": action_get,
    "action-set": action_set,
    "action-log": action_log,
    "action-fail": action_fail,
    "goal-state": goal_state,
    "juju-reboot": juju_reboot,
}


def tool_named(name: str) -> Callable[[list[str], Context, Call], None] | None:
    """The tool ``name``: one of :data:`TOOLS` or a secret tool (``secret_tools.py``)."""
    from .secret_tools import TOOLS as SECRET_TOOLS  # it builds on this module

    return TOOLS.get(name) or SECRET_TOOLS.get(name)


def run(name: str, args: list[str], context: dict[str, Any], call: Call) -> int:
    """Run tool ``name`` over ``context`` (changed in place); its exit code. A failed call
    changes nothing but the counts; ``juju-reboot --now`` sets ``call.kill_caller``."""
    tool = tool_named(name)
    if tool is None:
        call.err.write(f"ERROR unknown hook tool {name}\n")
        return 2
    before = json.dumps(context)
    try:
        tool(args, count(context, name), call)
    except (ToolError, SystemExit) as error:
        context.clear()
        context.update(count(json.loads(before), name))
        if isinstance(error, SystemExit):  # a usage error argparse reported (exit 2)
            return int(error.code or 0)
        call.err.write(f"ERROR {error}\n")
        return error.code
    except Exception:  # a bug: the context as it was, and the traceback to the caller
        context.clear()
        context.update(json.loads(before))
        raise
    call.kill_caller = name == "juju-reboot" and context.get("reboot") == "now"
    return 0
