"""Scheduled jobs: cron lines read from the Procfile and the ``scheduled_jobs`` option,
validated, and translated to systemd ``OnCalendar=`` expressions (pure).

A job is a Procfile entry whose name starts with ``cron`` (piku's convention) or a line
of the option, both ``name: <five cron fields> <command>`` (or a macro such as
``@daily`` in place of the fields). Fields follow Vixie cron: minute 0-59, hour 0-23,
day of month 1-31, month 1-12 or ``jan``-``dec``, day of week 0-7 (0 and 7 are Sunday)
or ``sun``-``sat``; each a ``,`` list of ``*``, ``N``, ``A-B``, each optionally ``/STEP``.
As in cron, when both the day of month and the day of week are restricted (neither field
starts with ``*``) a day matches when either does: systemd has no OR within one
expression, so such a job gets two ``OnCalendar=`` lines. Anything else (a sixth field,
``@reboot``, a reversed range, a control character) raises :class:`ScheduleError`
naming the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .procfile import Procfile

PREFIX = "cron"
MAX_JOBS = 32
_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a tab is allowed
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_SYSTEMD_WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class ScheduleError(ValueError):
    """A scheduled job cannot be read; the message names the line and why."""


@dataclass(frozen=True)
class _Field:
    """How one of the five fields is read: its range and the names it accepts."""

    label: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    first_name: int = 0  # the value of names[0]


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day of week", 0, 7, _WEEKDAYS, 0),
)


@dataclass(frozen=True)
class Schedule:
    """The times a cron expression names, one set per field (Sunday is 0)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_restricted: bool = False  # the day-of-month field does not start with '*'
    weekdays_restricted: bool = False  # the day-of-week field does not start with '*'

    def on_calendar(self) -> tuple[str, ...]:
        """The ``OnCalendar=`` values that together elapse exactly when cron would run."""
        time = f"{_numbers(self.hours, 0, 23)}:{_numbers(self.minutes, 0, 59)}:00"
        months = _numbers(self.months, 1, 12)
        days = _numbers(self.days, 1, 31)
        by_day = f"*-{months}-{days} {time}"
        either = self.days_restricted and self.weekdays_restricted
        if self.weekdays == frozenset(range(7)) and not either:
            return (by_day,)
        weekdays = _weekday_names(self.weekdays)
        if either:  # either day field matching is enough
            return (f"{weekdays} *-{months}-* {time}", by_day)
        # both must match: a day field starting with '*' ('*/2') is not "restricted", but
        # still names its days (cron runs '0 0 * * */2' on Sunday, Tuesday...)
        return (f"{weekdays} {by_day}",)


@dataclass(frozen=True)
class Job:
    """A scheduled job: its name (its units: ``<app>-cron-<key>``), its cron
    expression as written, what it means, and its shell command."""

    name: str
    expression: str
    schedule: Schedule
    command: str

    @property
    def on_calendar(self) -> tuple[str, ...]:
        return self.schedule.on_calendar()

    @property
    def key(self) -> str:
        """What names its units, ``<app>-cron-<key>``: the name without a leading ``cron``
        and separator (``cron-cleanup`` and an option's ``cleanup`` are both ``cleanup``)."""
        if not self.name.startswith(PREFIX):
            return self.name
        return self.name.removeprefix(PREFIX).lstrip("-_") or PREFIX

    @property
    def log_name(self) -> str:
        """``cron-<key>``: what follows ``<app>-`` in its journal identifier (see
        :func:`.processes.journal_identifier`), and what the logs action's ``process`` takes."""
        return f"{PREFIX}-{self.key}"


def parse_expression(expression: str) -> Schedule:
    """The schedule of a five-field cron ``expression`` or macro; raises :class:`ScheduleError`."""
    fields = MACROS.get(expression.lower(), expression).split()
    if expression.startswith("@") and expression.lower() not in MACROS:
        raise ScheduleError(f"unknown macro {expression!r} (known: {', '.join(MACROS)})")
    if len(fields) != len(_FIELDS):
        raise ScheduleError(f"a schedule has 5 fields (minute hour day month weekday), not {len(fields)}")
    minutes, hours, days, months, weekdays = (
        _parse_field(text, spec) for text, spec in zip(fields, _FIELDS, strict=True)
    )
    return Schedule(
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=frozenset(day % 7 for day in weekdays),
        days_restricted=not fields[2].startswith("*"),
        weekdays_restricted=not fields[4].startswith("*"),
    )


def _parse_field(text: str, spec: _Field) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        values.update(_parse_part(part, spec))
    return frozenset(values)


