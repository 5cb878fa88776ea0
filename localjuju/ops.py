"""The runner's operations, one function per CLI verb; each loads the model under its
lock, changes it, queues the hooks Juju would run and lets the model settle."""

from __future__ import annotations

import contextlib
import io
import shutil
import signal
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from . import machines, network, servers
from .actions import checked_params
from .agent import Agent, HookResult, machine_of, remove_machine
from .model import Json, Model, model_dir, open_model
from .progress import step

DEFAULT_MODEL = "default"


def say(line: str) -> None:
    print(f"   {line}", file=sys.stderr, flush=True)


def read_charm_file(charm: Path, name: str) -> Any:
    text = read_charm_text(charm, name)
    return None if text is None else yaml.safe_load(io.StringIO(text))


def charm_name(charm: Path) -> str:
    """The name in the charm's ``metadata.yaml`` ("" without one)."""
    return str((read_charm_file(charm, "metadata.yaml") or {}).get("name", ""))


def read_charm_text(charm: Path, name: str) -> str | None:
    if charm.is_dir():
        path = charm / name
        return path.read_text() if path.exists() else None
    with zipfile.ZipFile(charm) as archive:
        if name not in archive.namelist():
            return None
        return archive.read(name).decode()


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C, so callers' cleanup runs either way."""
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def settle(agent: Agent) -> list[HookResult]:
    results = agent.settle()
    agent.forget_broken()
    failed = [r for r in results if not r.ok]
    for result in failed:
        tail = "\n".join(result.output.strip().splitlines()[-15:])
        say(f"{result.unit}: hook {result.hook} failed:\n{tail}")
    return results


# -- machines -------------------------------------------------------------------------------


def add_machine(
    model: Model,
    image_name: str = "base",
    extra_packages: tuple[str, ...] = (),
    isolated: bool = False,
    wheels: Path | None = None,
) -> str:
    """Boot a new machine: in the host's network namespace, or ``isolated`` on the model's
    own network; ``wheels`` (a wheelhouse directory) becomes its only package index."""
    number = str(model.data["next_machine"])
    model.data["next_machine"] += 1
    image = machines.image(image_name, extra_packages)
    name = f"lj-{model.name}-{number}"[:60]
    directory = model_dir(model.name) / "machines" / number
    info: Json = {"name": name, "dir": str(directory), "image": str(image), "netns": ""}
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
    with step(f"booting machine {number} ({name}{', ' + info['address'] if isolated else ''})"):
        machine.boot()
    return number


# -- verbs ------------------------------------------------------------------------------


def deploy(
    charm: Path,
    app: str = "",
    config: Json | None = None,
    units: int = 1,
    model_name: str = DEFAULT_MODEL,
    isolated: bool = False,
    wheels: list[str] | None = None,
) -> None:
    """Deploy ``charm``; ``isolated`` puts its machines on the model's own network.
    ``wheels`` (requirement lines) become its machines' only package index, also without
    ``isolated``; an isolated machine without them has an empty one."""
    charm = charm.resolve()
    metadata = read_charm_file(charm, "metadata.yaml") or {}
    options = (read_charm_file(charm, "config.yaml") or {}).get("options", {})
    app = app or metadata["name"]
    with deploying(model_name, app) as model:
        model.applications[app] = {
            "kind": "charm",
            "charm": str(charm),
            "options": options,
            "config": dict(config or {}),
            "leader": None,
            "leader_data": {},
            "status": {},
            "version": "",
            "endpoints": {role: dict(metadata.get(role) or {}) for role in ("provides", "requires", "peers")},
            "isolated": isolated,
        }
        with rolled_back(model, app):
            if isolated or wheels:
                model.applications[app]["wheels"] = list(wheels or [])
                _wheelhouse(model, app)
            for _ in range(units):
                _add_unit(model, app, charm)
            with step(f"running the hooks of {app}"):
                settle(Agent(model, say))


@contextlib.contextmanager
def deploying(model_name: str, app: str) -> Iterator[Model]:
    """The model, locked, to add ``app`` to (SystemExit if it has one); a deploy that fails
    in a model it made first removes that model again."""
    try:
        with open_model(model_name) as model, interruptible():
            if app in model.applications:
                raise SystemExit(f"application {app} already exists")
            yield model
    except BaseException:
        forget_if_empty(model_name)
        raise


