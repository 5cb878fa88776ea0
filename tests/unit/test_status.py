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


def test_the_process_types_say_how_many_instances_are_active():
    status = unit_status(
        release=RELEASE, port=8080, processes=(("worker", 3, 3), ("beat", 0, 1)), waiting="waiting for db"
    )
    assert status == Status(
        "waiting", "serving demo (abc1234) on :8080; worker 3/3; beat 0/1; waiting for db"
    )


def test_problem_blocks_even_while_serving():
    assert unit_status(release=RELEASE, port=8080, problem="invalid config port: x").workload == "blocked"


def test_waiting_keeps_saying_what_serves():
    status = unit_status(release=RELEASE, port=8080, waiting="waiting for db (access not granted)")
    assert status == Status("waiting", "serving demo (abc1234) on :8080; waiting for db (access not granted)")


def test_stopped_service_is_blocked():
    assert unit_status(release=RELEASE, port=8080, service_active=False).workload == "blocked"


def test_a_status_is_set_once_until_it_changes_even_across_hooks(monkeypatch) -> None:
    """Display starts from what the memory says was shown, and says what it shows now."""
    from charms.layer.wsgi_app import status
    from charms.layer.wsgi_app.memory import Memory

    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(
        status.hookenv, "status_set", lambda workload, message: calls.append((workload, message))
    )
    display = status.Display(Memory(status=("active", "ready")))
    display.show(Status("active", "ready"))  # shown by an earlier hook
    display.show(Status("maintenance", "building"))
    display.show(Status("active", "ready"))
    display.show(Status("active", "ready"))
    assert calls == [("maintenance", "building"), ("active", "ready")]
    assert display.remembered(Memory()).status == ("active", "ready")


def test_a_failed_scheduled_job_is_told_without_blocking():
    status = unit_status(release=RELEASE, port=8080, failed_jobs=("cron-cleanup", "report"))
    assert status == Status(
        "active", "serving demo (abc1234) on :8080; last run failed: cron-cleanup, report (see the journal)"
    )
    waiting = unit_status(release=RELEASE, port=8080, waiting="waiting for db", failed_jobs=("report",))
    assert waiting == Status(
        "waiting",
        "serving demo (abc1234) on :8080; waiting for db; last run failed: report (see the journal)",
    )


def test_where_a_rolling_release_stands_is_told_on_every_unit():
    from charms.layer.wsgi_app.rollout import Standing

    ahead = Standing("rollout of abc1234: 1/3 switched, waiting for shop/1", held=False, at="shop/1")
    held = Standing("rollout of abc1234 halted at shop/1: health check failed", held=True, at="shop/1")
    assert unit_status(release=RELEASE, port=8080, rollout=ahead) == Status(
        "active", f"serving demo (abc1234) on :8080; {ahead.text}"
    )
    assert unit_status(release=RELEASE, port=8080, rollout=held) == Status(
        "waiting", f"serving demo (abc1234) on :8080; {held.text}"
    )
    assert unit_status(release=RELEASE, port=8080, problem="release x failed", rollout=held) == Status(
        "blocked", f"release x failed; {held.text}"
    )