def _parse_part(part: str, spec: _Field) -> range:
    span, slash, step_text = part.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or not 1 <= int(step_text) <= spec.high - spec.low + 1:
            raise ScheduleError(
                f"{spec.label}: step {step_text!r} in {part!r} is not 1-{spec.high - spec.low + 1}"
            )
        step = int(step_text)
    if span == "*":
        return range(spec.low, spec.high + 1, step)
    low_text, dash, high_text = span.partition("-")
    low = _value(low_text, spec, part)
    high = _value(high_text, spec, part) if dash else low
    if slash and not dash:
        raise ScheduleError(
            f"{spec.label}: {part!r} steps from a single value (write {low}-{spec.high}/{step})"
        )
    if high < low:
        raise ScheduleError(f"{spec.label}: range {part!r} is reversed")
    return range(low, high + 1, step)


def _value(text: str, spec: _Field, part: str) -> int:
    if text.lower() in spec.names:
        return spec.names.index(text.lower()) + spec.first_name
    if not text.isascii() or not text.isdigit() or len(text) > 2 or not spec.low <= int(text) <= spec.high:
        accepted = f"{spec.low}-{spec.high}" + (f" or {spec.names[0]}-{spec.names[-1]}" if spec.names else "")
        raise ScheduleError(f"{spec.label}: {text!r} in {part!r} is not {accepted}")
    return int(text)


def _numbers(values: frozenset[int], low: int, high: int) -> str:
    """A systemd calendar component: ``*`` for every value, else runs as ``A..B``."""
    if values == frozenset(range(low, high + 1)):
        return "*"
    return ",".join(f"{a:02d}" if a == b else f"{a:02d}..{b:02d}" for a, b in _runs(sorted(values)))


def _weekday_names(values: frozenset[int]) -> str:
    ordered = sorted(values)
    return ",".join(
        _SYSTEMD_WEEKDAYS[a] if a == b else f"{_SYSTEMD_WEEKDAYS[a]}..{_SYSTEMD_WEEKDAYS[b]}"
        for a, b in _runs(ordered)
    )


def _runs(values: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for value in values:
        if runs and runs[-1][1] == value - 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def parse_job(name: str, text: str, where: str) -> Job:
    """The job ``name: text`` (a schedule then a command); raises :class:`ScheduleError`."""
    if not _NAME.match(name):
        raise ScheduleError(f"{where}: job name {name!r} is not letters, digits, _ and -")
    if _CONTROL.search(text):
        raise ScheduleError(f"{where}: job {name!r} contains a control character")
    count = 1 if text.startswith("@") else len(_FIELDS)  # words of the schedule
    words = text.split(None, count)
    if len(words) <= count or not words[count].strip():
        raise ScheduleError(f"{where}: job {name!r} needs a schedule and then a command")
    expression = " ".join(words[:count])
    try:
        schedule = parse_expression(expression)
    except ScheduleError as error:
        raise ScheduleError(f"{where}: job {name!r}: {error}") from None
    return Job(name, expression, schedule, words[count].strip())


def from_procfile(procfile: Procfile) -> tuple[Job, ...]:
    """The jobs of the Procfile's ``cron*`` entries (the name kept whole: ``cron-cleanup``)."""
    return tuple(
        parse_job(p.name, p.command, f"Procfile entry {p.name!r}")
        for p in procfile.processes
        if p.name.startswith(PREFIX)
    )


def from_option(value: object) -> tuple[Job, ...]:
    """The jobs of the ``scheduled_jobs`` option: ``name: schedule command`` lines, ``#``
    comments and blank lines skipped; raises :class:`ScheduleError`."""
    jobs: list[Job] = []
    for number, raw in enumerate(str(value or "").split("\n"), start=1):
        line = raw.removesuffix("\r").strip()
        if not line or line.startswith("#"):
            continue
        name, colon, text = line.partition(":")
        if not colon:
            raise ScheduleError(
                f"scheduled_jobs line {number} is not 'name: schedule command': {line[:60]!r}"
            )
        jobs.append(parse_job(name.strip(), text.strip(), f"scheduled_jobs line {number}"))
    return jobs_of(jobs)


def jobs_of(*groups: Iterable[Job]) -> tuple[Job, ...]:
    """Every job of ``groups`` in order; raises :class:`ScheduleError` on a name given twice
    (the option's and the Procfile's share one namespace: their units do) or too many."""
    jobs: list[Job] = []
    for job in (job for group in groups for job in group):
        if any(other.key == job.key for other in jobs):
            raise ScheduleError(
                f"scheduled job {job.name!r} is declared twice (its units: <app>-cron-{job.key})"
            )
        jobs.append(job)
    if len(jobs) > MAX_JOBS:
        raise ScheduleError(f"more than {MAX_JOBS} scheduled jobs")
    return tuple(jobs)
