"""Reactive handlers of the wsgi-app layer: thin, each one line of intent.

Flags:
  wsgi-app.installed  the machine has the app user, directories and base packages
  wsgi-app.changed    config, leader or relation data changed since the last apply
  wsgi-app.serving    the last apply succeeded and the app answered its health check
Every hook runs one handler, reconcile: it publishes our side of the relations, reads
every input once, and applies only what changed (restarting only when the settings
changed), so relation joined, changed, departed and broken need no handler of their own.
A charm that includes this layer may set wsgi-app.changed to have the unit apply again.
The interface layers (interfaces/) set <endpoint>.connected and consume the automatic
endpoint.<endpoint>.changed/departed flags.
The work itself is in charms.layer.wsgi_app (unit -> state -> render -> deploy).
"""

from charmhelpers.core import hookenv

from charms.layer.wsgi_app import relations, unit
from charms.layer.wsgi_app.config import ConfigError
from charms.layer.wsgi_app.relations import gather_integrations
from charms.reactive import clear_flag, data_changed, hook, is_flag_set, set_flag, when, when_not

hookenv.atstart(unit.quiet_tracer)  # after charms.reactive's own tracer: runs once discovery is done


@when_not("wsgi-app.installed")
def install():
    if unit.install():
        set_flag("wsgi-app.installed")


@when("wsgi-app.installed")
def reconcile():
    """The hook's one step: publish our side of the relations (each endpoint writes only to
    joined relations, and only what changed), read the inputs once, apply what changed (or
    only report), as one handler (each handler run is a juju-log call)."""
    relations.publish()
    unit.ensure_secret_key()
    state = desired_or_blocked()
    if state is None:
        return
    retry = hookenv.hook_name() == "update-status"
    if (
        data_changed("wsgi-app.desired", unit.fingerprint(state))
        or unit.needs_build(state)
        or (retry and unit.last_problem_is_transient())
        or is_flag_set("wsgi-app.changed")
    ):
        apply(state, force_build=retry)
    else:
        unit.report_status(state)


@when("wsgi-app.installed", "wsgi-app.changed")
def apply_requested():
    """A charm that includes this layer set wsgi-app.changed after this hook's reconcile."""
    state = desired_or_blocked()
    if state is not None:
        apply(state, force_build=False)


def desired_or_blocked() -> unit.WsgiState | None:
    """The state the inputs ask for, or ``None`` once a config problem is reported (blocked;
    the next valid config applies in full)."""
    try:
        return unit.desired_state(gather_integrations())
    except ConfigError as error:
        clear_flag("wsgi-app.changed")
        data_changed("wsgi-app.desired", None)
        unit.config_problem(error)
        return None


def apply(state: unit.WsgiState, force_build: bool) -> None:
    """Converge to ``state``; wsgi-app.serving says whether the unit serves it."""
    clear_flag("wsgi-app.changed")
    if unit.converge(state, force_build=force_build):  # a transient failure: update-status retries it
        set_flag("wsgi-app.serving")
    else:
        clear_flag("wsgi-app.serving")


@hook("upgrade-charm")
def upgrade():
    # the demo app or the templates may have changed with the charm
    data_changed("wsgi-app.desired", None)


@hook("stop")
def stop():
    if is_flag_set("wsgi-app.installed"):  # else the units of the name are not the charm's
        unit.stop()
