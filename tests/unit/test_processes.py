"""Which Procfile process types run on a unit, and the options that say so."""

from __future__ import annotations

import pytest

from charms.layer.wsgi_app.config import ConfigError, parse_config
from charms.layer.wsgi_app.processes import Planned, ProcessPlan, parse_counts, parse_types, plan

TABLE = (
    ("web", "gunicorn app:app"),
    ("release", "python manage.py migrate"),
    ("worker", "celery -A proj worker"),
    ("beat", "celery -A proj beat"),
    ("cron-cleanup", "0 3 * * * python manage.py clearsessions"),
    ("mailer", "python mailer.py"),
)
LEADER_TYPES = ("beat", "clock", "scheduler")


@pytest.mark.parametrize(
    ("counts", "leader", "running", "stopped", "unknown"),
    [
        # every type once by default; web, release and cron* are not process types
        (
            {},
            True,
            (("worker", 1, False), ("beat", 1, True), ("mailer", 1, False)),
            (),
            (),
        ),
        # leader-only types stop off the leader
        ({}, False, (("worker", 1, False), ("mailer", 1, False)), ("beat",), ()),
        # counts, 0 turns a type off, a type the Procfile lacks is reported
        (
            {"worker": 3, "mailer": 0, "flower": 2},
            True,
            (("worker", 3, False), ("beat", 1, True)),
            ("mailer",),
            ("flower",),
        ),
        ({"beat": 0}, True, (("worker", 1, False), ("mailer", 1, False)), ("beat",), ()),
    ],
)
def test_the_plan_runs_each_type_as_counted_and_leader_types_on_the_leader(
    counts, leader, running, stopped, unknown
):
    result = plan(TABLE, counts, LEADER_TYPES, leader)
    assert [(p.name, p.count, p.leader_only) for p in result.running] == list(running)
    assert result.stopped == stopped
    assert result.unknown == unknown
    assert set(result.names) == {"worker", "beat", "mailer"}


def test_a_leader_only_type_runs_once_whatever_its_count():
    """beat=3 would run the schedule three times: one instance, and the plan says so."""
    on_leader = plan(TABLE, {"beat": 3, "worker": 3}, LEADER_TYPES, leader=True)
    assert [(p.name, p.count) for p in on_leader.running] == [("worker", 3), ("beat", 1), ("mailer", 1)]
    assert on_leader.capped == ("beat",)
    off_leader = plan(TABLE, {"beat": 3}, LEADER_TYPES, leader=False)
    assert off_leader.stopped == ("beat",) and off_leader.capped == ("beat",)
    assert plan(TABLE, {"beat": 1, "worker": 3}, LEADER_TYPES, leader=True).capped == ()


def test_a_planned_type_keeps_its_command_and_numbers_its_instances():
    (worker,) = plan((("worker", "celery -A proj worker"),), {"worker": 3}, (), leader=False).running
    assert worker == Planned("worker", "celery -A proj worker", 3)
    assert worker.instances() == ("1", "2", "3")


def test_a_procfile_with_web_alone_plans_nothing():
    assert plan((("web", "gunicorn app:app"),), {}, LEADER_TYPES, leader=True) == ProcessPlan()


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("", {}),
        ("worker=3 beat=1", {"worker": 3, "beat": 1}),
        (" worker=3,\nmailer=0 ", {"worker": 3, "mailer": 0}),
        ("my_queue-2=32", {"my_queue-2": 32}),
    ],
)
def test_process_counts_read(text, counts):
    assert parse_counts(text) == counts


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("worker", "is not type=count"),
        ("worker=x", "is not type=count"),
        ("worker=-1", "is not type=count"),
        ("worker=33", "at most 32"),
        ("worker=1 worker=2", "given twice"),
        ("web=3", "web is gunicorn"),
        ("release=1", "is not a process type the charm runs"),
        ("cron-cleanup=1", "is not a process type the charm runs"),
        ("wo$rker=1", "is not a process type name"),
        ("a/b=1", "is not a process type name"),
    ],
)
def test_bad_process_counts_are_refused_with_a_reason(text, says):
    with pytest.raises(ValueError, match=says):
        parse_counts(text)


def test_leader_processes_read_and_refuse_what_is_not_a_type():
    assert parse_types("beat clock,scheduler beat") == ("beat", "clock", "scheduler")
    assert parse_types("") == ()
    with pytest.raises(ValueError, match="not a process type the charm runs"):
        parse_types("beat web")


def test_the_options_default_to_one_instance_and_schedulers_on_the_leader():
    config = parse_config({})
    assert config.process_counts == {}
    assert config.leader_processes == LEADER_TYPES
    assert config.process_stop_timeout == 600


def test_bad_process_options_block_with_the_option_named():
    with pytest.raises(ConfigError) as raised:
        parse_config({"process_counts": "worker=lots", "process_stop_timeout": 0})
    assert [option for option, _ in raised.value.problems] == ["process_counts", "process_stop_timeout"]


def test_a_new_leader_announces_itself_once_so_the_old_one_hears_of_it(monkeypatch):
    """The unit that led runs no hook when leadership moves; the new leader's leader-set
    runs leader-settings-changed there. Written once: an idle hook writes nothing."""
    from charms.layer.wsgi_app import unit

    settings: dict[str, str] = {"leader_unit": "shop/0"}
    writes: list[dict[str, str]] = []
    monkeypatch.setenv("JUJU_UNIT_NAME", "shop/1")
    monkeypatch.setattr(unit.hookenv, "is_leader", lambda: True)
    monkeypatch.setattr(unit.hookenv, "leader_get", lambda: dict(settings))
    monkeypatch.setattr(
        unit.hookenv, "leader_set", lambda values: (writes.append(values), settings.update(values))
    )
    monkeypatch.setattr(unit.hookenv, "log", lambda *a, **k: None)
    unit.announce_leader()
    unit.announce_leader()
    assert writes == [{"leader_unit": "shop/1"}]


def test_a_follower_announces_nothing(monkeypatch):
    from charms.layer.wsgi_app import unit

    monkeypatch.setenv("JUJU_UNIT_NAME", "shop/0")
    monkeypatch.setattr(unit.hookenv, "is_leader", lambda: False)
    monkeypatch.setattr(unit.hookenv, "leader_get", lambda: {})
    monkeypatch.setattr(
        unit.hookenv, "leader_set", lambda values: pytest.fail("a follower wrote leader settings")
    )
    unit.announce_leader()


def test_leadership_is_part_of_what_the_unit_applies():
    """A unit that stops or starts leading applies again (its leader-only types change)."""
    from dataclasses import replace

    from charms.layer.wsgi_app.plan import Hook, fingerprint
    from charms.layer.wsgi_app.state import Machine, WsgiState

    state = WsgiState(app_name="shop", config=parse_config({}), machine=Machine(1, 1 << 30), secret_key="k")
    hook = Hook("leader-settings-changed", leader=False)
    assert fingerprint(state, hook) != fingerprint(replace(state, leader=True), hook)
