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
