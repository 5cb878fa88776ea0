"""Scheduled jobs on the machine: which jobs a release has, and what the timers' converge
asks of systemd on the leader and on the other units (pure decide)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from charms.layer.wsgi_app.config import parse_config
from charms.layer.wsgi_app.releases import Release
from charms.layer.wsgi_app.render import render_job_units
from charms.layer.wsgi_app.schedules import ScheduleError
from charms.layer.wsgi_app.timers import Changes, decide, planned

RELEASE = Release(
    id="20261205093000-abc1234",
    commit="abc1234" * 5,
    label="shop",
    version="abc1234",
    wsgi_app="app:app",
    venv="/v",
    spec="s",
    created=0.0,
    processes=(("web", "gunicorn app:app"), ("cron-cleanup", "0 3 * * * ./cleanup"), ("worker", "celery")),
)


def test_a_release_has_its_procfile_jobs_then_the_options(demo_state):
    state = replace(demo_state, config=parse_config({"scheduled_jobs": "report: @hourly ./report"}))
    assert [job.name for job in planned(state, RELEASE)] == ["cron-cleanup", "report"]
    assert planned(state, None) == ()


def test_a_job_named_twice_across_procfile_and_option_is_refused(demo_state):
    state = replace(demo_state, config=parse_config({"scheduled_jobs": "cleanup: @hourly ./other"}))
    with pytest.raises(ScheduleError, match="declared twice"):
        planned(state, RELEASE)


@pytest.fixture
def units(demo_state):
    return render_job_units(demo_state, planned(demo_state, RELEASE), RELEASE)


TIMER = "wsgi-app-cron-cleanup.timer"
SERVICE = "wsgi-app-cron-cleanup.service"


def test_units_of_a_job(units):
    assert sorted(units) == [SERVICE, TIMER]


def test_the_leader_installs_and_starts_the_timers(units):
    assert decide(units, {}, frozenset(), leader=True) == Changes(write=(SERVICE, TIMER), start=(TIMER,))


def test_another_unit_installs_them_stopped(units):
    assert decide(units, {}, frozenset(), leader=False) == Changes(write=(SERVICE, TIMER))


def test_nothing_to_do_when_in_place(units):
    assert decide(units, units, frozenset({TIMER}), leader=True) == Changes()
    assert decide(units, units, frozenset(), leader=False) == Changes()
    assert not Changes().reload


def test_leadership_moves_the_timers(units):
    """leader-elected on the new leader starts them; the old leader stops them."""
    assert decide(units, units, frozenset(), leader=True) == Changes(start=(TIMER,))
    assert decide(units, units, frozenset({TIMER}), leader=False) == Changes(stop=(TIMER,))


def test_a_changed_schedule_restarts_the_leaders_timer(units):
    before = {**units, TIMER: units[TIMER].replace("03:00:00", "04:00:00")}
    changes = decide(units, before, frozenset({TIMER}), leader=True)
    assert changes == Changes(write=(TIMER,), restart=(TIMER,)) and changes.reload


def test_a_removed_job_is_stopped_and_its_units_removed(units):
    changes = decide({}, units, frozenset({TIMER}), leader=True)
    assert changes == Changes(remove=(SERVICE, TIMER), stop=(TIMER,))
    assert decide({}, units, frozenset(), leader=False) == Changes(remove=(SERVICE, TIMER))


def test_a_job_runs_in_the_release_with_its_environment_as_the_process_types_do(demo_state):
    """The serving release's additions (a Django settings overlay, found on PYTHONPATH among
    the charm's modules) reach the job over the settings file, encoded, exactly as they
    reach a process type's instances."""
    from charms.layer.wsgi_app.processes import Planned
    from charms.layer.wsgi_app.render import render_process_unit

    environment = (("DJANGO_SETTINGS_MODULE", "wsgi_app_django_settings"), ("ODD", 'a "b" $c 100%'))
    release = replace(RELEASE, environment=environment)
    service = render_job_units(demo_state, planned(demo_state, release), release)[SERVICE]
    job_start = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    assert '"DJANGO_SETTINGS_MODULE=wsgi_app_django_settings" "ODD=a \\"b\\" $$c 100%%"' in job_start
    assert "/usr/local/lib/wsgi-app/python" in job_start and job_start.endswith('/bin/sh -c "./cleanup"')
    worker = render_process_unit(demo_state, release, Planned("worker", "celery", 1, False))
    assert job_start.split(" /bin/")[0] in worker  # the same env prefix
    assert f"WorkingDirectory=/srv/wsgi-app/releases/{RELEASE.id}/app\n" in service
    assert render_job_units(demo_state, planned(demo_state, release), None) == {}


def test_the_timers_follow_the_one_leadership_announcement(demo_state, monkeypatch):
    """The leader's timers run because it leads; it writes no leader setting of its own for
    them (the old leader hears ``leader_unit``, which unit.announce_leader writes)."""
    from charms.layer.wsgi_app import reconcile
    from charms.layer.wsgi_app.plan import Hook, Outcome, Plan, Step

    converged: list[bool] = []
    monkeypatch.setattr(reconcile, "leader_set", lambda values: pytest.fail(f"wrote {values}"))
    monkeypatch.setattr(reconcile.timers, "converge", lambda paths, units, leader: converged.append(leader))
    monkeypatch.setattr(reconcile.timers, "failed_jobs", lambda paths, jobs: ("cron-cleanup",))
    outcome = reconcile.schedule_jobs(
        demo_state, Plan(Step.REPORT), Hook("leader-elected", leader=True), Outcome(release=RELEASE)
    )
    assert converged == [True] and outcome.failed_jobs == ("cron-cleanup",)
