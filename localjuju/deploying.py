"""Applications come and go: deploying a charm or a server (rolled back when a deploy
fails), adding and removing units, upgrading a charm."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from . import bases, network, servers
from .agent import Agent, remove_machine
from .charm_files import read_charm_file
from .configuring import typed
from .destroying import forget_if_empty
from .model import DEFAULT_MODEL, Json, Model, open_model
from .progress import step
from .settling import interruptible, say, settle, uninterruptible
from .subordinates import refuse_unit_verbs
from .units import add_charm_unit, add_server_unit, app_base, is_server, wheelhouse


def application(kind: str, charm: str, options: Json, config: Json, endpoints: Json) -> Json:
    """A new application's record in the model: no leader, status or version yet."""
    return {
        "kind": kind,
        "charm": charm,
        "options": options,
        "config": config,
        "leader": None,
        "leader_data": {},
        "status": {},
        "version": "",
        "endpoints": endpoints,
    }


def deploy(
    charm: Path,
    app: str = "",
    config: Json | None = None,
    units: int = 1,
    model_name: str = DEFAULT_MODEL,
    isolated: bool = False,
    wheels: list[str] | None = None,
    base: bases.Base = bases.DEFAULT,
) -> None:
    """Deploy ``charm`` on machines of ``base``; ``isolated`` puts them on the model's own
    network. ``wheels`` (requirement lines) become its machines' only package index (built
    for the base's Python), also without ``isolated``; an isolated machine without them has
    an empty one."""
    charm = charm.resolve()
    metadata = read_charm_file(charm, "metadata.yaml") or {}
    options = (read_charm_file(charm, "config.yaml") or {}).get("options", {})
    app = app or metadata["name"]
    for key, value in (config or {}).items():  # a secret option takes a secret's URI only
        if options.get(key, {}).get("type") == "secret":
            typed(value, "secret")
    with deploying(model_name, app) as model:
        endpoints = {role: dict(metadata.get(role) or {}) for role in ("provides", "requires", "peers")}
        model.applications[app] = application("charm", str(charm), options, dict(config or {}), endpoints)
        model.applications[app].update(isolated=isolated, base=base.name)
        if metadata.get("subordinate"):  # its units come with its principals' (none now)
            model.applications[app]["subordinate"] = True
            units = 0
        with rolled_back(model, app):
            if isolated or wheels:
                model.applications[app]["wheels"] = list(wheels or [])
                wheelhouse(model, app)
            for _ in range(units):
                add_charm_unit(model, app, charm)
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


def wheel_requirements(files: list[Path], requirements: list[str]) -> list[str]:
    """What an offline machine's wheelhouse holds: ``requirements`` (requirement lines) and
    the lines of the requirements ``files``, comments and blank lines left out."""
    texts = [path.read_text() for path in files]
    lines = [line.split("#", 1)[0].strip() for text in texts for line in text.splitlines()]
    return [line for line in (text.strip() for text in [*requirements, *lines]) if line]


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


def _destroy_app(model: Model, app: str) -> None:
    if is_server(model, app):
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
            key: typed(value, kind.options.get(key, {}).get("type", "string"))
            for key, value in (config or {}).items()
        }
        kind_name = f"server:{name}"
        model.applications[app] = application(kind_name, kind_name, kind.options, values, endpoints)
        model.applications[app].update(isolated=isolated, channel=channel)
        with rolled_back(model, app):
            for _ in range(units):
                add_server_unit(model, app)
            with step(f"starting {app} ({kind.description})"):
                settle(Agent(model, say))


def add_unit(app: str, model_name: str = DEFAULT_MODEL, base: bases.Base | None = None) -> str:
    """Add a unit to ``app`` (a machine of its base for a charm, the host for a server) and
    run its hooks; returns its name. A ``base`` other than the application's is refused:
    every unit of an application has its base, as in Juju."""
    with open_model(model_name) as model, interruptible():
        if app not in model.applications:
            raise SystemExit(f'application "{app}" not found')
        refuse_other_base(model, app, base)
        refuse_unit_verbs(model, app, "add")
        if is_server(model, app):
            unit = add_server_unit(model, app)
        else:
            unit = add_charm_unit(model, app, Path(model.applications[app]["charm"]))
        with step(f"running the hooks of {unit}"):
            settle(Agent(model, say))
        return unit


def refuse_other_base(model: Model, app: str, base: bases.Base | None) -> None:
    """SystemExit when ``base`` is given and is not ``app``'s (a server's units run on the host)."""
    if base is None:
        return
    if is_server(model, app):
        raise SystemExit(f"{app} is a server on the host: --base takes charm applications")
    if base != app_base(model, app):
        raise SystemExit(
            f"cannot add a unit of base {base.name} to {app}: its units have base "
            f"{app_base(model, app).name} (a unit has its application's base)"
        )


def remove_unit(unit: str, model_name: str = DEFAULT_MODEL) -> None:
    """Remove a unit as Juju does: its relations depart and break, it stops, its machine goes."""
    with open_model(model_name) as model, interruptible():
        if unit not in model.units:
            raise SystemExit(f'unit "{unit}" not found')
        if is_server(model, model.units[unit]["app"]):
            raise SystemExit(f"{unit} is a server unit: remove-unit takes charm units")
        refuse_unit_verbs(model, model.units[unit]["app"], "remove")
        agent = Agent(model, say)
        agent.remove_unit(unit)
        with step(f"removing {unit}"):
            settle(agent)


def upgrade(app: str, path: Path | None = None, model_name: str = DEFAULT_MODEL) -> None:
    """Install a new build of ``app``'s charm (``path``, default: the one it has) on every
    unit; upgrade-charm and config-changed run."""
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
