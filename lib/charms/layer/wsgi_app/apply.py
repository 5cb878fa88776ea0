"""Bringing gunicorn to the rendered files: put them in place and take the
least disruptive action that makes every change effective, without cutting a request.

* nothing changed -> nothing happens (no reload, no restart);
* settings or gunicorn options changed -> ``reload`` of the serving slot (gunicorn
  re-reads its config and settings, replaces its workers gracefully);
* a new release, a changed unit or a new port -> ``handover``: the idle slot starts on
  the same socket, is checked through its own socket, and only then does the serving
  slot stop, finishing every request it accepted (see :mod:`.service`);
* nothing runs -> ``start``.

:func:`decide` is pure; :func:`converge` is the one place that acts on it.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .commands import CommandFailed
from .paths import Paths
from .render import RenderedFiles
from .service import Running, Service, other_slot
from .writes import write_if_changed

# (the slot's check socket) -> (healthy, what the check saw)
HealthCheck = Callable[[Path], tuple[bool, str]]


class Action(enum.Enum):
    NONE = "none"
    RELOAD = "reload"
    HANDOVER = "handover"
    START = "start"


@dataclass(frozen=True)
class Target:
    """What the serving gunicorn must run: compared with :class:`.service.Running`."""

    release: str  # release id
    port: int
    units: str  # digest of the unit files
    config: str  # digest of gunicorn.conf.py and the settings file


@dataclass(frozen=True)
class Applied:
    """What :func:`converge` did and what the health check of the result saw."""

    action: Action
    healthy: bool = True
    detail: str = ""
    kept_previous: bool = False  # the new slot failed its check; the old one still serves


def digest(*texts: str) -> str:
    blob = hashlib.sha256()
    for text in texts:
        blob.update(text.encode() + b"\0")
    return blob.hexdigest()[:16]


def target_of(files: RenderedFiles, release: str, port: int) -> Target:
    units = digest(files.service_unit, files.check_socket_unit, files.socket_unit("a"))
    return Target(release=release, port=port, units=units, config=digest(files.gunicorn_conf, files.settings))


def decide(running: Running | None, active: bool, target: Target) -> Action:
    """The least disruptive action that makes ``target`` serve (pure)."""
    if running is None or not active:
        return Action.START
    if (running.release, running.port, running.units) != (target.release, target.port, target.units):
        return Action.HANDOVER
    if running.config != target.config:
        return Action.RELOAD
    return Action.NONE


def write_files(paths: Paths, files: RenderedFiles) -> bool:
    """Write the unit templates, gunicorn.conf.py and the settings; whether a unit changed.
    The socket unit names the serving slot, so :func:`converge` writes it."""
    units = [
        write_if_changed(paths.service_file, files.service_unit, 0o644),
        write_if_changed(paths.check_socket_file, files.check_socket_unit, 0o644),
    ]
    write_if_changed(paths.gunicorn_conf, files.gunicorn_conf, 0o640, group=paths.user)
    write_if_changed(paths.settings_file, files.settings, 0o640, group=paths.user)
    return any(units)


def converge(paths: Paths, files: RenderedFiles, target: Target, check: HealthCheck) -> Applied:
    """Make ``target`` serve; check the slot that serves it afterwards."""
    service = Service(paths)
    units_changed = write_files(paths, files)
    if units_changed:
        service.daemon_reload()
    running = service.running()
    action = decide(running, service.active(), target)
    if action is Action.NONE:
        return Applied(action)
    if action is Action.RELOAD:
        assert running is not None
        service.reload(running.slot)
        service.remember(replace(running, config=target.config))
        healthy, detail = check(paths.check_socket(running.slot))
        return Applied(action, healthy, detail)
    return _hand_over(service, files, target, running if action is Action.HANDOVER else None, check, action)


def _hand_over(
    service: Service,
    files: RenderedFiles,
    target: Target,
    old: Running | None,
    check: HealthCheck,
    action: Action,
) -> Applied:
    """Start ``target`` in the idle slot beside ``old``; retire ``old`` once the new slot
    passed its check, or stop the new one and keep ``old`` serving if it did not (the
    next hook tries again). With nothing serving before, the new slot stays either way; an
    older charm's single unit counts as serving."""
    slot = other_slot(old.slot if old else service.any_active_slot())
    service.write_socket(files.socket_unit(slot))
    service.daemon_reload()  # always: a hook that died after writing it may not have reloaded
    moved = old.port != target.port if old else not service.socket_listens_on(target.port)
    try:
        service.start(slot, target.release, socket_moved=moved)
        healthy, detail = check(service.paths.check_socket(slot))
    except CommandFailed as error:  # gunicorn did not start: as unhealthy as it gets
        healthy, detail = False, f"gunicorn did not start: {error.tail(2)}"
    new = Running(slot=slot, **vars(target))
    if not healthy and (old is not None or service.legacy_active()):  # the old one goes on serving
        service.stop(slot)
        if old is not None:
            service.write_socket(files.socket_unit(old.slot))
            service.daemon_reload()
        return Applied(action, False, detail, kept_previous=True)
    service.retire(keep=slot)
    service.remember(new)
    return Applied(action, healthy, detail)
