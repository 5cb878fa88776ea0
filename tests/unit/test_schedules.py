"""Scheduled jobs: the cron parser, its validation, and the OnCalendar= translation, checked
against a small cron evaluator of our own and, where present, systemd-analyze itself."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta

import pytest

from charms.layer.wsgi_app.procfile import parse as parse_procfile
from charms.layer.wsgi_app.schedules import (
    MACROS,
    Schedule,
    ScheduleError,
    from_option,
    from_procfile,
    jobs_of,
    parse_expression,
    parse_job,
)

# expression -> OnCalendar lines
TRANSLATIONS = {
    "* * * * *": ("*-*-* *:*:00",),
    "0 3 * * *": ("*-*-* 03:00:00",),
    "*/15 * * * *": ("*-*-* *:00,15,30,45:00",),
    "5-10/2 0,12 * * *": ("*-*-* 00,12:05,07,09:00",),
    "0 0 1 1 *": ("*-01-01 00:00:00",),
    "30 4 1,15 * *": ("*-*-01,15 04:30:00",),
    "0 9 * * mon-fri": ("Mon..Fri *-*-* 09:00:00",),
    "0 9 * * 1-5": ("Mon..Fri *-*-* 09:00:00",),
    "0 0 * * 0": ("Sun *-*-* 00:00:00",),
    "0 0 * * 7": ("Sun *-*-* 00:00:00",),
    "0 0 * * 5-7": ("Sun,Fri..Sat *-*-* 00:00:00",),
    "0 0 * JAN-mar,dec sun": ("Sun *-01..03,12-* 00:00:00",),
    # cron's OR: both day fields restricted
    "0 12 13 * fri": ("Fri *-*-* 12:00:00", "*-*-13 12:00:00"),
    "0 0 1-7 * mon": ("Mon *-*-* 00:00:00", "*-*-01..07 00:00:00"),
    # '*' first: the day-of-month field counts as unrestricted (Vixie cron), so AND
    "0 0 */2 * mon": ("Mon *-*-01,03,05,07,09,11,13,15,17,19,21,23,25,27,29,31 00:00:00",),
    # and a day-of-week field starting with '*' still names its days, ANDed with the others
    "0 0 * * */2": ("Sun,Tue,Thu,Sat *-*-* 00:00:00",),
    "0 0 1 * */3": ("Sun,Wed,Sat *-*-01 00:00:00",),
    "0 0 31 2 *": ("*-02-31 00:00:00",),  # never, in cron as in systemd
    "@daily": ("*-*-* 00:00:00",),
    "@hourly": ("*-*-* *:00:00",),
    "@weekly": ("Sun *-*-* 00:00:00",),
    "@monthly": ("*-*-01 00:00:00",),
    "@yearly": ("*-01-01 00:00:00",),
}

BAD_EXPRESSIONS = {
    "* * * *": "5 fields",
    "* * * * * *": "5 fields",
    "60 * * * *": "minute",
    "* 24 * * *": "hour",
    "* * 0 * *": "day of month",
    "* * 32 * *": "day of month",
    "* * * 13 *": "month",
    "* * * * 8": "day of week",
    "* * * foo *": "month",
    "* * * * sunday": "day of week",
    "10-5 * * * *": "reversed",
    "*/0 * * * *": "step",
    "*/61 * * * *": "step",
    "*/x * * * *": "step",
    "5/10 * * * *": "single value",
    "1,,2 * * * *": "minute",
    "-1 * * * *": "minute",
    "+1 * * * *": "minute",
    "\u0661 * * * *": "minute",  # an Arabic-Indic digit: isdigit() but not cron's
    "@reboot": "unknown macro",
    "@every": "unknown macro",
}


def cron_matches(expression: str, when: datetime, ignore_time: bool = False) -> bool:
    """Our reference: does cron run ``expression`` at minute ``when`` (on day ``when``:
    ``ignore_time``)? Written from the cron(5) manual, apart from the translation."""
    fields = MACROS.get(expression, expression)
    _minute, _hour, dom, _month, dow = fields.split()
    schedule = parse_expression(expression)
    weekday = (when.weekday() + 1) % 7  # Python: Monday 0; cron: Sunday 0
    day_ok = when.day in schedule.days
    weekday_ok = weekday in schedule.weekdays
    if not dom.startswith("*") and not dow.startswith("*"):
        days = day_ok or weekday_ok
    else:
        days = day_ok and weekday_ok
    time_ok = ignore_time or (when.minute in schedule.minutes and when.hour in schedule.hours)
    return time_ok and when.month in schedule.months and days


def cron_next(expression: str, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` runs after ``after``: each day in turn (bounded: 8 years), then
    each minute of a day that matches."""
    found: list[datetime] = []
    start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = start.replace(hour=0, minute=0)
    while len(found) < count and day < after + timedelta(days=8 * 366):
        if cron_matches(expression, day, ignore_time=True):
            minutes = (day + timedelta(minutes=m) for m in range(24 * 60))
            found.extend(w for w in minutes if w >= start and cron_matches(expression, w))
        day += timedelta(days=1)
    return found[:count]


