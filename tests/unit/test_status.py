from __future__ import annotations

from charms.layer.wsgi_app.releases import Release
from charms.layer.wsgi_app.status import Status, unit_status

RELEASE = Release(
    id="20261124-abc1234",
    commit="abc1234" * 5,
    label="demo",
    version="abc1234",
    wsgi_app="demo:application",
    venv="/v",
    spec="s",
    created=0.0,
)


def test_active_names_what_is_served():
    assert unit_status(release=RELEASE, port=8080) == Status("active", "serving demo (abc1234) on :8080")


def test_problem_blocks_even_while_serving():
    assert unit_status(release=RELEASE, port=8080, problem="invalid config port: x").workload == "blocked"


def test_waiting_keeps_saying_what_serves():
    status = unit_status(release=RELEASE, port=8080, waiting="waiting for db (access not granted)")
    assert status == Status("waiting", "serving demo (abc1234) on :8080; waiting for db (access not granted)")


def test_stopped_service_is_blocked():
    assert unit_status(release=RELEASE, port=8080, service_active=False).workload == "blocked"


def test_a_status_is_set_once_until_it_changes_even_across_failed_hooks(monkeypatch, tmp_path) -> None:
    """The record is a file written at once: unit data would be dropped with a failed hook,
    while the status that hook set stays."""
    from charms.layer.wsgi_app import unit
    from charms.layer.wsgi_app.status import Status

    charm = tmp_path / "charm"
    charm.mkdir()
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(unit.hookenv, "charm_dir", lambda: str(charm))
    monkeypatch.setattr(
        unit.hookenv, "status_set", lambda workload, message: calls.append((workload, message))
    )
    unit.set_status(Status("active", "ready"))
    unit.set_status(Status("active", "ready"))
    unit.set_status(Status("maintenance", "building"))
    unit.set_status(Status("active", "ready"))
    assert calls == [("active", "ready"), ("maintenance", "building"), ("active", "ready")]
    assert (tmp_path / ".wsgi-app-status.json").exists()
