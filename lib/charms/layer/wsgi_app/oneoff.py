"""The ``run`` action: one command, run once, where and as the application runs.

The command runs in the serving release's directory (``releases/<id>/app``) with its
virtualenv's ``bin`` first on ``PATH`` (console scripts by name: ``flask``, ``alembic``,
``python manage.py``), the application's settings and the release's own (the environment
the service gets, :func:`.build.app_env`), as the application user, by ``/bin/bash`` as
the Procfile's process types are (pipes, ``&&``, ``$VARS`` work), which reads it from its
environment, not from its command line (:data:`RUNNER`). It is confined as
the release command is (:mod:`.confined`: a transient systemd unit with the service's
sandbox and limits, writing only to the data directory), its settings in a root-only
``EnvironmentFile``, never on a command line. When it ends or its ``timeout`` is up,
systemd stops the unit and everything the command started.

Its output (stdout and stderr together) is returned bounded and with every secret the
application holds redacted (:mod:`.logs`).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from . import logs, releases
from .build import app_env
from .confined import Finished, Sandbox
from .environment import app_settings
from .errors import DeployError
from .ownership import TreeError
from .state import WsgiState
from .validate import shell_command

SHELL = "/bin/bash"  # as the Procfile's process types run (render.render_process_unit)
# The command reaches bash in its environment (the root-only EnvironmentFile), base64 for
# the file's format holds no newline, and never in an argument: a command may carry a
# password (DJANGO_SUPERUSER_PASSWORD=... manage.py createsuperuser --noinput), and
# systemd-run's command line and bash's are in every local user's process listing and in
# the unit's properties. What the command starts does not inherit the variable.
COMMAND_VARIABLE = "WSGI_APP_RUN_COMMAND"
RUNNER = (
    f'wsgi_app_run=$(printf %s "${COMMAND_VARIABLE}" | base64 -d) || exit 127; '
    f'unset {COMMAND_VARIABLE}; eval "$wsgi_app_run"'
)
DEFAULT_TIMEOUT = 300
MAX_TIMEOUT = 3600
MAX_COMMAND = 8192  # characters: a command line, not a script
_DIGITS = 10  # the unit's number: digits only, which no application name's part is


@dataclass(frozen=True)
class Ran:
    """What the command did, fit to show: its exit code and its redacted output."""

    exit_code: int
    output: str
    timed_out: bool


def checked(command: object, timeout: object) -> tuple[str, int]:
    """The command and timeout the action was given, or :class:`DeployError` saying what
    is wrong with them (Juju checks the schema; a charm run by other tools may not)."""
    try:
        text = shell_command(command)
    except ValueError as error:
        raise DeployError(f"command: {error}") from None
    if not text:
        raise DeployError("command is empty: give the command to run (command=...)")
    if len(text) > MAX_COMMAND:
        raise DeployError(f"command is longer than {MAX_COMMAND} characters")
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= MAX_TIMEOUT:
        raise DeployError(f"timeout must be a whole number of seconds, 1-{MAX_TIMEOUT}")
    return text, timeout


def unit_name(app_name: str, number: int) -> str:
    """The transient unit of one run: ``<app>-run-<10 digits>.service``."""
    return f"{app_name}-run-{number:0{_DIGITS}d}.service"


def leftovers_pattern(app_name: str) -> str:
    """The glob of :func:`unit_name`'s units only: not a process type's (``<app>-run-x@1``),
    nor any unit of another application (whose name has no part made of digits only)."""
    return f"{app_name}-run-{'[0-9]' * _DIGITS}.service"


def serving_release(state: WsgiState) -> releases.Release:
    """The release the unit serves; :class:`DeployError` when there is none."""
    try:
        release = releases.current(state.paths)
    except TreeError as error:
        raise DeployError(str(error)) from None
    if release is None:
        raise DeployError("no release serves on this unit yet: there is nowhere to run the command")
    return release


def run(state: WsgiState, command: str, timeout: int, hidden: list[str]) -> Ran:
    """Run ``command`` in the serving release, confined, for at most ``timeout`` seconds;
    its output with ``hidden`` (and every secret setting) redacted. Raises
    :class:`DeployError` when nothing serves or the command could not start."""
    release = serving_release(state)
    app_dir = state.paths.releases / release.id / "app"
    settings = app_settings(state)
    env = {
        **app_env(release, app_dir, settings),
        "PYTHONUNBUFFERED": "1",
        COMMAND_VARIABLE: base64.b64encode(command.encode()).decode(),
    }
    confined = Sandbox.for_state(state)
    confined.stop(leftovers_pattern(state.app_name))  # a run whose action was killed
    try:
        finished = confined.execute(
            unit_name(state.app_name, secrets.randbelow(10**_DIGITS)),
            [SHELL, "-c", RUNNER],
            cwd=app_dir,
            env=env,
            timeout=timeout,
            description=f"{state.app_name} run action",
        )
    except OSError as error:
        raise DeployError(f"the command could not start: {error}") from None
    return shown(finished, [*hidden, *logs.secret_values(settings)])


def shown(finished: Finished, hidden: list[str]) -> Ran:
    """``finished`` fit for the action's results: its output redacted, then bounded."""
    ordered = sorted(set(hidden), key=len, reverse=True)  # a longer secret before its parts
    output = logs.tail(logs.redact_text(finished.output, ordered))
    return Ran(exit_code=finished.exit_code, output=output, timed_out=finished.timed_out)


def failure(ran: Ran, timeout: int) -> str:
    """Why the action fails ("" when the command succeeded)."""
    if ran.timed_out:
        return f"the command did not finish in {timeout}s: it was stopped (see output)"
    if ran.exit_code != 0:
        return f"the command exited with code {ran.exit_code} (see output)"
    return ""
