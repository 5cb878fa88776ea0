"""Which unit may switch to a release that needs release_command (deploy.waits_for_leader)."""

import pytest

from charms.layer.wsgi_app.deploy import waits_for_leader


@pytest.mark.parametrize(
    ("command", "leader", "released", "wanted"),
    [
        ("", False, "", False),  # nothing to run: every unit switches at once
        ("manage.py migrate", True, "", False),  # the leader runs it itself
        ("manage.py migrate", False, "", True),  # the leader has not run it yet
        ("manage.py migrate", False, "older", True),  # it ran it for another release
        ("manage.py migrate", False, "spec-1", False),  # it ran it for this one
    ],
)
def test_a_unit_waits_only_for_a_release_command_the_leader_has_not_run(
    command: str, leader: bool, released: str, wanted: bool
) -> None:
    assert waits_for_leader(command, leader, released, "spec-1") is wanted
