"""The charm's actions (see actions.yaml). Each prints only what is safe to show."""

from __future__ import annotations

import os
import sys
import traceback

from charmhelpers.core import hookenv, unitdata

from . import logs, memory, observability, oneoff, reconcile, releases, settings_file, timers, unit
from .commands import CommandFailed, run
from .config import ConfigError
from .environment import app_settings, redact
from .errors import DeployError
from .ownership import TreeError
from .processes import WEB, is_process_type, journal_identifier
from .schedules import ScheduleError
from .state import WsgiState


def _state() -> WsgiState:
    state = unit.read_state()
    if isinstance(state, ConfigError):
        raise DeployError(state.summary)
    return state


def _reconciled(action: str) -> reconcile.Result:
    """The reconcile every hook runs, for ``action``; raises DeployError when it failed."""
    result = reconcile.run(unit.hook(action))
    if result.outcome.failed:
        raise DeployError(result.outcome.failed)
    return result


def _show_release(result: reconcile.Result) -> None:
    release = result.outcome.release
    if release is not None:
        hookenv.action_set({"release": release.id, "version": release.version})


def rollback() -> None:
    _show_release(_reconciled("rollback"))


def redeploy() -> None:
    _show_release(_reconciled("redeploy"))


def show_settings() -> None:
    settings = redact(app_settings(_state()))
    # action-set keys must be lowercase words; the full listing goes in one value
    hookenv.action_set({"settings": "\n".join(f"{k}={v}" for k, v in settings.items())})


def show_logs() -> None:
    """The last ``lines`` journal lines of the app (gunicorn and its own output) or of one
    of its process types (``process``), redacted."""
    state = _state()
    try:
        identifier = _log_identifier(state, str(hookenv.action_get("process") or WEB))
        argv = logs.journal_argv(identifier, int(hookenv.action_get("lines") or 100))
    except ValueError as error:
        raise DeployError(str(error)) from None
    try:
        output = run("journalctl", argv)
    except CommandFailed as error:
        raise DeployError(f"cannot read the journal: {error.tail(1)}") from None
    hookenv.action_set({"output": logs.tail(logs.redact_text(output, _secrets(state)))})


def _secrets(state: WsgiState) -> list[str]:
    """Every secret value the app holds or held: as the charm computes its settings, and as
    the settings file on disk has them (a value this charm would not write, a rotated key)."""
    try:
        on_disk = settings_file.read(str(state.paths.settings_file), strict=False)
    except (OSError, UnicodeDecodeError):  # not written yet, or not text: nothing more to hide
        on_disk = {}
    return logs.secret_values(app_settings(state), on_disk)


def _log_identifier(state: WsgiState, process: str) -> str:
    """The journal identifier of ``process``: ``web``, a process type the serving release
    declares, or a scheduled job (``cron-<name>``, see :attr:`.schedules.Job.log_name`);
    raises ``ValueError`` for anything else (never another unit's logs)."""
    if process == WEB:
        return observability.syslog_identifier(state)
    try:
        serving = releases.current(state.paths)
    except TreeError:
        serving = None
    declared = [name for name, _ in serving.processes if is_process_type(name)] if serving else []
    declared += _job_names(state, serving)
    if process not in declared:
        known = ", ".join([WEB, *declared])
        raise ValueError(f"process {process[:63]!r} is not one of this release's: {known}")
    return journal_identifier(state.app_name, process)


def _job_names(state: WsgiState, serving: releases.Release | None) -> list[str]:
    """The scheduled jobs' names the logs action takes (none while they are invalid: the
    status says why)."""
    try:
        return [job.log_name for job in timers.planned(state, serving)]
    except ScheduleError:
        return []


def run_command() -> None:
    """The ``run`` action: ``command`` in the serving release, as the app runs (see
    :mod:`.oneoff`); fails, with the output, when it exits non-zero or times out."""
    command, timeout = oneoff.checked(hookenv.action_get("command"), hookenv.action_get("timeout"))
    state = _state()
    ran = oneoff.run(state, command, timeout, _secrets(state))
    hookenv.action_set({"exit-code": str(ran.exit_code), "output": ran.output})
    failure = oneoff.failure(ran, timeout)
    if failure:
        raise DeployError(failure)


def rotate_secret_key() -> None:
    unit.rotate_secret_key()
    reconcile.run(unit.hook("rotate-secret-key"))
    hookenv.action_set({"result": "SECRET_KEY rotated; every unit reloads with the new key"})


ACTIONS = {
    "rollback": rollback,
    "redeploy": redeploy,
    "show-settings": show_settings,
    "rotate-secret-key": rotate_secret_key,
    "logs": show_logs,
    "run": run_command,
}


def main() -> None:
    name = os.path.basename(sys.argv[0])
    action = ACTIONS.get(name)
    if action is None:
        hookenv.action_fail(f"unknown action {name}")
        return
    try:
        action()
    except DeployError as error:
        hookenv.log(f"action {name} failed: {error}", level=hookenv.ERROR)
        hookenv.action_fail(str(error))
    except Exception as error:  # an action must report, not crash
        hookenv.log(traceback.format_exc(), level=hookenv.ERROR)
        hookenv.action_fail(f"{name} failed: {error.__class__.__name__}")
    finally:
        memory.commit()  # an action ends as a hook that succeeded: it reported what failed
        unitdata.kv().flush()
