"""Bringing the process types' systemd units to the plan (:mod:`.processes`), and
counting what runs of them.

Each running type has its template ``<app>-<type>@.service`` and instances ``@1``..``@N``,
enabled so that a reboot starts them. What was applied is recorded per type (instances
and a digest of its unit and the settings file) in ``/etc/<app>/.processes.json``, so
that :func:`changes` (pure) can tell what a new plan asks: start the instances that are
new, restart those whose unit or settings changed (a new release, config or relation
change: these processes have no reload, so they stop gracefully and start again), stop
the instances and templates no longer wanted. :class:`ProcessUnits` is the one place that
acts on it. Restarts and stops do not wait: an instance may take ``process_stop_timeout``
to finish its task, and the hook goes on meanwhile. Nor does starting the instances kept
from the last apply (normally running already): one still stopping from an earlier restart
would hold the hook for its whole stop timeout, and fail it. Only new instances are waited
for, so that the status counts them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from .apply import digest
from .commands import run, unit_states
from .paths import Paths
from .writes import write_if_changed

START_TIMEOUT = 120


@dataclass(frozen=True)
class Applied:
    """What runs of one process type: ``count`` instances of a unit whose unit file and
    settings have digest ``digest``."""

    count: int
    digest: str


@dataclass(frozen=True)
class Changes:
    """systemd unit names to act on, and the templates to remove."""

    start: tuple[str, ...] = ()  # new instances: enable and start
    keep: tuple[str, ...] = ()  # unchanged ones: enable and start, not waited for (they run)
    restart: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()  # stop and disable
    remove: tuple[str, ...] = ()  # process types whose template goes

    def __bool__(self) -> bool:
        return bool(self.start or self.keep or self.restart or self.stop or self.remove)


def wanted(units: Mapping[str, str], counts: Mapping[str, int], settings: str) -> dict[str, Applied]:
    """What each running type should be: its count and the digest of its unit text (from
    ``units``) and of the ``settings`` file."""
    return {name: Applied(counts[name], digest(text, settings)) for name, text in units.items()}


def changes(paths: Paths, applied: Mapping[str, Applied], target: Mapping[str, Applied]) -> Changes:
    """What turns ``applied`` into ``target`` (pure)."""
    start: list[str] = []
    keep: list[str] = []
    restart: list[str] = []
    stop: list[str] = []
    for name, want in target.items():
        had = applied.get(name, Applied(0, ""))
        kept = range(1, min(had.count, want.count) + 1)
        changed = had.digest != want.digest
        (restart if changed else keep).extend(paths.process_service(name, str(n)) for n in kept)
        start.extend(paths.process_service(name, str(n)) for n in range(had.count + 1, want.count + 1))
        stop.extend(paths.process_service(name, str(n)) for n in range(want.count + 1, had.count + 1))
    gone = tuple(name for name in applied if name not in target)
    for name in gone:
        stop.extend(paths.process_service(name, str(n)) for n in range(1, applied[name].count + 1))
    return Changes(tuple(start), tuple(keep), tuple(restart), tuple(stop), gone)


class ProcessUnits:
    """systemctl for the process types' instances."""

    def __init__(self, paths: Paths):
        self.paths = paths
        self.state_file = paths.etc / ".processes.json"

    def applied(self) -> dict[str, Applied]:
        """What the last apply left running; empty when nothing (or an unreadable record)."""
        try:
            data = json.loads(self.state_file.read_text())
            return {
                str(name): Applied(int(item["count"]), str(item["digest"])) for name, item in data.items()
            }
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return {}

    def converge(self, units: Mapping[str, str], counts: Mapping[str, int], settings: str) -> Changes:
        """Write the templates of ``units`` (by type) and run ``counts`` instances of each;
        stop everything else the charm ran. Returns what it did."""
        target = wanted(units, counts, settings)
        todo = changes(self.paths, self.applied(), target)
        written = [
            write_if_changed(self.paths.process_file(name), text, 0o644) for name, text in units.items()
        ]
        if any(written):
            run("systemctl daemon-reload", ["systemctl", "daemon-reload"])
        if todo.stop:
            run("systemctl disable", ["systemctl", "disable", "--now", "--no-block", "--quiet", *todo.stop])
        for name in todo.remove:
            self.paths.process_file(name).unlink(missing_ok=True)
        if todo.remove:  # systemd forgets the templates once their instances are stopped
            run("systemctl daemon-reload", ["systemctl", "daemon-reload"])
        if todo.restart:
            run("systemctl restart", ["systemctl", "restart", "--no-block", *todo.restart])
        if todo.keep:
            run("systemctl enable", ["systemctl", "enable", "--now", "--no-block", "--quiet", *todo.keep])
        if todo.start:
            run(
                "systemctl enable",
                ["systemctl", "enable", "--now", "--quiet", *todo.start],
                timeout=START_TIMEOUT,
            )
        record = {name: {"count": item.count, "digest": item.digest} for name, item in target.items()}
        write_if_changed(self.state_file, json.dumps(record) + "\n", 0o644)
        return todo

    def active_counts(self) -> tuple[tuple[str, int, int], ...]:
        """(type, instances active, instances wanted) of every type the last apply runs,
        from one ``systemctl is-active`` call; () without any (no call at all)."""
        applied = self.applied()
        names = [
            self.paths.process_service(name, str(n))
            for name, a in applied.items()
            for n in range(1, a.count + 1)
        ]
        if not names:
            return ()
        active = {name for name, state in unit_states(names).items() if state == "active"}
        return tuple(
            (
                name,
                sum(self.paths.process_service(name, str(n)) in active for n in range(1, a.count + 1)),
                a.count,
            )
            for name, a in applied.items()
        )

    def remove(self) -> None:
        """The unit is going away: stop every instance and remove the templates."""
        self.converge({}, {}, "")
        self.state_file.unlink(missing_ok=True)