def add_unit(app: str, model_name: str = DEFAULT_MODEL) -> str:
    with open_model(model_name) as model, interruptible():
        if app not in model.applications:
            raise SystemExit(f'application "{app}" not found')
        if _is_server(model, app):
            unit = _add_server_unit(model, app)
        else:
            unit = _add_unit(model, app, Path(model.applications[app]["charm"]))
        with step(f"running the hooks of {unit}"):
            settle(Agent(model, say))
        return unit


def remove_unit(unit: str, model_name: str = DEFAULT_MODEL) -> None:
    """Remove a unit as Juju does: its relations depart and break, it stops, its machine goes."""
    with open_model(model_name) as model, interruptible():
        if unit not in model.units:
            raise SystemExit(f'unit "{unit}" not found')
        if _is_server(model, model.units[unit]["app"]):
            raise SystemExit(f"{unit} is a server unit: remove-unit takes charm units")
        agent = Agent(model, say)
        agent.remove_unit(unit)
        with step(f"removing {unit}"):
            settle(agent)


def elect(unit: str, model_name: str = DEFAULT_MODEL) -> None:
    """Move leadership to ``unit`` now (Juju moves it when a leader's lease lapses)."""
    with open_model(model_name) as model:
        if unit not in model.units:
            raise SystemExit(f'unit "{unit}" not found')
        agent = Agent(model, say)
        agent.elect(model.units[unit]["app"], unit)
        settle(agent)


def kill_machine(unit: str, model_name: str = DEFAULT_MODEL) -> str:
    """Pull the plug on ``unit``'s machine: no hook runs there, its agent is lost, and a
    leader it held passes to another unit (as when Juju's leadership lease lapses).
    Returns the application's leader afterwards."""
    with open_model(model_name) as model, interruptible():
        info = machine_unit(model, unit)
        with step(f"killing the machine of {unit}"):
            machine_of(model, info["machine"]).kill()
        info["agent"] = "lost"
        info["status"] = {"status": "unknown", "message": "agent lost, see juju show-status-log"}
        agent = Agent(model, say)
        app = model.applications[info["app"]]
        if app.get("leader") == unit:
            agent.elect(info["app"])
        settle(agent)
        return str(app.get("leader") or "")


def wheel_requirements(files: list[Path], requirements: list[str]) -> list[str]:
    """What an offline machine's wheelhouse holds: ``requirements`` (requirement lines) and
    the lines of the requirements ``files``, comments and blank lines left out."""
    texts = [path.read_text() for path in files]
    lines = [line.split("#", 1)[0].strip() for text in texts for line in text.splitlines()]
    return [line for line in [*requirements, *lines] if line]


def _wheelhouse(model: Model, app: str) -> Path | None:
    """The application's wheelhouse in the model directory (made once), or ``None``."""
    requirements = model.applications[app].get("wheels")
    if requirements is None:
        return None
    directory = model.dir / "wheels" / app
    if not (directory / "simple").is_dir():
        with step(f"collecting the wheels {app} installs ({len(requirements)} requirements)"):
            names = machines.wheelhouse(requirements, directory)
        say(f"{app}: offline wheelhouse of {len(names)} wheels")
    return directory


def _add_unit(model: Model, app: str, charm: Path) -> str:
    application = model.applications[app]
    number = application.setdefault("next_unit", 0)
    application["next_unit"] = number + 1
    unit = f"{app}/{number}"
    machine = add_machine(model, isolated=bool(application.get("isolated")), wheels=_wheelhouse(model, app))
    model.units[unit] = {
        "app": app,
        "machine": machine,
        "agent": "allocating",
        "ports": [],
        "status": {"status": "waiting", "message": "agent initialising"},
    }
    agent = Agent(model, say)
    agent.install_charm(unit, charm)
    agent.enqueue(unit, "install")
    for endpoint in application["endpoints"].get("peers", {}):
        rid = next((r for r, rel in model.relations.items() if rel["apps"] == {app: endpoint}), None)
        if rid is None:
            rid = str(model.data["next_relation_id"])
            model.data["next_relation_id"] += 1
            model.relations[rid] = {"apps": {app: endpoint}, "interface": "peer", "data": {}, "seen": {}}
        agent.enqueue(unit, f"{endpoint}-relation-created", relation_id=rid, remote_app=app)
    _created(agent, model, app, unit)
    if not application.get("leader"):
        application["leader"] = unit
        agent.enqueue(unit, "leader-elected")
    else:
        agent.enqueue(unit, "leader-settings-changed")
    _start_and_join(agent, model, app, unit)
    return unit


