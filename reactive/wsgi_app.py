"""Reactive handlers of the wsgi-app layer: thin entry points, each one line of intent.

Flags:
  wsgi-app.installed  the machine has the app user, directories and base packages
  wsgi-app.changed    config, leader or relation data changed since the last apply
  wsgi-app.serving    the last apply succeeded and the app answered its health check
Every hook runs one handler, reconcile: it publishes our side of the relations, then
charms.layer.wsgi_app.reconcile reads every input once, decides, applies only what
changed (restarting only when the settings changed) and sets the status; proxies get
the unit's address once it serves fully wired. So relation
joined, changed, departed and broken, upgrade-charm, and the secret hooks (secret-changed
reads the secret again, see unit.desired_state) need no handler of their own; secret-remove
has one (the leader removes the revision of SECRET_KEY no unit tracks).
A charm that includes this layer may set wsgi-app.changed to have the unit apply again.
The interface layers (interfaces/) consume the automatic endpoint.<endpoint>.* flags.
"""

from charmhelpers.core import hookenv

from charms.layer.wsgi_app import reconcile as unit_reconcile
from charms.layer.wsgi_app import relations, unit
from charms.layer.wsgi_app.plan import Outcome
from charms.reactive import clear_flag, hook, is_flag_set, set_flag, toggle_flag, when, when_not

hookenv.atstart(unit.quiet_tracer)  # after charms.reactive's own tracer: runs once discovery is done


@when_not("wsgi-app.installed")
def install():
    if unit_reconcile.install():
        set_flag("wsgi-app.installed")


@when("wsgi-app.installed")
def reconcile():
    """The hook's one step, as one handler (each handler run is a juju-log call)."""
    relations.publish()  # each endpoint writes only to joined relations, and only what changed
    unit.ensure_secret_key()
    unit.announce_leader()  # the unit that led stops its leader-only processes and timers
    requested = is_flag_set("wsgi-app.changed")
    settle(unit_reconcile.run(unit.hook(hookenv.hook_name(), requested)).outcome)


@when("wsgi-app.installed", "wsgi-app.changed")
def apply_requested():
    """A charm that includes this layer set wsgi-app.changed after this hook's reconcile."""
    settle(unit_reconcile.run(unit.hook(hookenv.hook_name(), requested=True)).outcome)


def settle(outcome: Outcome) -> None:
    """What the hook decided, told: proxies learn the unit's address once it is ready, and
    wsgi-app.serving says whether the unit serves what was asked."""
    relations.publish_website(outcome.ready)
    clear_flag("wsgi-app.changed")
    if outcome.serving is not None:
        toggle_flag("wsgi-app.serving", outcome.serving)


@hook("secret-remove")
def remove_secret_revision():
    """No unit tracks a revision of a secret we own any more (SECRET_KEY's): remove it."""
    unit.remove_secret_revision()


@hook("stop")
def stop():
    if is_flag_set("wsgi-app.installed"):  # else the units of the name are not the charm's
        unit_reconcile.stop()
