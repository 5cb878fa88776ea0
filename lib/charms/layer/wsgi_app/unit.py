"""The glue between Juju and the pure parts: read the hook's inputs, call the apply step,
report the outcome. The reactive handlers and the actions call only these functions.
"""

from __future__ import annotations

import json
import os
import secrets
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from charmhelpers.core import hookenv, unitdata

from . import backends, deploy, releases
from .config import ConfigError
from .integrations import Integrations
from .leadership import is_leader, leader_set, leader_settings
from .ownership import TreeError
from .paths import Paths
from .service import Service
from .source import demo_revision
from .state import RELEASED_FIELD, SECRET_KEY_FIELD, SOURCE_FIELD, WsgiState, build_state, machine_facts
from .status import Status, unit_status

SOURCE_KEY = "wsgi-app.source"  # the source inputs of the last deploy attempt
PROBLEM_KEY = "wsgi-app.problem"  # why the unit is blocked, kept across hooks
PORT_KEY = "wsgi-app.port"
METRICS_PORT_KEY = "wsgi-app.metrics-port"
TRANSIENT_KEY = "wsgi-app.transient"  # the last problem may pass by itself (fetch failed)
WAITING_KEY = "wsgi-app.waiting"  # what the unit waits for before it can switch releases


def app_name() -> str:
    return os.environ["JUJU_UNIT_NAME"].split("/", 1)[0]


def paths() -> Paths:
    return Paths.for_app(app_name())


def demo_dir() -> Path:
    return Path(hookenv.charm_dir()) / "files" / "demo"


def log(message: str, level: str = hookenv.INFO) -> None:
    hookenv.log(message, level=level)


def status_record() -> Path:
    """Where the status this charm set last is kept: a file beside the charm, written as
    soon as the status is set (unit data is dropped with a failed hook; the status is not)."""
    return Path(hookenv.charm_dir()).parent / ".wsgi-app-status.json"


def set_status(status: Status) -> None:
    """Set the workload status, unless it is already what this charm last set (a hook-tool
    call saved on every idle hook)."""
    shown = json.dumps([status.workload, status.message])
    record = status_record()
    try:
        if record.read_text() == shown:
            return
    except OSError:
        pass
    hookenv.status_set(status.workload, status.message)
    try:
        record.write_text(shown)
    except OSError:
        record.unlink(missing_ok=True)  # set it again next time


def maintenance(message: str) -> None:
    log(message)
    set_status(Status("maintenance", message))


def quiet_tracer() -> None:
    """charms.reactive traces every hook's flags and handlers to the Juju log (three
    ``juju-log`` calls a hook); keep that for ``log_level=debug``."""
    from charms.reactive.trace import NullTracer, install_tracer

    if str(hookenv.config().get("log_level") or "").lower() != "debug":
        install_tracer(NullTracer())


def install() -> bool:
    """Prepare the machine for the application; False (blocked) when its name is the
    machine's own (nothing was touched then)."""
    maintenance("preparing the machine")
    try:
        deploy.prepare(paths())
    except deploy.NameTaken as error:
        log(str(error), level=hookenv.ERROR)
        set_status(Status("blocked", str(error)))
        return False
    return True


def ensure_secret_key() -> None:
    """The leader generates SECRET_KEY once and shares it with every unit."""
    if not is_leader() or leader_settings().get(SECRET_KEY_FIELD):
        return
    if leader_set({SECRET_KEY_FIELD: secrets.token_urlsafe(50)}):
        log("generated the application's SECRET_KEY and shared it through leader settings")


def rotate_secret_key() -> None:
    if not leader_set({SECRET_KEY_FIELD: secrets.token_urlsafe(50)}):
        raise deploy.DeployError("only the leader can rotate SECRET_KEY")
    log("rotated SECRET_KEY")


def desired_state(integrations: Integrations | None = None) -> WsgiState:
    """The state the hook's inputs ask for; raises ConfigError."""
    return build_state(
        app_name(),
        dict(hookenv.config()),
        leader_settings(),
        machine_facts(),
        integrations,
        unit_name=os.environ["JUJU_UNIT_NAME"],
    )


def fingerprint(state: WsgiState) -> dict[str, Any]:
    """Everything whose change must reach the application (compared with data_changed).

    On the leader, what it published itself for the other units (the commit it resolved,
    the release whose release_command it ran) is not a change: counting it would make
    the next hook (update-status, which retries with a new fetch) follow a moving branch.
    """
    if is_leader():
        state = replace(state, agreed_source="", released="")
    return {"state": repr(state), "demo": demo_revision(demo_dir()).commit}


def source_key(state: WsgiState, leader: bool) -> dict[str, Any]:
    """What a new fetch and build depend on: the source config and, on the other units,
    the commit the leader published."""
    inputs = deploy.source_inputs(state, demo_revision(demo_dir()).commit)
    return {**inputs, "agreed": "" if leader else state.agreed_source}


