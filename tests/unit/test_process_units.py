"""Bringing the process types' units to the plan: what to start, restart and stop, and the
systemctl calls that do it (recorded, with systemctl replaced)."""

from __future__ import annotations

import pytest

from charms.layer.wsgi_app import commands, process_units
from charms.layer.wsgi_app.paths import Paths
from charms.layer.wsgi_app.process_units import Applied, Changes, ProcessUnits, changes, wanted

PATHS = Paths.for_app("shop")


def units(*names: str) -> tuple[str, ...]:
    return tuple(f"shop-{name}.service" for name in names)


@pytest.mark.parametrize(
    ("applied", "target", "expected"),
    [
        # nothing ran: every instance starts
        ({}, {"worker": Applied(2, "d1")}, Changes(start=units("worker@1", "worker@2"))),
        # nothing changed: keep starts, without waiting, what died for good (a no-op for
        # what runs)
        (
            {"worker": Applied(2, "d1")},
            {"worker": Applied(2, "d1")},
            Changes(keep=units("worker@1", "worker@2")),
        ),
        # a new release, config or relation: every instance restarts
        (
            {"worker": Applied(2, "d1")},
            {"worker": Applied(2, "d2")},
            Changes(restart=units("worker@1", "worker@2")),
        ),
        # more instances: the new ones start; fewer: the extra ones stop
        (
            {"worker": Applied(1, "d1")},
            {"worker": Applied(3, "d1")},
            Changes(start=units("worker@2", "worker@3"), keep=units("worker@1")),
        ),
        (
            {"worker": Applied(3, "d1")},
            {"worker": Applied(1, "d1")},
            Changes(keep=units("worker@1"), stop=units("worker@2", "worker@3")),
        ),
        # a type no longer run here (count 0, not the leader, gone from the Procfile)
        (
            {"worker": Applied(1, "d1"), "beat": Applied(1, "d1")},
            {"worker": Applied(1, "d1")},
            Changes(keep=units("worker@1"), stop=units("beat@1"), remove=("beat",)),
        ),
        ({"beat": Applied(1, "d1")}, {}, Changes(stop=units("beat@1"), remove=("beat",))),
        ({}, {}, Changes()),
    ],
)
def test_changes_start_restart_and_stop_only_what_the_plan_changes(applied, target, expected):
    assert changes(PATHS, applied, target) == expected


def test_the_digest_covers_the_unit_and_the_settings():
    base = wanted({"worker": "unit"}, {"worker": 2}, "A=1")
    assert base == {"worker": Applied(2, base["worker"].digest)}
    assert wanted({"worker": "unit2"}, {"worker": 2}, "A=1") != base
    assert wanted({"worker": "unit"}, {"worker": 2}, "A=2") != base


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """ProcessUnits on a temporary /etc and unit directory; systemctl calls recorded."""
    paths = Paths.for_app("shop", root=tmp_path / "srv", etc=tmp_path / "etc", systemd=tmp_path / "systemd")
    paths.etc.mkdir(parents=True)
    paths.systemd.mkdir()
    calls: list[list[str]] = []
    monkeypatch.setattr(process_units, "run", lambda what, argv, **_: calls.append(argv[1:]))
    return ProcessUnits(paths), calls


def test_a_release_restarts_the_instances_without_waiting_and_an_idle_apply_only_starts(machine):
    service, calls = machine
    service.converge({"worker": "v1"}, {"worker": 2}, "A=1")
    assert calls == [
        ["daemon-reload"],
        ["enable", "--now", "--quiet", "shop-worker@1.service", "shop-worker@2.service"],
    ]
    assert (service.paths.systemd / "shop-worker@.service").read_text() == "v1"
    calls.clear()
    service.converge({"worker": "v1"}, {"worker": 2}, "A=1")
    assert calls == [
        ["enable", "--now", "--no-block", "--quiet", "shop-worker@1.service", "shop-worker@2.service"]
    ]
    calls.clear()
    service.converge({"worker": "v2"}, {"worker": 2}, "A=1")
    assert calls == [
        ["daemon-reload"],
        ["restart", "--no-block", "shop-worker@1.service", "shop-worker@2.service"],
    ]


def test_a_leadership_change_does_not_wait_for_workers_still_finishing_their_tasks(machine):
    """The old leader stops its beat while the workers a release restarted may still be
    finishing their tasks (process_stop_timeout): starting those again must not wait for
    that, which held the hook and failed it ("process types did not start")."""
    service, calls = machine
    service.converge({"worker": "v1", "beat": "b1"}, {"worker": 2, "beat": 1}, "")
    calls.clear()
    service.converge({"worker": "v1"}, {"worker": 2}, "")
    waited = [
        argv for argv in calls if argv[0] in {"enable", "start", "restart"} and "--no-block" not in argv
    ]
    assert waited == []


def test_settings_alone_restart_the_instances(machine):
    service, calls = machine
    service.converge({"worker": "v1"}, {"worker": 1}, "A=1")
    calls.clear()
    service.converge({"worker": "v1"}, {"worker": 1}, "A=2")
    assert calls == [["restart", "--no-block", "shop-worker@1.service"]]


def test_a_type_turned_off_stops_and_its_template_goes(machine):
    service, calls = machine
    service.converge({"worker": "v1", "beat": "b1"}, {"worker": 1, "beat": 1}, "")
    calls.clear()
    service.converge({"worker": "v1"}, {"worker": 1}, "")
    assert calls == [
        ["disable", "--now", "--no-block", "--quiet", "shop-beat@1.service"],
        ["daemon-reload"],  # after the template is gone: systemd forgets it
        ["enable", "--now", "--no-block", "--quiet", "shop-worker@1.service"],
    ]
    assert not (service.paths.systemd / "shop-beat@.service").exists()
    assert service.applied() == {"worker": Applied(1, service.applied()["worker"].digest)}


def test_removing_the_unit_stops_everything_and_forgets_it(machine):
    service, calls = machine
    service.converge({"worker": "v1"}, {"worker": 2}, "")
    calls.clear()
    service.remove()
    assert [
        "disable",
        "--now",
        "--no-block",
        "--quiet",
        "shop-worker@1.service",
        "shop-worker@2.service",
    ] in calls
    assert list(service.paths.systemd.iterdir()) == [] and not service.state_file.exists()


def test_an_unreadable_record_counts_as_nothing_running(machine):
    service, _ = machine
    service.state_file.write_text("[1, 2]")
    assert service.applied() == {}
    assert service.active_counts() == ()  # and no systemctl call


def test_active_counts_ask_systemctl_once_for_every_instance(machine, monkeypatch):
    service, _ = machine
    service.converge({"worker": "v1", "beat": "b1"}, {"worker": 3, "beat": 1}, "")
    asked: list[list[str]] = []

    class Done:
        stdout = "active\nfailed\nactive\nactivating\n"

    def fake_run(argv, **_):
        asked.append(argv)
        return Done()

    monkeypatch.setattr(commands.subprocess, "run", fake_run)
    assert service.active_counts() == (("worker", 2, 3), ("beat", 0, 1))  # in the Procfile's order
    assert asked == [["systemctl", "is-active", *units("worker@1", "worker@2", "worker@3", "beat@1")]]
