from __future__ import annotations

import os

import pytest

from charms.layer.wsgi_app.apply import Action, Running, decide, write_if_changed

RUNNING = Running(venv="/srv/a/venvs/1")


def choose(**changes):
    base = dict(
        socket_changed=False,
        unit_changed=False,
        conf_changed=False,
        settings_changed=False,
        release_changed=False,
        running=RUNNING,
        venv="/srv/a/venvs/1",
        active=True,
    )
    return decide(**{**base, **changes})


def test_nothing_changed_does_nothing():
    assert choose() is Action.NONE


@pytest.mark.parametrize("change", ["conf_changed", "settings_changed", "release_changed"])
def test_settings_config_and_code_reload(change):
    assert choose(**{change: True}) is Action.RELOAD


def test_venv_unit_or_stopped_service_restart():
    assert choose(release_changed=True, venv="/srv/a/venvs/2") is Action.RESTART
    assert choose(unit_changed=True) is Action.RESTART
    assert choose(active=False) is Action.RESTART
    assert choose(running=None) is Action.RESTART


def test_port_change_restarts_the_socket():
    assert choose(socket_changed=True, settings_changed=True) is Action.RESTART_SOCKET


def test_write_if_changed_is_atomic_and_idempotent(tmp_path):
    target = tmp_path / "settings.env"
    assert write_if_changed(target, "A=1\n", 0o640) is (os.getuid() == 0 or True)
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert write_if_changed(target, "A=1\n", 0o640) is False
    assert write_if_changed(target, "A=2\n", 0o640) is True
    assert target.read_text() == "A=2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.env"]
