"""Scheduled jobs on the machine: their units in place, their timers running on the leader
only, and what their last runs came to. Every ``systemctl`` call for them is here.

The jobs are the serving release's Procfile ``cron*`` entries and the ``scheduled_jobs``
option (:func:`planned`); each is a oneshot service and a timer rendered by
:func:`.render.render_job_units`. Every unit installs the units, so a new leader only has
to start its timers; the others keep theirs stopped and disabled. Every hook converges
(leadership moves with ``leader-elected`` on the new leader and ``leader-settings-changed``
on the others, which may change nothing else): one ``systemctl is-active`` call when the
units are already in place.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from .commands import run, unit_states
from .paths import Paths
from .procfile import Process, Procfile
from .releases import Release
from .schedules import Job, from_procfile, jobs_of
from .state import WsgiState
from .writes import write_if_changed

SUFFIXES = (".service", ".timer")


def planned(state: WsgiState, release: Release | None) -> tuple[Job, ...]:
    """The jobs of ``release``'s Procfile then the option's (none before a release); raises
    :class:`~.schedules.ScheduleError` naming the bad entry."""
    if release is None:
        return ()
    procfile = Procfile(tuple(Process(name, command) for name, command in release.processes))
    return jobs_of(from_procfile(procfile), state.config.scheduled_jobs)


@dataclass(frozen=True)
class Changes:
    """What :func:`decide` asks of systemd for the job units (pure data)."""

    write: tuple[str, ...] = ()  # unit files whose text differs
    remove: tuple[str, ...] = ()  # unit files of jobs that are gone
    start: tuple[str, ...] = ()  # timers to enable and start (the leader's, not active)
    restart: tuple[str, ...] = ()  # the leader's active timers whose schedule changed
    stop: tuple[str, ...] = ()  # timers to stop and disable (active here, or being removed)

    @property
    def reload(self) -> bool:
        return bool(self.write or self.remove)


def decide(
    wanted: Mapping[str, str], present: Mapping[str, str], active: frozenset[str], leader: bool
) -> Changes:
    """From the rendered unit files, those installed (name -> text), the timers active now
    and leadership: what to change (pure)."""
    timers = tuple(name for name in wanted if name.endswith(".timer"))
    gone = tuple(name for name in sorted(present) if name not in wanted)
    write = tuple(name for name, text in wanted.items() if present.get(name) != text)
    return Changes(
        write=write,
        remove=gone,
        start=tuple(name for name in timers if name not in active) if leader else (),
        restart=tuple(name for name in timers if name in active and name in write) if leader else (),
        stop=tuple(
            name
            for name in (*gone, *(() if leader else timers))
            if name.endswith(".timer") and name in active
        ),
    )


def installed(paths: Paths) -> dict[str, str]:
    """The job unit files in place (``<app>-cron-*``), by name."""
    return {
        path.name: path.read_text(errors="replace")
        for path in sorted(paths.systemd.glob(f"{paths.name}-cron-*"))
        if path.name.endswith(SUFFIXES) and path.is_file() and not path.is_symlink()
    }


def active_timers(names: tuple[str, ...]) -> frozenset[str]:
    """Which of the timers ``names`` run now (one ``systemctl is-active`` call)."""
    return frozenset(name for name, state in unit_states(names).items() if state in {"active", "activating"})


def converge(paths: Paths, wanted: Mapping[str, str], leader: bool) -> Changes:
    """Put the job units ``wanted`` in place and run their timers on the leader only."""
    present = installed(paths)
    if not wanted and not present:
        return Changes()
    timers = tuple(name for name in {**present, **wanted} if name.endswith(".timer"))
    changes = decide(wanted, present, active_timers(timers), leader)
    if changes.stop:
        run("systemctl disable timers", ["systemctl", "disable", "--now", "--quiet", *changes.stop])
    for name in changes.write:
        write_if_changed(paths.systemd / name, wanted[name], 0o644)
    for name in changes.remove:
        (paths.systemd / name).unlink(missing_ok=True)
    if changes.reload:
        run("systemctl daemon-reload", ["systemctl", "daemon-reload"])
    if changes.start:
        run("systemctl enable timers", ["systemctl", "enable", "--now", "--quiet", *changes.start])
    if changes.restart:
        run("systemctl restart timers", ["systemctl", "restart", *changes.restart])
    return changes


def failed_jobs(paths: Paths, jobs: tuple[Job, ...]) -> tuple[str, ...]:
    """The jobs whose last run here failed (non-zero exit, timeout, killed), read in one
    ``systemctl show`` call; a job that never ran has not failed. Asked on the leader only:
    a unit that no longer runs the jobs has nothing current to report."""
    if not jobs:
        return ()
    services = [paths.job_service(job.key) for job in jobs]
    result = subprocess.run(
        ["systemctl", "show", "--property=Result", "--value", *services],
        capture_output=True,
        text=True,
        check=False,
    )
    results = result.stdout.split()
    return tuple(job.name for job, outcome in zip(jobs, results, strict=False) if outcome != "success")


def remove_all(paths: Paths) -> None:
    """The unit is going away: stop the timers and remove every job unit."""
    names = list(installed(paths))
    if names:
        subprocess.run(["systemctl", "disable", "--now", *names], check=False, capture_output=True)
    for name in names:
        (paths.systemd / name).unlink(missing_ok=True)
