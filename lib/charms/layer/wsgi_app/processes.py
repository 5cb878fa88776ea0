"""The Procfile's other process types (``worker:``, ``beat:``...): which run on this unit
and how many instances of each (pure).

Every Procfile entry but ``web`` (gunicorn, :mod:`.service`), ``release`` (the release
command) and ``cron*`` (scheduled jobs) is a process type. Each runs as the systemd
template unit ``<app>-<type>@.service``, instances ``1``..``N``: one instance by default,
``N`` from the ``process_counts`` option (``worker=3 beat=1``; ``0`` turns a type off).
Types named in ``leader_processes`` (default ``beat clock scheduler``) run on the leader
only, once, so a scheduler runs once per application and moves with leadership: a count
above 1 for such a type (``beat=3``) would run the schedule three times, so it runs one
instance and :attr:`ProcessPlan.capped` names it for a log line.

A type the options name but the serving release's Procfile does not declare is not an
error (the next release may declare it): :attr:`ProcessPlan.unknown` names it for a log
line. :func:`plan` is what the apply step and the status read; :func:`leader_only` is what
scheduled jobs (and anything else pinned to the leader) ask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import WsgiState

# Procfile names that are not process types of their own
WEB, RELEASE, CRON_PREFIX = "web", "release", "cron"
DEFAULT_LEADER_PROCESSES = "beat clock scheduler"
MAX_INSTANCES = 32
_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}\Z")  # a Procfile name (see .procfile)
_COUNT = re.compile(r"(?P<name>[^=\s]+)=(?P<count>[0-9]{1,3})\Z")


@dataclass(frozen=True)
class Planned:
    """One process type this unit runs: ``count`` instances of ``command``."""

    name: str
    command: str
    count: int
    leader_only: bool = False

    def instances(self) -> tuple[str, ...]:
        """The template unit's instance names: ``1``..``count``."""
        return tuple(str(number) for number in range(1, self.count + 1))


@dataclass(frozen=True)
class ProcessPlan:
    """What runs on this unit besides gunicorn."""

    running: tuple[Planned, ...] = ()  # in the Procfile's order
    stopped: tuple[str, ...] = ()  # declared, not run here: count 0, or leader-only off the leader
    unknown: tuple[str, ...] = ()  # named in process_counts, not declared by the Procfile
    capped: tuple[str, ...] = ()  # leader-only, counted above 1 in process_counts: run once

    @property
    def names(self) -> tuple[str, ...]:
        """Every declared process type (running or not), whose units the charm manages."""
        return tuple(p.name for p in self.running) + self.stopped


def is_process_type(name: str) -> bool:
    """Whether Procfile entry ``name`` runs as a process type of its own."""
    return name not in (WEB, RELEASE) and not name.startswith(CRON_PREFIX)


def journal_identifier(app_name: str, name: str) -> str:
    """The journal identifier of process type ``name``'s output: ``<app>-<type>``."""
    return f"{app_name}-{name}"


def leader_only(name: str, leader_types: Iterable[str]) -> bool:
    """Whether ``name`` (a process type or a job) runs on the leader only."""
    return name in tuple(leader_types)


def runs_here(name: str, leader_types: Iterable[str], leader: bool) -> bool:
    """Whether ``name`` runs on this unit: everywhere, or here because it is the leader."""
    return leader or not leader_only(name, leader_types)


def plan(
    table: Iterable[tuple[str, str]],
    counts: Mapping[str, int],
    leader_types: Iterable[str],
    leader: bool,
) -> ProcessPlan:
    """The process types of the release's Procfile ``table`` ((name, command) pairs) that
    run on this unit, given ``process_counts``, ``leader_processes`` and leadership."""
    leader_types = tuple(leader_types)
    running: list[Planned] = []
    stopped: list[str] = []
    declared: set[str] = set()
    for name, command in table:
        if not is_process_type(name):
            continue
        declared.add(name)
        once = leader_only(name, leader_types)
        count = min(counts.get(name, 1), 1) if once else counts.get(name, 1)
        if count and runs_here(name, leader_types, leader):
            running.append(Planned(name, command, count, once))
        else:
            stopped.append(name)
    unknown = tuple(sorted(name for name in counts if name not in declared))
    capped = tuple(name for name in declared if leader_only(name, leader_types) and counts.get(name, 1) > 1)
    return ProcessPlan(tuple(running), tuple(stopped), unknown, tuple(sorted(capped)))


def plan_for(state: WsgiState, table: Iterable[tuple[str, str]]) -> ProcessPlan:
    """:func:`plan` for the release whose Procfile is ``table``, as ``state`` configures it."""
    config = state.config
    return plan(table, config.process_counts, config.leader_processes, state.leader)


def _names(value: Any) -> list[str]:
    return [item for item in re.split(r"[\s,]+", str(value or "").strip()) if item]


def _type_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{name[:40]!r} is not a process type name (letters, digits, _ and -)")
    if not is_process_type(name):
        raise ValueError(
            f"{name!r} is not a process type the charm runs as one "
            "(web is gunicorn: see workers; release and cron* are not long-running)"
        )
    return name


def parse_counts(value: Any) -> dict[str, int]:
    """The ``process_counts`` option: ``type=N`` items separated by spaces or commas, ``N``
    in 0-:data:`MAX_INSTANCES`; raises ``ValueError`` naming the first bad item."""
    counts: dict[str, int] = {}
    for item in _names(value):
        match = _COUNT.match(item)
        if match is None:
            raise ValueError(f"{item[:40]!r} is not type=count (e.g. worker=3)")
        name, count = _type_name(match.group("name")), int(match.group("count"))
        if count > MAX_INSTANCES:
            raise ValueError(f"{name}={count}: at most {MAX_INSTANCES} instances of a type")
        if name in counts:
            raise ValueError(f"{name!r} is given twice")
        counts[name] = count
    return counts


def parse_types(value: Any) -> tuple[str, ...]:
    """The ``leader_processes`` option: process type names separated by spaces or commas."""
    return tuple(dict.fromkeys(_type_name(name) for name in _names(value)))
