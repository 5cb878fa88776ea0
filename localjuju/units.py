"""A new unit: a booted machine (with its offline wheelhouse) for a charm's unit, the host
for a server's, and the hooks Juju queues for it in its order (install, relation-created,
leader-elected, config-changed, start, then joining its applications' relations)."""

from __future__ import annotations

import shutil
from pathlib import Path

from . import bases, machines, network, servers, subordinates
from .agent import Agent, machine_of
from .model import Json, Model, model_dir
from .progress import step
from .settling import say


def is_server(model: Model, app: str) -> bool:
    """Whether ``app`` is played by a server on the host (no charm, no machine)."""
    return str(model.applications[app].get("kind", "charm")).startswith("server:")


def add_machine(
    model: Model,
    image_name: str = "base",
    extra_packages: tuple[str, ...] = (),
    isolated: bool = False,
    wheels: Path | None = None,
    base: bases.Base = bases.DEFAULT,
) -> str:
    """Boot a new machine of ``base``: in the host's network namespace, or ``isolated`` on
    the model's own network; ``wheels`` (a wheelhouse directory) becomes its only package index."""
    number = str(model.data["next_machine"])
    model.data["next_machine"] += 1
    image = machines.image(image_name, extra_packages, base)
    name = f"lj-{model.name}-{number}"[:60]
    directory = model_dir(model.name) / "machines" / number
    info: Json = {"name": name, "dir": str(directory), "image": str(image), "netns": "", "base": base.name}
    info["address"] = "127.0.0.1"
    if isolated:
        wire = network.attachment(model.name, int(number))
        info.update(netns=wire.netns, address=wire.address, cidr=wire.cidr, interface=network.INTERFACE)
    if wheels is not None:
        shutil.copytree(wheels, directory / "share" / "wheels", dirs_exist_ok=True)
        info["hook_env"] = machines.offline_pip_env()
    model.machines[number] = info
    model.save()  # recorded before anything is created, so destroy finds it all
    if isolated:
        network.attach(model.name, int(number))
    machine = machine_of(model, number)
    with step(f"booting machine {number} ({name}, {base.name}{', ' + info['address'] if isolated else ''})"):
        machine.boot()
    return number


def wheelhouse(model: Model, app: str) -> Path | None:
    """The application's wheelhouse in the model directory (made once), or ``None``."""
    requirements = model.applications[app].get("wheels")
    if requirements is None:
        return None
    directory = model.dir / "wheels" / app
    if not (directory / "simple").is_dir():
        with step(f"collecting the wheels {app} installs ({len(requirements)} requirements)"):
            names = machines.wheelhouse(requirements, directory, app_base(model, app))
        say(f"{app}: offline wheelhouse of {len(names)} wheels")
    return directory


def app_base(model: Model, app: str) -> bases.Base:
    """The base of ``app``'s machines (an application recorded before bases: the default)."""
    return bases.parse(model.applications[app].get("base", bases.DEFAULT.name))


def next_unit_name(model: Model, app: str) -> str:
    """The name of ``app``'s next unit (numbers are never reused, as in Juju)."""
    application = model.applications[app]
    number = application.setdefault("next_unit", 0)
    application["next_unit"] = number + 1
    return f"{app}/{number}"


def add_charm_unit(model: Model, app: str, charm: Path) -> str:
    """A new unit of charm application ``app`` on a new machine, with the charm installed
    and its first hooks queued; returns its name."""
    application = model.applications[app]
    unit = next_unit_name(model, app)
    machine = add_machine(
        model,
        isolated=bool(application.get("isolated")),
        wheels=wheelhouse(model, app),
        base=app_base(model, app),
    )
    model.units[unit] = {
        "app": app,
        "machine": machine,
        "agent": "allocating",
        "ports": [],
        "status": {"status": "waiting", "message": "agent initialising"},
    }
    agent = Agent(model, say)
    agent.install_charm(unit, charm)
    queue_first_hooks(agent, model, app, unit)
    for rid, _ in model.relations_of(app):
        add_subordinates(agent, model, rid)
    return unit