def test_reference_evaluator_knows_the_or_rule():
    """Friday the 13th's expression runs on every Friday and every 13th (cron(5))."""
    runs = cron_next("0 12 13 * fri", datetime(2026, 3, 1), 4)
    assert runs == [
        datetime(2026, 3, 6, 12),
        datetime(2026, 3, 13, 12),
        datetime(2026, 3, 20, 12),
        datetime(2026, 3, 27, 12),
    ]
    assert cron_next("0 0 */2 * mon", datetime(2026, 3, 1), 2) == [
        datetime(2026, 3, 9),
        datetime(2026, 3, 23),
    ]


@pytest.mark.parametrize(("expression", "expected"), TRANSLATIONS.items())
def test_translation(expression, expected):
    assert parse_expression(expression).on_calendar() == expected


@pytest.mark.parametrize(("expression", "reason"), BAD_EXPRESSIONS.items())
def test_bad_expressions_are_refused(expression, reason):
    with pytest.raises(ScheduleError, match=reason):
        parse_expression(expression)


def _systemd_next(lines: tuple[str, ...], base: datetime, count: int) -> list[datetime]:
    """The next ``count`` elapses of all ``lines`` together, by systemd-analyze (in UTC)."""
    result = subprocess.run(
        [
            "systemd-analyze",
            "calendar",
            f"--iterations={count}",
            f"--base-time={base:%Y-%m-%d %H:%M:%S}",
            *lines,
        ],
        capture_output=True,
        text=True,
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
        timeout=30,
        check=True,
    )
    times = re.findall(
        r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", result.stdout
    )
    assert len(times) == count * len(lines), result.stdout
    return sorted({datetime.fromisoformat(t) for t in times})[:count]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("expression", [e for e in TRANSLATIONS if e != "0 0 31 2 *"])
@pytest.mark.parametrize("base", [datetime(2026, 12, 5, 9, 31), datetime(2027, 2, 27, 23, 59)])
def test_systemd_runs_a_translation_when_cron_would(expression, base):
    """Next runs agree with the reference evaluator: systemd reads the lines as we mean them."""
    count = 6
    assert _systemd_next(parse_expression(expression).on_calendar(), base, count) == cron_next(
        expression, base, count
    )


def test_job_lines_from_the_procfile_and_the_option():
    procfile = parse_procfile(
        "web: gunicorn app:app\ncron-cleanup: 0 3 * * * python manage.py clearsessions\n"
        "cron_report: @daily ./report.sh --format=%Y\ncrony:   */5 * * * *   echo  a   b\nworker: celery\n"
    )
    jobs = from_procfile(procfile)
    assert [(j.name, j.expression, j.command) for j in jobs] == [
        ("cron-cleanup", "0 3 * * *", "python manage.py clearsessions"),
        ("cron_report", "@daily", "./report.sh --format=%Y"),
        ("crony", "*/5 * * * *", "echo  a   b"),
    ]
    option = from_option("# nightly\n\nrebuild: 0 1 * * sun  python manage.py update_index\r\n")
    assert [(j.name, j.on_calendar, j.command) for j in option] == [
        ("rebuild", ("Sun *-*-* 01:00:00",), "python manage.py update_index")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nightly 0 3 * * * true", "line 1 is not 'name: schedule command'"),
        ("a: 0 3 * * *", "line 1: job 'a' needs a schedule and then a command"),
        ("a: @daily", "needs a schedule and then a command"),
        ("a: @daily   ", "needs a schedule and then a command"),
        ("\n\nb c: 0 3 * * * true", "line 3: job name 'b c' is not"),
        ("a: 0 3 * * * echo \x1b[31m", "control character"),
        ("a: 0 3 * * * true\x00", "control character"),
        ("a: 99 3 * * * true", "line 1: job 'a': minute: '99'"),
        ("a: 0 3 * * * true\na: 0 4 * * * true", "'a' is declared twice"),
    ],
)
def test_bad_job_lines_name_the_line(text, message):
    with pytest.raises(ScheduleError, match=re.escape(message)):
        from_option(text)


def test_bad_procfile_cron_entry_names_the_entry():
    with pytest.raises(ScheduleError, match=r"Procfile entry 'cron-x': job 'cron-x': hour"):
        from_procfile(parse_procfile("cron-x: 0 25 * * * true\n"))


def test_option_and_procfile_jobs_share_names_and_a_limit():
    job = parse_job("cron-a", "@hourly true", "here")
    with pytest.raises(ScheduleError, match="declared twice"):
        jobs_of([job], [job])
    many = [parse_job(f"j{n}", "@hourly true", "here") for n in range(33)]
    with pytest.raises(ScheduleError, match="more than 32"):
        jobs_of(many)


def test_a_tab_in_the_command_is_kept():
    assert parse_job("a", "@daily\tprintf '%s\\t' x", "here").command == "printf '%s\\t' x"


def test_schedule_is_a_plain_value():
    assert parse_expression("0 0 * * 7") == Schedule(
        frozenset({0}),
        frozenset({0}),
        frozenset(range(1, 32)),
        frozenset(range(1, 13)),
        frozenset({0}),
        False,
        True,
    )
