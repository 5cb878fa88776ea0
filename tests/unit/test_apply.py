from __future__ import annotations

import os
from dataclasses import replace

import pytest

from charms.layer.wsgi_app.apply import Action, Target, decide, digest
from charms.layer.wsgi_app.service import Running, other_slot
from charms.layer.wsgi_app.writes import write_if_changed

TARGET = Target(release="20261201-abc1234", port=8080, units="u1", config="c1")
RUNNING = Running(slot="a", **vars(TARGET))


def test_nothing_changed_does_nothing():
    assert decide(RUNNING, True, TARGET) is Action.NONE


def test_settings_or_gunicorn_options_reload_the_serving_slot():
    assert decide(RUNNING, True, replace(TARGET, config="c2")) is Action.RELOAD


@pytest.mark.parametrize("change", [{"release": "20261202-def5678"}, {"port": 8081}, {"units": "u2"}])
def test_a_release_a_port_or_a_unit_is_handed_over_to_the_other_slot(change):
    assert decide(RUNNING, True, replace(TARGET, **change, config="c2")) is Action.HANDOVER


def test_nothing_running_or_no_record_starts():
    assert decide(RUNNING, False, TARGET) is Action.START
    assert decide(None, True, TARGET) is Action.START


def test_slots_alternate():
    assert other_slot("a") == "b"
    assert other_slot("b") == "a"
    assert other_slot(None) == "a"


def test_digest_separates_its_parts():
    assert digest("ab", "c") != digest("a", "bc")
    assert digest("x") == digest("x")


def test_write_if_changed_is_atomic_and_idempotent(tmp_path):
    target = tmp_path / "settings.env"
    assert write_if_changed(target, "A=1\n", 0o640) is True
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert write_if_changed(target, "A=1\n", 0o640) is False
    assert write_if_changed(target, "A=2\n", 0o640) is True
    assert target.read_text() == "A=2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.env"]
    assert target.stat().st_uid == 0 or os.getuid() != 0
