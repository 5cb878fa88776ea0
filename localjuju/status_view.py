"""What ``localjuju status`` shows: the model's applications, units (workload, agent,
address, ports, leader), machines (address, base) and relations, as data (``--format
json/yaml``) or a table."""

from __future__ import annotations

import sys
from typing import Any

from . import bases, servers
from .model import Model
from .subordinates import is_container, principal_side, subordinates_of

STATUS_COLOURS = {"active": "32", "blocked": "31", "error": "31", "waiting": "33", "maintenance": "33"}


def paint(text: str, status: str) -> str:
    """``text`` coloured for ``status`` when stdout is a terminal."""
    colour = STATUS_COLOURS.get(status)
    return f"\033[{colour}m{text}\033[0m" if colour and sys.stdout.isatty() else text


def unit_status(model: Model, unit: str) -> dict[str, Any]:
    """One unit's entry in :func:`status_data`."""
    info = model.units[unit]
    app = model.applications[info["app"]]
    machine = model.machines.get(info["machine"], {})
    entry = {
        "workload-status": info["status"].get("status", ""),
        "message": info["status"].get("message", ""),
        "agent-status": info.get("agent", ""),
        "machine": info["machine"],
        "address": machine.get("address")
        or (servers.unit_address(model, unit) if info["machine"] == "host" else ""),
        "open-ports": info.get("ports", []),
        "leader": app.get("leader") == unit,
    }
    if info.get("error"):
        entry["workload-status"] = "error"
        entry["message"] = f'hook failed: "{info["error"]["hook"]}"'
    if info.get("principal"):
        entry["principal"] = info["principal"]
    return entry


def status_data(model: Model) -> dict[str, Any]:
    """What ``status --format json`` prints: applications with their units, machines, and
    relations. As in Juju, a principal unit lists its subordinates (``subordinates``) and a
    subordinate application the applications it is ``subordinate-to``; its units also stay
    under ``units`` (with their ``principal``), where Juju lists none."""
    apps = {}
    for name, app in model.applications.items():
        units = {unit: unit_status(model, unit) for unit in model.app_units(name)}
        for unit, entry in units.items():
            below = subordinates_of(model, unit)
            if below:
                entry["subordinates"] = {sub: unit_status(model, sub) for sub in below}
        apps[name] = {
            "charm": app.get("charm", app.get("kind")),
            "version": app.get("version", ""),
            "units": units,
            "kind": app.get("kind", "charm"),
        }
        if apps[name]["kind"] == "charm":
            apps[name]["base"] = app.get("base", bases.DEFAULT.name)
        if app.get("subordinate"):
            related = {
                principal_side(model, rel)[0] for _, rel in model.relations_of(name) if is_container(rel)
            }
            apps[name]["subordinate-to"] = sorted(related)
    machines = {
        number: {
            "base": info.get("base", bases.DEFAULT.name),  # machines booted before bases: bookworm
            "address": info.get("address", ""),
            "instance-id": info["name"],
        }
        for number, info in model.machines.items()
    }
    relations = [
        {"id": rid, "endpoints": [f"{a}:{e}" for a, e in rel["apps"].items()], "interface": rel["interface"]}
        for rid, rel in model.relations.items()
    ]
    return {"model": model.name, "applications": apps, "machines": machines, "relations": relations}


def print_status(data: dict[str, Any]) -> None:
    """``data`` (:func:`status_data`) as ``juju status`` tables."""
    print(f"Model: {data['model']}\n")
    print(f"{'App':<16} {'Version':<10} {'Units':<6} Charm")
    for name, app in data["applications"].items():
        print(f"{name:<16} {app['version']:<10} {len(app['units']):<6} {app['charm']}")
    print(
        f"\n{'Unit':<18} {'Workload':<12} {'Agent':<10} {'Machine':<8} {'Address':<15} {'Ports':<10} Message"
    )
    for app in data["applications"].values():
        for unit, info in app["units"].items():
            if info.get("principal"):
                continue  # shown under its principal
            print_unit(unit, info)
            for sub, sub_info in info.get("subordinates", {}).items():
                print_unit(f"  {sub}", sub_info)
    if data["machines"]:
        print(f"\n{'Machine':<8} {'Address':<15} {'Inst id':<24} Base")
        for number, machine in data["machines"].items():
            print(f"{number:<8} {machine['address']:<15} {machine['instance-id']:<24} {machine['base']}")
    if data["relations"]:
        print(f"\n{'Relation':<40} Interface")
        for rel in data["relations"]:
            print(f"{' <-> '.join(rel['endpoints']):<40} {rel['interface']}")


def print_unit(unit: str, info: dict[str, Any]) -> None:
    """One row of the units table."""
    star = "*" if info["leader"] else ""
    workload = paint(f"{info['workload-status']:<12}", info["workload-status"])
    print(
        f"{unit + star:<18} {workload} {info['agent-status']:<10} {info['machine']:<8} "
        f"{info['address']:<15} {','.join(info['open-ports']):<10} {info['message']}"
    )


def unit_urls(data: dict[str, Any]) -> list[str]:
    """``unit: http://address:port/`` for every opened TCP port, as a user would browse it."""
    urls = []
    for app in data["applications"].values():
        for unit, info in app["units"].items():
            for port in info["open-ports"]:
                number, _, protocol = port.partition("/")
                if protocol in ("", "tcp") and info["address"]:
                    urls.append(f"{unit}: http://{info['address']}:{number}/")
    return urls
