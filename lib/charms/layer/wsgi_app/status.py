"""What the unit tells the operator: the outcome of a hook and the unit's memory mapped to
a status (pure), and :class:`Display`, the charm's only caller of ``status-set`` and
``application-version-set``, which calls them only when what they show changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from charmhelpers.core import hookenv

from .memory import Memory
from .plan import Outcome
from .releases import Release
from .rollout import Standing

NO_ROLLOUT = Standing()

MAINTENANCE_MODE = "maintenance mode"  # what the status says first while the unit answers 503


@dataclass(frozen=True)
class Status:
    workload: str  # maintenance | waiting | blocked | active
    message: str


def serving_message(release: Release, port: int, processes: tuple[tuple[str, int, int], ...] = ()) -> str:
    """``serving shop (1a2b3c4) on :8080; worker 3/3``: the release, and how many instances
    of each process type that runs here are active."""
    counts = "".join(f"; {name} {active}/{wanted}" for name, active, wanted in processes)
    return f"serving {release.description} on :{port}{counts}"


def jobs_message(failed_jobs: tuple[str, ...]) -> str:
    """What the status adds for scheduled jobs whose last run failed ("" for none)."""
    if not failed_jobs:
        return ""
    return f"; last run failed: {', '.join(failed_jobs)} (see the journal)"


def unit_status(
    *,
    release: Release | None,
    port: int,
    problem: str = "",
    waiting: str = "",
    service_active: bool = True,
    processes: tuple[tuple[str, int, int], ...] = (),
    failed_jobs: tuple[str, ...] = (),
    rollout: Standing = NO_ROLLOUT,
) -> Status:
    """The status for a unit serving ``release`` (or nothing yet). A failed scheduled job
    is told, not blocking: the site still serves. Where a rolling release stands is told
    on every unit; a unit it has not reached yet is waiting."""
    told = f"; {rollout.text}" if rollout.text else ""
    if problem:
        return Status("blocked", problem + told)
    if release is None:
        return Status("waiting", waiting or "no release deployed yet")
    if not service_active:
        return Status("blocked", f"{release.description} is deployed but its service is not running")
    serving = serving_message(release, port, processes)
    jobs = jobs_message(failed_jobs)
    if waiting:
        return Status("waiting", f"{serving}; {waiting}{told}{jobs}")
    return Status("waiting" if rollout.held else "active", serving + told + jobs)


def problem_of(memory: Memory) -> str:
    """Why the unit is blocked ("" when it is not): the last apply's problem, else why the
    source asked for did not go live, which stays until the source is built again (a
    settings change or upgrade-charm serves the old release, not the source asked for)."""
    return memory.problem or memory.build_problem


def status_of(outcome: Outcome, memory: Memory) -> Status:
    """The status after a hook: blocked by the problem the unit remembers, waiting for what
    the leader or the relations have still to provide, else serving."""
    waiting_for = outcome.waiting_for + ((memory.waiting,) if memory.waiting else ())
    status = unit_status(
        release=outcome.release,
        port=outcome.port,
        problem=problem_of(memory),
        waiting="waiting for " + ", ".join(waiting_for) if waiting_for else "",
        service_active=outcome.service_active,
        processes=outcome.processes,
        failed_jobs=outcome.failed_jobs,
        rollout=outcome.rollout,
    )
    return in_maintenance(status) if outcome.maintenance else status


def in_maintenance(status: Status) -> Status:
    """``status`` of a unit in maintenance mode: said first, the rest kept (what serves)."""
    return replace(status, message=f"{MAINTENANCE_MODE}; {status.message}")


class Display:
    """What the operator sees of the unit, starting from what an earlier hook showed."""

    def __init__(self, memory: Memory):
        self.shown = memory.status
        self.version = memory.app_version

    def show(self, status: Status) -> None:
        """Set the workload status unless it is already the one shown (a hook-tool call
        saved on every idle hook)."""
        if (status.workload, status.message) != self.shown:
            hookenv.status_set(status.workload, status.message)
            self.shown = (status.workload, status.message)

    def progress(self, message: str) -> None:
        """A step of a long hook: logged and shown as ``maintenance``."""
        hookenv.log(message)
        self.show(Status("maintenance", message))

    def show_version(self, version: str) -> None:
        if version != self.version:
            hookenv.application_version_set(version)
            self.version = version

    def remembered(self, memory: Memory) -> Memory:
        """``memory`` with what is shown now."""
        return replace(memory, status=self.shown, app_version=self.version)
