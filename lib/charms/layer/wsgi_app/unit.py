"""The glue between Juju and the pure parts: who this unit is, and the hook's inputs read
once (config, leader settings, relations, the machine, the demo's revision)."""

from __future__ import annotations

import os
import secrets
from dataclasses import replace
from pathlib import Path

from charmhelpers.core import hookenv

from .config import ConfigError
from .errors import DeployError
from .integrations import Integrations
from .leadership import is_leader, leader_set, leader_settings
from .paths import Paths
from .plan import Hook
from .rollout import ROLLING
from .source import demo_revision
from .state import LEADER_UNIT_FIELD, SECRET_KEY_FIELD, WsgiState, build_state, machine_facts


def app_name() -> str:
    return os.environ["JUJU_UNIT_NAME"].split("/", 1)[0]


def paths() -> Paths:
    return Paths.for_app(app_name())


def demo_dir() -> Path:
    return Path(hookenv.charm_dir()) / "files" / "demo"


def log(message: str, level: str = hookenv.INFO) -> None:
    hookenv.log(message, level=level)


def quiet_tracer() -> None:
    """charms.reactive traces every hook's flags and handlers to the Juju log (three
    ``juju-log`` calls a hook); keep that for ``log_level=debug``."""
    from charms.reactive.trace import NullTracer, install_tracer

    if str(hookenv.config().get("log_level") or "").lower() != "debug":
        install_tracer(NullTracer())


def hook(name: str, requested: bool = False) -> Hook:
    """The running hook (or action) ``name`` and what this unit knows of itself in it."""
    return Hook(
        name=name, leader=is_leader(), demo_commit=demo_revision(demo_dir()).commit, requested=requested
    )


def desired_state(integrations: Integrations | None = None) -> WsgiState:
    """The state the hook's inputs ask for; raises ConfigError."""
    return build_state(
        app_name(),
        dict(hookenv.config()),
        leader_settings(),
        machine_facts(),
        integrations,
        unit_name=os.environ["JUJU_UNIT_NAME"],
        leader=is_leader(),
    )


def read_state() -> WsgiState | ConfigError:
    """The desired state from every input of the hook, read once, or why the config is invalid."""
    from .relations import gather_integrations, read_peers

    try:
        state = desired_state(gather_integrations())
    except ConfigError as error:
        return error
    if state.config.rollout != ROLLING:  # the peers' reports are read for rolling releases only
        return state
    return replace(state, peers=read_peers(leader_settings().get(LEADER_UNIT_FIELD, "")))


def ensure_secret_key() -> None:
    """The leader generates SECRET_KEY once and shares it with every unit."""
    if not is_leader() or leader_settings().get(SECRET_KEY_FIELD):
        return
    if leader_set({SECRET_KEY_FIELD: secrets.token_urlsafe(50)}):
        log("generated the application's SECRET_KEY and shared it through leader settings")


def announce_leader() -> None:
    """A unit that has just become the leader says so in leader settings: Juju runs no hook
    on the unit that led before, but the change runs leader-settings-changed there, and it
    stops what runs on the leader only: the leader-only process types (see :mod:`.processes`)
    and the scheduled jobs' timers (see :mod:`.timers`)."""
    me = os.environ["JUJU_UNIT_NAME"]
    if is_leader() and leader_settings().get(LEADER_UNIT_FIELD) != me and leader_set({LEADER_UNIT_FIELD: me}):
        log(f"{me} leads: the leader-only process types and the scheduled jobs run here")


def rotate_secret_key() -> None:
    if not leader_set({SECRET_KEY_FIELD: secrets.token_urlsafe(50)}):
        raise DeployError("only the leader can rotate SECRET_KEY")
    log("rotated SECRET_KEY")
