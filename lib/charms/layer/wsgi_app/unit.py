"""The glue between Juju and the pure parts: who this unit is, and the hook's inputs read
once (config, leader settings, relations, the machine, the demo's revision)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from charmhelpers.core import hookenv

from . import juju_secrets, secret_key
from .config import ConfigError
from .integrations import Integrations
from .leadership import is_leader, leader_set, leader_settings
from .paths import Paths
from .plan import Hook
from .rollout import ROLLING
from .source import demo_revision
from .state import LEADER_UNIT_FIELD, SECRET_KEY_URI_FIELD, WsgiState, build_state, machine_facts


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
    settings, leader = leader_settings(), is_leader()
    uri = settings.get(SECRET_KEY_URI_FIELD, "")
    try:
        return build_state(
            app_name(),
            dict(hookenv.config()),
            settings,
            machine_facts(),
            integrations,
            unit_name=os.environ["JUJU_UNIT_NAME"],
            leader=leader,
            secret_key=secret_key.current(settings, fresh=_read_again(uri)),
            read_secret=lambda named: _user_secret(named, uri),
        )
    finally:
        _forget_unnamed(uri)


def _user_secret(named: str, secret_key_uri: str) -> dict[str, str]:
    """The content of the user secret an option names; ValueError for the charm's own
    SECRET_KEY secret (never a setting, and its cache entry is SECRET_KEY's)."""
    if juju_secrets.same(named, secret_key_uri):
        raise ValueError("it is the charm's own SECRET_KEY secret")
    return juju_secrets.read(named, fresh=_read_again(named))


def _read_again(uri: str) -> bool:
    """Whether the secret ``uri`` is read again rather than taken from what this unit read:
    in its own ``secret-changed``, and once after an upgrade of the charm."""
    return hookenv.hook_name() == "upgrade-charm" or juju_secrets.same(
        uri, juju_secrets.changed_in_this_hook()
    )


def _forget_unnamed(secret_key_uri: str) -> None:
    """Drop what this unit read of a user secret the config no longer names."""
    from .secret_options import named_uris

    try:
        named = named_uris(dict(hookenv.config()))
    except ValueError:
        return
    juju_secrets.forget_others({secret_key_uri, *named} - {""})


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
    """The leader makes sure SECRET_KEY exists in its secret, shared with every unit (see
    :mod:`.secret_key`)."""
    if is_leader():
        secret_key.ensure(leader_settings(), hookenv.hook_name())


def remove_secret_revision() -> None:
    """``secret-remove``: the leader removes the revision of SECRET_KEY no unit tracks."""
    if is_leader():
        secret_id, revision = os.environ.get("JUJU_SECRET_ID", ""), os.environ.get("JUJU_SECRET_REVISION", "")
        secret_key.remove_untracked(leader_settings(), secret_id, revision)


def announce_leader() -> None:
    """A unit that has just become the leader says so in leader settings: Juju runs no hook
    on the unit that led before, but the change runs leader-settings-changed there, and it
    stops what runs on the leader only: the leader-only process types (see :mod:`.processes`)
    and the scheduled jobs' timers (see :mod:`.timers`)."""
    me = os.environ["JUJU_UNIT_NAME"]
    if is_leader() and leader_settings().get(LEADER_UNIT_FIELD) != me and leader_set({LEADER_UNIT_FIELD: me}):
        log(f"{me} leads: the leader-only process types and the scheduled jobs run here")


def rotate_secret_key() -> None:
    """A new SECRET_KEY for every unit; raises DeployError (not the leader...)."""
    secret_key.rotate(leader_settings())
    log("rotated SECRET_KEY")