def _created(agent: Agent, model: Model, app: str, unit: str) -> None:
    """``<endpoint>-relation-created`` on a new unit for each relation its application already
    has with another application, before leader-elected, config-changed and start (as Juju)."""
    for rid, rel in model.relations_of(app):
        if len(rel["apps"]) == 1:
            continue  # peers: queued with the peer relation itself
        remote = next(a for a in rel["apps"] if a != app)
        agent.enqueue(unit, f"{rel['apps'][app]}-relation-created", relation_id=rid, remote_app=remote)


def _start_and_join(agent: Agent, model: Model, app: str, unit: str) -> None:
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
                if other != unit:
                    agent.join(rid, unit, other)
                    agent.join(rid, other, unit)


def set_config(app: str, values: Json, reset: list[str], model_name: str = DEFAULT_MODEL) -> bool:
    """Change config; config-changed runs only when a value really changed (as in Juju)."""
    with open_model(model_name) as model:
        application = model.applications[app]
        options = application.get("options", {})
        before = dict(application["config"])
        for key, raw in values.items():
            if key not in options:
                raise SystemExit(f'unknown option "{key}"')
            application["config"][key] = _typed(raw, options[key].get("type", "string"))
        for key in reset:
            application["config"].pop(key, None)
        if application["config"] == before:
            return False
        agent = Agent(model, say)
        for unit in model.app_units(app):
            agent.enqueue(unit, "config-changed")
        settle(agent)
        return True


def _typed(raw: Any, kind: str) -> Any:
    if not isinstance(raw, str):
        return raw
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise SystemExit(f"option value {raw!r} is not an int") from None
    if kind == "float":
        return float(raw)
    if kind == "boolean":
        return raw.lower() in ("true", "yes", "1")
    return raw


def get_config(app: str, model_name: str = DEFAULT_MODEL) -> Json:
    model = Model.load(model_name)
    return Agent(model).effective_config(app)


def _endpoint(model: Model, spec: str, other_interface: str = "") -> tuple[str, str, str]:
    app, _, endpoint = spec.partition(":")
    application = model.applications.get(app)
    if application is None:
        raise SystemExit(f'application "{app}" not found')
    candidates = []
    for role in ("provides", "requires"):
        for name, info in application["endpoints"].get(role, {}).items():
            interface = info["interface"] if isinstance(info, dict) else info
            if (not endpoint or name == endpoint) and (not other_interface or interface == other_interface):
                candidates.append((name, interface, role))
    if not candidates:
        raise SystemExit(f"no matching endpoint for {spec}")
    name, interface, role = candidates[0]
    return name, interface, role


def relate(a: str, b: str, model_name: str = DEFAULT_MODEL) -> str:
    with open_model(model_name) as model:
        end_a, interface, role_a = _endpoint(model, a)
        end_b, interface_b, role_b = _endpoint(model, b, interface)
        if interface != interface_b or role_a == role_b:
            raise SystemExit(f"cannot relate {a} ({role_a} {interface}) to {b} ({role_b} {interface_b})")
        app_a, app_b = a.split(":")[0], b.split(":")[0]
        isolated = [x for x in (app_a, app_b) if model.applications[x].get("isolated")]
        if len(isolated) == 1 and any(_is_server(model, x) for x in (app_a, app_b)):
            raise SystemExit(
                f"{isolated[0]} is isolated and the other is not: deploy both --isolated, or neither"
            )
        for rel in model.relations.values():
            if rel["apps"] == {app_a: end_a, app_b: end_b} and not rel.get("removing"):
                raise SystemExit("relation already exists")
        agent = Agent(model, say)
        rid = agent.relate(app_a, end_a, app_b, end_b, interface)
        with step(f"relating {app_a}:{end_a} and {app_b}:{end_b} ({interface})"):
            settle(agent)
        return rid


def remove_relation(a: str, b: str, model_name: str = DEFAULT_MODEL) -> None:
    with open_model(model_name) as model:
        app_a, app_b = a.split(":")[0], b.split(":")[0]
        wanted = {app: end for app, _, end in (a.partition(":"), b.partition(":")) if end}
        for rid, rel in model.relations.items():
            ends_match = all(rel["apps"].get(app) == end for app, end in wanted.items())
            if set(rel["apps"]) == {app_a, app_b} and ends_match and not rel.get("removing"):
                agent = Agent(model, say)
                agent.unrelate(rid)
                with step(f"removing relation {rid} between {app_a} and {app_b}"):
                    settle(agent)
                return
        raise SystemExit(f"no relation between {a} and {b}")


