"""Running gunicorn: its two slots, and every ``systemctl`` call the charm makes for it.

The service is a template, ``<app>@.service``, with two instances, the slots ``a`` and
``b``. Both take the listening socket from ``<app>.socket`` (systemd owns it), so while
one slot serves, the other can start a new release or a changed unit beside it; once
the new slot answers through its private check socket, the old one is stopped, and its
workers finish every request they accepted (gunicorn's graceful stop: no new accepts,
kept-alive connections answered with ``Connection: close``). Which release a slot runs
is the root-owned symlink ``/etc/<app>/slots/<slot>``. Only the serving slot is
enabled, so a reboot starts it again; ``.running.json`` says what it was started with.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass

from .commands import run
from .paths import Paths
from .writes import write_if_changed

SLOTS = ("a", "b")
START_TIMEOUT = 180


@dataclass(frozen=True)
class Running:
    """What the serving slot was started with (the runtime state file)."""

    slot: str
    release: str
    port: int
    units: str  # digests, see apply.Target
    config: str


def other_slot(slot: str | None) -> str:
    """The slot to start next: the one that is not ``slot`` (``a`` when none serves)."""
    return "b" if slot == "a" else "a"


class Service:
    """systemctl for the application's socket and slots."""

    def __init__(self, paths: Paths):
        self.paths = paths
        self.state_file = paths.etc / ".running.json"

    def running(self) -> Running | None:
        try:
            data = json.loads(self.state_file.read_text())
            running = Running(**data)
        except (OSError, ValueError, TypeError):
            return None  # none yet, or an older charm's record: start afresh
        return running if running.slot in SLOTS else None

    def remember(self, running: Running) -> None:
        write_if_changed(self.state_file, json.dumps(asdict(running)) + "\n", 0o644)

    def _is_active(self, unit: str) -> bool:
        result = subprocess.run(["systemctl", "is-active", "--quiet", unit], check=False)
        return result.returncode == 0

    def any_active_slot(self) -> str | None:
        return next((slot for slot in SLOTS if self._is_active(self.paths.slot_service(slot))), None)

    def active(self) -> bool:
        """Whether the slot the record names is running."""
        running = self.running()
        return running is not None and self._is_active(self.paths.slot_service(running.slot))

    def legacy_active(self) -> bool:
        """Whether an older charm's single service unit is running."""
        return self.paths.legacy_service_file.exists() and self._is_active(self.paths.legacy_service)

    def serving(self) -> bool:
        """Whether any gunicorn of the application runs (a slot, or an older charm's unit)."""
        return self.any_active_slot() is not None or self.legacy_active()

    def daemon_reload(self) -> None:
        run("systemctl daemon-reload", ["systemctl", "daemon-reload"])

    def write_socket(self, text: str) -> bool:
        return write_if_changed(self.paths.socket_file, text, 0o644)

    def reload(self, slot: str) -> None:
        run("systemctl reload", ["systemctl", "reload", self.paths.slot_service(slot)])

    def start(self, slot: str, release: str, socket_moved: bool) -> None:
        """Start ``slot`` on ``release`` (it must not be running); the socket is restarted
        first when it must listen on another port (the old slot keeps the old one)."""
        unit = self.paths.slot_service(slot)
        run("systemctl stop", ["systemctl", "stop", unit])
        self._point(slot, release)
        socket = self.paths.socket
        if socket_moved and self._is_active(socket):
            run("systemctl restart socket", ["systemctl", "restart", socket])
        else:
            run("systemctl start socket", ["systemctl", "start", socket])
        run("systemctl enable socket", ["systemctl", "enable", "--quiet", socket])
        run("systemctl start", ["systemctl", "start", unit], timeout=START_TIMEOUT)

    def _point(self, slot: str, release: str) -> None:
        """``slots/<slot>`` -> the release directory, replaced in one rename."""
        self.paths.slots.mkdir(mode=0o755, exist_ok=True)
        link = self.paths.slots / slot
        temporary = self.paths.slots / f".{slot}.new"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(self.paths.releases / release)
        os.replace(temporary, link)

    def stop(self, slot: str) -> None:
        """Stop ``slot`` gracefully; returns once its workers finished."""
        unit = self.paths.slot_service(slot)
        run("systemctl disable", ["systemctl", "disable", "--now", "--quiet", unit], timeout=START_TIMEOUT)

    def retire(self, keep: str) -> None:
        """Enable ``keep`` alone; stop the other slot and an older charm's single unit."""
        run("systemctl enable", ["systemctl", "enable", "--quiet", self.paths.slot_service(keep)])
        self.stop(other_slot(keep))
        if self.paths.legacy_service_file.exists():
            run("systemctl disable", ["systemctl", "disable", "--now", "--quiet", self.paths.legacy_service])
            self.paths.legacy_service_file.unlink()
            self.daemon_reload()

    def socket_listens_on(self, port: int) -> bool:
        """Whether the socket unit is active and bound to ``port``."""
        if not self._is_active(self.paths.socket):
            return False
        listen = subprocess.run(
            ["systemctl", "show", "-P", "Listen", self.paths.socket],
            check=False,
            capture_output=True,
            text=True,
        ).stdout
        return any(line.split(" ")[0].rsplit(":", 1)[-1] == str(port) for line in listen.splitlines())

    def remove(self) -> None:
        """The unit is going away: stop everything and remove the units (data stays)."""
        units = [self.paths.slot_service(slot) for slot in SLOTS]
        units += [self.paths.socket, self.paths.legacy_service, self.paths.metrics_service]
        subprocess.run(["systemctl", "disable", "--now", *units], check=False, capture_output=True)
        files = (
            self.paths.service_file,
            self.paths.check_socket_file,
            self.paths.socket_file,
            self.paths.legacy_service_file,
            self.paths.metrics_service_file,
            self.state_file,
        )
        for unit_file in files:
            unit_file.unlink(missing_ok=True)
        for slot in SLOTS:
            (self.paths.slots / slot).unlink(missing_ok=True)
        subprocess.run(["systemctl", "daemon-reload"], check=False)