def needs_build(state: WsgiState) -> bool:
    return bool(unitdata.kv().get(SOURCE_KEY) != source_key(state, is_leader()))


def _publish_source(agreed: str) -> None:
    if leader_set({SOURCE_FIELD: agreed}):
        log(f"every unit deploys commit {agreed.partition(':')[2][:7]} (published as leader)")


def converge(state: WsgiState, force_build: bool = False) -> bool:
    """Deploy or update to ``state``; set the status. False when the unit is blocked."""
    kv = unitdata.kv()
    leader = is_leader()
    inputs = source_key(state, leader)
    build = force_build or kv.get(SOURCE_KEY) != inputs
    if state.secret_key is None:
        set_status(Status("waiting", "waiting for the leader to share SECRET_KEY"))
        return False
    publish = _publish_source if leader else None
    try:
        outcome = deploy.reconcile(
            state, demo_dir=demo_dir(), publish=publish, build=build, report=maintenance
        )
    except deploy.WaitingForLeader as error:  # fetched again once the leader says it is done
        log(str(error))
        kv.unset(SOURCE_KEY)
        kv.set(TRANSIENT_KEY, True)
        kv.set(WAITING_KEY, str(error).removeprefix("waiting for "))
        kv.unset(PROBLEM_KEY)
        report_status(state)
        return False
    except deploy.DeployError as error:
        kv.set(SOURCE_KEY, inputs)
        kv.set(TRANSIENT_KEY, isinstance(error, deploy.RetryableError))
        return _blocked(str(error), state)
    except Exception as error:  # a bug or a machine fault: keep serving, say so, retry later
        log(traceback.format_exc(), level=hookenv.ERROR)
        kv.set(SOURCE_KEY, inputs)
        kv.set(TRANSIENT_KEY, True)
        return _blocked(f"deploy failed unexpectedly ({type(error).__name__}); see juju debug-log", state)
    kv.set(SOURCE_KEY, inputs)
    kv.set(TRANSIENT_KEY, False)
    kv.unset(WAITING_KEY)
    _open_port(state.config.port)
    _open_port(state.config.metrics_port, METRICS_PORT_KEY)
    if leader and outcome.release is not None:
        _publish_released(state, outcome.release.spec)
    if outcome.release is not None:
        hookenv.application_version_set(outcome.release.version)
    if outcome.deployed:
        log(f"deployed release {outcome.release.id if outcome.release else '?'}")
    if outcome.action.value != "none":
        log(f"gunicorn: {outcome.action.value}")
    if outcome.problem:
        return _blocked(outcome.problem, state)
    kv.unset(PROBLEM_KEY)
    report_status(state)
    return True


def _publish_released(state: WsgiState, spec: str) -> None:
    """The leader tells the other units which release they may switch to."""
    if state.config.release_command and state.released != spec and leader_set({RELEASED_FIELD: spec}):
        log(f"release {spec} is ready for every unit (release_command ran)")


def last_problem_is_transient() -> bool:
    return bool(unitdata.kv().get(TRANSIENT_KEY))


def _blocked(problem: str, state: WsgiState | None) -> bool:
    log(problem, level=hookenv.ERROR)
    unitdata.kv().set(PROBLEM_KEY, problem)
    port = state.config.port if state else 0
    set_status(unit_status(release=_serving(), port=port, problem=problem))
    return False


def config_problem(error: ConfigError) -> None:
    for option, message in error.problems:
        log(f"config {option}: {message}", level=hookenv.ERROR)
    _blocked(error.summary, None)


def report_status(state: WsgiState | None) -> None:
    """Status from what is on the machine now (cheap: no fetch, no restart)."""
    problem = unitdata.kv().get(PROBLEM_KEY) or ""
    current = _serving()
    port = state.config.port if state else int(unitdata.kv().get(PORT_KEY) or 0)
    waiting_for: tuple[str, ...] = ()
    if state is not None:
        waiting_for = state.integrations.waiting_for + backends.unreachable(state.integrations)
        if on_leader := unitdata.kv().get(WAITING_KEY):
            waiting_for += (str(on_leader),)
    waiting = "waiting for " + ", ".join(waiting_for) if waiting_for else ""
    active = Service(paths()).serving() if current else True
    set_status(
        unit_status(release=current, port=port, problem=problem, waiting=waiting, service_active=active)
    )


def _serving() -> releases.Release | None:
    """The release ``current`` names, for the status; ``None`` when that link is broken
    (the problem then says so)."""
    try:
        return releases.current(paths())
    except TreeError:
        return None


def _open_port(port: int, key: str = PORT_KEY) -> None:
    """Open ``port`` (0: none), closing the one opened before under ``key``."""
    kv = unitdata.kv()
    previous = kv.get(key)
    if previous and int(previous) != port:
        hookenv.close_port(int(previous))
    if port:
        hookenv.open_port(port)
    kv.set(key, port)


def stop() -> None:
    """The unit is going away: stop serving and remove the units (data stays)."""
    Service(paths()).remove()