def set_relation_data(
    rid: str, entity: str, values: Json, replace: bool = False, model_name: str = DEFAULT_MODEL
) -> None:
    """Write ``entity``'s (a unit's or an application's) data in relation ``rid`` as its own
    relation-set would, and run the hooks that follow on the other side. An empty value
    deletes the key. For tests: data no real charm would send."""
    with open_model(model_name) as model:
        rel = model.relations.get(rid)
        if rel is None:
            raise SystemExit(f"no relation {rid} (localjuju status lists them)")
        if entity.split("/")[0] not in rel["apps"]:
            raise SystemExit(f"{entity} is not in relation {rid}")
        merged = {} if replace else dict(rel["data"].get(entity, {}))
        merged.update(values)
        agent = Agent(model, say)
        agent.publish(rid, entity, {key: str(value) for key, value in merged.items() if value != ""})
        settle(agent)


def run_action(unit: str, name: str, params: Json, model_name: str = DEFAULT_MODEL) -> Json:
    """Run action ``name`` on ``unit``; :class:`~.actions.ActionRefused` (before any hook)
    when the charm does not define it or its schema rejects ``params``."""
    with open_model(model_name) as model:
        if unit not in model.units:
            raise SystemExit(f'unit "{unit}" not found')
        charm = Path(model.applications[unit.split("/")[0]]["charm"])
        params = checked_params(read_charm_file(charm, "actions.yaml"), unit, name, params)
        agent = Agent(model, say)
        action: Json = {
            "name": name,
            "id": uuid.uuid4().hex[:12],
            "params": params,
            "results": {},
            "log": [],
            "failed": None,
        }
        result = agent.run_hook(unit, name, action=action)
        settle(agent)
        outcome = result.action or action
        status = "failed" if (not result.ok or outcome.get("failed")) else "completed"
        summary: Json = {
            "unit": unit,
            "id": action["id"],
            "status": status,
            "results": outcome.get("results", {}),
        }
        if outcome.get("failed"):
            summary["message"] = outcome["failed"]
        elif not result.ok:
            last = (result.output.strip().splitlines() or ["no output"])[-1]
            summary["message"] = f"action script exited with an error: {last}"
        summary["log"] = [entry[1] for entry in outcome.get("log", [])]
        return summary


def run_hook(unit: str, hook: str, model_name: str = DEFAULT_MODEL) -> list[HookResult]:
    with open_model(model_name) as model:
        agent = Agent(model, say)
        units = model.app_units(unit) if "/" not in unit else [unit]
        for name in units:
            agent.enqueue(name, hook)
        return settle(agent)


def resolved(unit: str, retry: bool = True, model_name: str = DEFAULT_MODEL) -> None:
    with open_model(model_name) as model:
        info = model.units[unit]
        error = info.pop("error", None)
        info["agent"] = "idle"
        agent = Agent(model, say)
        if retry and error:
            keys = ("relation_id", "remote_unit", "remote_app", "departing")
            details = {k: error[k] for k in keys if error.get(k)}
            model.queue.insert(0, {"unit": unit, "hook": error["hook"], **details})
        settle(agent)


def upgrade(app: str, path: Path | None = None, model_name: str = DEFAULT_MODEL) -> None:
    with open_model(model_name) as model:
        application = model.applications[app]
        charm = (path or Path(application["charm"])).resolve()
        application["charm"] = str(charm)
        application["options"] = (read_charm_file(charm, "config.yaml") or {}).get("options", {})
        agent = Agent(model, say)
        for unit in model.app_units(app):
            agent.install_charm(unit, charm)
            agent.enqueue(unit, "upgrade-charm")
            agent.enqueue(unit, "config-changed")
        with step(f"upgrading {app} to {charm}"):
            settle(agent)


def reboot(unit: str, model_name: str = DEFAULT_MODEL) -> None:
    """Reboot the unit's machine as Juju sees it: no hook runs at shutdown (the agent just
    exits), and once the agent is back, every unit on the machine runs ``start`` again."""
    with open_model(model_name) as model, interruptible():
        machine_unit(model, unit)
        agent = Agent(model, say)
        with step(f"rebooting the machine of {unit}"):
            agent.reboot(unit)
        with step("running start on the machine's units, as Juju does after a reboot"):
            settle(agent)


