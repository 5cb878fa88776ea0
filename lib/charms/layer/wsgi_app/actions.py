"""The charm's actions (see actions.yaml). Each prints only what is safe to show."""

from __future__ import annotations

import os
import sys
import traceback

from charmhelpers.core import hookenv, unitdata

from . import deploy, logs, observability, releases, settings_file, unit
from .commands import CommandFailed, run
from .config import ConfigError
from .environment import app_settings, redact
from .relations import gather_integrations
from .state import WsgiState


def _state() -> WsgiState:
    try:
        return unit.desired_state(gather_integrations())
    except ConfigError as error:
        raise deploy.DeployError(error.summary) from None


def rollback() -> None:
    state = _state()
    outcome = deploy.rollback(state, report=unit.maintenance)
    assert outcome.release is not None
    hookenv.application_version_set(outcome.release.version)
    hookenv.action_set({"release": outcome.release.id, "version": outcome.release.version})
    unit.report_status(state)


def redeploy() -> None:
    state = _state()
    if not unit.converge(state, force_build=True):
        raise deploy.DeployError(unitdata.kv().get(unit.PROBLEM_KEY) or "redeploy failed")
    current = releases.current(state.paths)
    if current is not None:
        hookenv.action_set({"release": current.id, "version": current.version})


def show_settings() -> None:
    settings = redact(app_settings(_state()))
    # action-set keys must be lowercase words; the full listing goes in one value
    hookenv.action_set({"settings": "\n".join(f"{k}={v}" for k, v in settings.items())})


def show_logs() -> None:
    """The last ``lines`` journal lines of the app (gunicorn and its own output), redacted."""
    state = _state()
    try:
        argv = logs.journal_argv(
            observability.syslog_identifier(state), int(hookenv.action_get("lines") or 100)
        )
    except ValueError as error:
        raise deploy.DeployError(str(error)) from None
    try:
        on_disk = settings_file.read(str(state.paths.settings_file))
    except (OSError, ValueError):  # not written yet, or not by this charm: nothing more to hide
        on_disk = {}
    try:
        output = run("journalctl", argv)
    except CommandFailed as error:
        raise deploy.DeployError(f"cannot read the journal: {error.tail(1)}") from None
    secrets = logs.secret_values(app_settings(state), on_disk)
    hookenv.action_set({"output": logs.tail(logs.redact_text(output, secrets))})


def rotate_secret_key() -> None:
    unit.rotate_secret_key()
    unit.converge(_state())
    hookenv.action_set({"result": "SECRET_KEY rotated; every unit reloads with the new key"})


ACTIONS = {
    "rollback": rollback,
    "redeploy": redeploy,
    "show-settings": show_settings,
    "rotate-secret-key": rotate_secret_key,
    "logs": show_logs,
}


def main() -> None:
    name = os.path.basename(sys.argv[0])
    action = ACTIONS.get(name)
    if action is None:
        hookenv.action_fail(f"unknown action {name}")
        return
    try:
        action()
    except deploy.DeployError as error:
        hookenv.log(f"action {name} failed: {error}", level=hookenv.ERROR)
        hookenv.action_fail(str(error))
    except Exception as error:  # an action must report, not crash
        hookenv.log(traceback.format_exc(), level=hookenv.ERROR)
        hookenv.action_fail(f"{name} failed: {error.__class__.__name__}")
    finally:
        unitdata.kv().flush()
