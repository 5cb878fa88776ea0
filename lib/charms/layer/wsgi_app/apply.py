"""The one side-effecting step: put the rendered files in place and bring the service
to them with the least disruptive action that makes every change effective.

* nothing changed -> nothing happens (no reload, no restart);
* settings added, changed or removed, gunicorn config changed, or new code on the same
  venv -> ``reload`` (gunicorn re-reads its config and settings, drops removed ones, and
  replaces its workers gracefully);
* the unit file or the venv changed -> ``restart`` (the socket unit keeps the listening
  socket open, so connections wait rather than fail);
* the port changed -> the socket itself is restarted (unavoidable: a new port).
"""

from __future__ import annotations

import enum
import grp
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .commands import run
from .paths import Paths
from .render import RenderedFiles


class Action(enum.Enum):
    NONE = "none"
    RELOAD = "reload"
    RESTART = "restart"
    RESTART_SOCKET = "restart-socket"


@dataclass(frozen=True)
class Running:
    """What the running gunicorn was started with (kept in the runtime state file)."""

    venv: str


def write_if_changed(path: Path, text: str, mode: int, group: str | None = None) -> bool:
    """Atomically replace ``path`` (owned by root, ``group``) unless it already holds ``text``."""
    try:
        if path.read_text() == text:
            path.chmod(mode)
            return False
    except OSError:
        pass
    write_atomically(path, text, mode, uid=0, gid=grp.getgrnam(group).gr_gid if group else 0)
    return True


def write_atomically(path: Path, text: str, mode: int, uid: int, gid: int) -> None:
    """Replace ``path`` in one rename; the file has its mode and owner before it has content."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        os.fchown(fd, uid, gid)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def decide(
    *,
    socket_changed: bool,
    unit_changed: bool,
    conf_changed: bool,
    settings_changed: bool,
    release_changed: bool,
    running: Running | None,
    venv: str,
    active: bool,
) -> Action:
    """The least disruptive action that makes every change effective (pure)."""
    if socket_changed:
        return Action.RESTART_SOCKET
    if not active or running is None or unit_changed or running.venv != venv:
        return Action.RESTART
    if conf_changed or settings_changed or release_changed:
        return Action.RELOAD
    return Action.NONE


class Service:
    """systemctl for the application's socket and service units."""

    def __init__(self, paths: Paths):
        self.paths = paths
        self.state_file = paths.etc / ".running.json"

    def active(self) -> bool:
        result = subprocess.run(["systemctl", "is-active", "--quiet", self.paths.service], check=False)
        return result.returncode == 0

    def main_pid(self) -> int:
        out = run("systemctl show", ["systemctl", "show", "-P", "MainPID", self.paths.service])
        return int(out.strip() or 0)

    def running(self) -> Running | None:
        try:
            data = json.loads(self.state_file.read_text())
            return Running(venv=data["venv"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def remember(self, running: Running) -> None:
        self.state_file.write_text(json.dumps({"venv": running.venv}))

    def perform(self, action: Action) -> None:
        unit, socket = self.paths.service, self.paths.socket
        if action is Action.NONE:
            return
        run("systemctl enable", ["systemctl", "enable", "--quiet", socket, unit])
        if action is Action.RESTART_SOCKET:
            run("systemctl stop", ["systemctl", "stop", unit, socket])
            run("systemctl start", ["systemctl", "start", socket, unit], timeout=180)
        elif action is Action.RESTART:
            run("systemctl start socket", ["systemctl", "start", socket])
            run("systemctl restart", ["systemctl", "restart", unit], timeout=180)
        elif action is Action.RELOAD:
            run("systemctl reload", ["systemctl", "reload", unit])


def apply_files(paths: Paths, files: RenderedFiles) -> dict[str, bool]:
    """Write every managed file; return which ones changed. Reloads systemd if units did."""
    changed = {
        "socket": write_if_changed(paths.socket_file, files.socket_unit, 0o644),
        "service": write_if_changed(paths.service_file, files.service_unit, 0o644),
        "conf": write_if_changed(paths.gunicorn_conf, files.gunicorn_conf, 0o640, group=paths.user),
        "settings": write_if_changed(paths.settings_file, files.settings, 0o640, group=paths.user),
    }
    if changed["socket"] or changed["service"]:
        run("systemctl daemon-reload", ["systemctl", "daemon-reload"])
    return changed