def machine_unit(model: Model, unit: str) -> Json:
    """The unit's record; refused unless it is a unit on a machine (not a server's)."""
    info = model.units.get(unit)
    if info is None or info["machine"] == "host":
        raise SystemExit(f'"{unit}" is not a unit on a machine')
    return info


def exec_in(unit: str, argv: list[str], model_name: str = DEFAULT_MODEL, capture: bool = False) -> Any:
    model = Model.load(model_name)
    return machine_of(model, model.units[unit]["machine"]).run(argv, check=False, capture=capture)


def _destroy_app(model: Model, app: str) -> None:
    if _is_server(model, app):
        servers.teardown_app(model, app)
    for unit in model.app_units(app):
        if model.units[unit]["machine"] in model.machines:
            remove_machine(model, model.units[unit]["machine"])
        del model.units[unit]
    for number in list(model.machines):  # interrupted before its unit was recorded
        if number not in {u["machine"] for u in model.units.values()}:
            remove_machine(model, number)
    if not any(info.get("netns") for info in model.machines.values()):
        network.teardown(model.name)
    shutil.rmtree(model.dir / "wheels" / app, ignore_errors=True)
    model.applications.pop(app, None)
    model.data["queue"] = [e for e in model.queue if e["unit"] in model.units]


@contextlib.contextmanager
def rolled_back(model: Model, app: str) -> Iterator[None]:
    """On Ctrl-C (or SIGTERM) or an error in the block, remove what it made of ``app``."""
    try:
        yield
    except BaseException as error:
        say(f"{'interrupted' if isinstance(error, KeyboardInterrupt) else error}: removing {app}")
        with uninterruptible():
            _destroy_app(model, app)
        raise


@contextlib.contextmanager
def uninterruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block ends (a cleanup is not cut short)."""
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def forget_if_empty(model_name: str) -> None:
    """Destroy the model when a failed first deploy left it without applications."""
    model = Model.load(model_name)
    if not model.applications and not model.machines:
        destroy(model_name)


def destroy(model_name: str = DEFAULT_MODEL) -> None:
    """Stop every machine and server of the model, unmount and remove its files; then remove
    whatever else of the model the host still has (found by name, also without its state)."""
    directory = model_dir(model_name)
    with step(f"destroying model {model_name}"), uninterruptible():
        if directory.exists():
            _destroy_recorded(model_name)
        servers.sweep(model_name)
        machines.sweep(directory)
        network.teardown(model_name)
        shutil.rmtree(directory, ignore_errors=True)


def _destroy_recorded(model_name: str) -> None:
    """Tear down what the model's state records (an unreadable state is left to the sweep)."""
    try:
        with open_model(model_name) as model:
            servers.teardown(model)
            for number in list(model.machines):
                machine_of(model, number).destroy()
            model.machines.clear()
    except (ValueError, KeyError, TypeError) as error:
        say(f"model state unreadable ({error!r}): removing what is found by name")


def wait_for(predicate: Any, timeout: float, interval: float = 0.5) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return False


# -- server applications: the other side of relations, played by real servers on the host ---------


def _is_server(model: Model, app: str) -> bool:
    return str(model.applications[app].get("kind", "charm")).startswith("server:")


def server_name(spec: str) -> str | None:
    """The server for a deploy argument (``server:postgresql``, ``postgresql``, ``ch:memcached``...),
    or ``None`` when it names no known server."""
    name = spec.removeprefix("server:").removeprefix("ch:").removeprefix("cs:").rsplit("/", 1)[-1]
    if name not in servers.kinds():
        name = name.rsplit("-", 1)[0]  # a charm store revision suffix: postgresql-123
    return name if name in servers.kinds() else None


def deploy_server(
    name: str,
    app: str = "",
    config: Json | None = None,
    units: int = 1,
    model_name: str = DEFAULT_MODEL,
    isolated: bool = False,
    channel: str = "",
) -> None:
    """Add a server application (no charm, no machine) with ``units`` units, and run its events;
    ``isolated`` runs them in the model network's server namespace; ``channel`` picks which
    of the real charm's tracks it plays (its endpoints and behaviour)."""
    kind = servers.kinds().get(name)
    if kind is None:
        raise SystemExit(f"unknown server {name!r} (known: {', '.join(sorted(servers.kinds()))})")
    endpoints = kind.endpoints(channel)
    app = app or kind.charm
    with deploying(model_name, app) as model:
        values = {
            key: _typed(value, kind.options.get(key, {}).get("type", "string"))
            for key, value in (config or {}).items()
        }
        model.applications[app] = {
            "kind": f"server:{name}",
            "charm": f"server:{name}",
            "options": kind.options,
            "config": values,
            "leader": None,
            "leader_data": {},
            "status": {},
            "version": "",
            "endpoints": endpoints,
            "isolated": isolated,
            "channel": channel,
        }
        with rolled_back(model, app):
            for _ in range(units):
                _add_server_unit(model, app)
            with step(f"starting {app} ({kind.description})"):
                settle(Agent(model, say))