def add_subordinates(agent: Agent, model: Model, rid: str) -> list[str]:
    """A unit of the subordinate application on each principal unit of container relation
    ``rid`` that has none, on the principal's machine, with its first hooks queued; returns
    their names (none for a global relation)."""
    added = []
    for app, principal in subordinates.missing(model, rid):
        application = model.applications[app]
        unit = next_unit_name(model, app)
        model.units[unit] = {
            "app": app,
            "machine": model.units[principal]["machine"],
            "principal": principal,
            "agent": "allocating",
            "ports": [],
            "status": {"status": "waiting", "message": "agent initialising"},
        }
        share_wheels(model, model.units[principal]["machine"], app)
        agent.install_charm(unit, Path(application["charm"]))
        queue_first_hooks(agent, model, app, unit)
        added.append(unit)
    return added


def share_wheels(model: Model, machine: str, app: str) -> None:
    """Add ``app``'s wheelhouse to an offline ``machine``'s (a subordinate's, on its
    principal's machine), its index rewritten over both: that index is the machine's only one."""
    wheels = wheelhouse(model, app)
    info = model.machines.get(machine, {})
    if wheels is None or not info.get("hook_env"):
        return  # nothing of its own to add, or a machine whose pip reaches the network
    shared = Path(info["dir"]) / "share" / "wheels"
    for wheel in wheels.glob("*.whl"):
        shutil.copy2(wheel, shared / wheel.name)
    machines.write_index(shared, sorted(path.name for path in shared.glob("*.whl")))


def queue_first_hooks(agent: Agent, model: Model, app: str, unit: str) -> None:
    """Queue a new charm unit's hooks in Juju's order: install, relation-created (peers, then
    the application's other relations), leader-elected or leader-settings-changed,
    config-changed, start, then joining the units it sees in each relation."""
    application = model.applications[app]
    agent.enqueue(unit, "install")
    for endpoint in application["endpoints"].get("peers", {}):
        rid = next((r for r, rel in model.relations.items() if rel["apps"] == {app: endpoint}), None)
        if rid is None:
            rid = str(model.data["next_relation_id"])
            model.data["next_relation_id"] += 1
            model.relations[rid] = {"apps": {app: endpoint}, "interface": "peer", "data": {}, "seen": {}}
        agent.enqueue(unit, f"{endpoint}-relation-created", relation_id=rid, remote_app=app)
    queue_created(agent, model, app, unit)
    if not application.get("leader"):
        application["leader"] = unit
        agent.enqueue(unit, "leader-elected")
    else:
        agent.enqueue(unit, "leader-settings-changed")
    start_and_join(agent, model, app, unit)


def add_server_unit(model: Model, app: str) -> str:
    """A unit of a server application, on the host; queues the events a new unit gets."""
    application = model.applications[app]
    servers.kind_of(model, app).prepare()
    unit = next_unit_name(model, app)
    model.units[unit] = {
        "app": app,
        "machine": "host",
        "agent": "idle",
        "ports": [],
        "status": {"status": "waiting", "message": "starting"},
    }
    agent = Agent(model, say)
    agent.enqueue(unit, "install")
    queue_created(agent, model, app, unit)
    if not application.get("leader"):
        application["leader"] = unit
        agent.enqueue(unit, "leader-elected")
    start_and_join(agent, model, app, unit)
    return unit


def queue_created(agent: Agent, model: Model, app: str, unit: str) -> None:
    """``<endpoint>-relation-created`` on a new unit for each relation its application already
    has with another application, before leader-elected, config-changed and start (as Juju)."""
    for rid, rel in model.relations_of(app):
        if len(rel["apps"]) == 1:
            continue  # peers: queued with the peer relation itself
        remote = next(a for a in rel["apps"] if a != app)
        agent.enqueue(unit, f"{rel['apps'][app]}-relation-created", relation_id=rid, remote_app=remote)


def start_and_join(agent: Agent, model: Model, app: str, unit: str) -> None:
    """Queue what follows a new unit's install: config-changed, start, and joining the
    units of every relation its application already has."""
    agent.enqueue(unit, "config-changed")
    agent.enqueue(unit, "start")
    for rid, rel in model.relations_of(app):
        peer = len(rel["apps"]) == 1  # a peer relation joins the app's own units
        for other_app in rel["apps"]:
            if other_app == app and not peer:
                continue
            for other in model.app_units(other_app):
                if other != unit and subordinates.sees(model, rel, unit, other):
                    agent.join(rid, unit, other)
                    agent.join(rid, other, unit)
