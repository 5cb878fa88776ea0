"""Reactive handlers of the wsgi-app layer: thin, each one line of intent.

Flags:
  wsgi-app.installed  the machine has the app user, directories and base packages
  wsgi-app.changed    config, leader or relation data changed since the last apply
  wsgi-app.serving    the last apply succeeded and the app answered its health check
Relation hooks need no handler of their own: notice_changes runs in every hook and
re-reads every relation, so joined, changed, departed and broken all converge (and
restart only when the settings changed). The interface layers (interfaces/) set
<endpoint>.connected and consume the automatic endpoint.<endpoint>.changed/departed flags.
The work itself is in charms.layer.wsgi_app (unit -> state -> render -> deploy).
"""

from charmhelpers.core import hookenv

from charms.layer.wsgi_app import relations, unit
from charms.layer.wsgi_app.config import ConfigError
from charms.layer.wsgi_app.relations import gather_integrations
from charms.reactive import clear_flag, data_changed, hook, is_flag_set, set_flag, when, when_any, when_not

hookenv.atstart(unit.quiet_tracer)  # after charms.reactive's own tracer: runs once discovery is done


@when_not("wsgi-app.installed")
def install():
    if unit.install():
        set_flag("wsgi-app.installed")


@when("wsgi-app.installed")
@when_any(
    "endpoint.db.joined",
    "endpoint.database.joined",
    "endpoint.website.joined",
    "endpoint.logging.joined",
    "endpoint.metrics-endpoint.joined",
)
def publish_relation_data():
    relations.publish()


@when("wsgi-app.installed")
def notice_changes():
    unit.ensure_secret_key()
    try:
        state = unit.desired_state(gather_integrations())
    except ConfigError as error:
        clear_flag("wsgi-app.changed")
        data_changed("wsgi-app.desired", None)
        unit.config_problem(error)
        return
    if (
        data_changed("wsgi-app.desired", unit.fingerprint(state))
        or unit.needs_build(state)
        or (hookenv.hook_name() == "update-status" and unit.last_problem_is_transient())
    ):
        set_flag("wsgi-app.changed")


@when("wsgi-app.installed", "wsgi-app.changed")
def apply_changes():
    clear_flag("wsgi-app.changed")
    state = unit.desired_state(gather_integrations())
    retry = hookenv.hook_name() == "update-status"
    if unit.converge(state, force_build=retry):  # a transient failure: update-status retries it
        set_flag("wsgi-app.serving")
    else:
        clear_flag("wsgi-app.serving")


@when("wsgi-app.installed")
@when_not("wsgi-app.changed")
def report_status():
    try:
        state = unit.desired_state(gather_integrations())
    except ConfigError:
        return
    unit.report_status(state)


@hook("upgrade-charm")
def upgrade():
    # the demo app or the templates may have changed with the charm
    data_changed("wsgi-app.desired", None)


@hook("stop")
def stop():
    if is_flag_set("wsgi-app.installed"):  # else the units of the name are not the charm's
        unit.stop()