def _add_server_unit(model: Model, app: str) -> str:
    """A unit of a server application, on the host; queues the events a new unit gets."""
    application = model.applications[app]
    number = application.setdefault("next_unit", 0)
    application["next_unit"] = number + 1
    unit = f"{app}/{number}"
    model.units[unit] = {
        "app": app,
        "machine": "host",
        "agent": "idle",
        "ports": [],
        "status": {"status": "waiting", "message": "starting"},
    }
    agent = Agent(model, say)
    agent.enqueue(unit, "install")
    _created(agent, model, app, unit)
    if not application.get("leader"):
        application["leader"] = unit
        agent.enqueue(unit, "leader-elected")
    _start_and_join(agent, model, app, unit)
    return unit


def _postgresql_app(model: Model, app: str) -> None:
    if app not in model.applications or model.applications[app].get("kind") != "server:postgresql":
        raise SystemExit(f'"{app}" is not a postgresql server application')


def failover(app: str, model_name: str = DEFAULT_MODEL) -> str:
    """Promote a standby of server ``app`` (adding one first if there is none); return the new master."""
    from . import servers_postgresql

    with open_model(model_name) as model, interruptible():
        _postgresql_app(model, app)
        if len(model.app_units(app)) < 2:
            _add_server_unit(model, app)
            with step(f"adding a standby to {app}"):
                settle(Agent(model, say))
        agent = Agent(model, say)
        with step(f"failing {app} over to its standby"):
            new = servers_postgresql.failover(agent, app)
            settle(agent)
        return new


def set_access(app: str, client_unit: str, granted: bool, model_name: str = DEFAULT_MODEL) -> None:
    """Grant or withhold ``client_unit``'s access (allowed-units/allowed-subnets) on server ``app``."""
    from . import servers_postgresql

    with open_model(model_name) as model:
        _postgresql_app(model, app)
        agent = Agent(model, say)
        servers_postgresql.set_withheld(agent, app, client_unit, withheld=not granted)
        settle(agent)


def deploy_bundle(bundle: Path, charm: Path | None = None, model_name: str = DEFAULT_MODEL) -> list[str]:
    """Deploy a Juju bundle: applications of a local charm (a path in the bundle, or the
    charm ``charm`` names) from ``charm`` when given, else from that path (relative to the
    bundle); the others as server applications; then its relations. Returns the relation ids."""
    data = yaml.safe_load(bundle.read_text()) or {}
    applications: dict[str, Json] = data.get("applications") or data.get("services") or {}
    planned = [_planned(app, spec, bundle, charm) for app, spec in applications.items()]
    planned.sort(key=lambda plan: plan[1] is not None)  # servers first
    for app, local, name, options, units, channel in planned:
        if local is not None:
            deploy(local, app, options, units, model_name)
        else:
            deploy_server(name or "", app, options, units, model_name, channel=channel)
    return [relate(_first(pair), _second(pair), model_name) for pair in data.get("relations") or []]


def _planned(
    app: str, spec: Json, bundle: Path, charm: Path | None
) -> tuple[str, Path | None, str | None, Json, int, str]:
    """What deploys bundle application ``app``: its local charm, else its server's name."""
    source = str(spec.get("charm", app))
    local = None
    if source.startswith((".", "/")) or (
        charm is not None and source.removeprefix("ch:") == charm_name(charm)
    ):
        local = charm or (bundle.parent / source)
    name = None if local else server_name(source)
    if local is None and name is None:
        raise SystemExit(f"{app}: no server stands in for charm {source!r}, and --charm does not name it")
    options, units = dict(spec.get("options") or {}), int(spec.get("num_units", 1))
    return app, local, name, options, units, str(spec.get("channel") or "")


def _first(pair: list[Any]) -> str:
    return str(pair[0][0] if isinstance(pair[0], list) else pair[0])


def _second(pair: list[Any]) -> str:
    return str(pair[1][0] if isinstance(pair[1], list) else pair[1])
