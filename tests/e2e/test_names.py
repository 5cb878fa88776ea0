"""Names the machine already uses: the charm deployed as ``www-data`` (a system user) and
as ``dbus`` (units of the machine's own) is blocked at install, says why, runs later hooks
without an error, and leaves the user, the directories and the machine's units as they were.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from localmodel import LocalModel

WWW_DATA = "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin"  # Debian's base-passwd


@pytest.fixture(scope="module")
def taken(model: LocalModel, charm: Path) -> LocalModel:
    model.cli("deploy", str(charm), "www-data")
    model.cli("deploy", str(charm), "dbus")
    return model


def blocked_because(model: LocalModel, unit: str) -> str:
    info = model.unit(unit)
    assert info["agent-status"] == "idle" and info["workload-status"] == "blocked", info
    return str(info["message"])


def test_a_system_users_name_is_refused_and_the_user_left_alone(taken: LocalModel) -> None:
    unit = "www-data/0"
    assert blocked_because(taken, unit) == (
        "the application name 'www-data' is taken on this machine (the machine has a user 'www-data'): "
        "deploy the charm under another name"
    )
    assert taken.sh("getent passwd www-data", unit).strip() == WWW_DATA
    assert taken.sh("ls -d /srv/www-data /etc/www-data 2>/dev/null || true", unit) == ""
    taken.cli("config", "www-data", "port=8093")  # a later hook: refused again, no hook error
    assert "is taken on this machine" in blocked_because(taken, unit)
    assert taken.sh("ls /etc/systemd/system | grep -c www-data || true", unit).strip() == "0"


def test_a_name_of_the_machines_units_is_refused_and_its_units_left_alone(taken: LocalModel) -> None:
    unit = "dbus/0"
    assert "(the machine has a systemd unit dbus.socket)" in blocked_because(taken, unit)
    written = "ls /etc/systemd/system/dbus.socket /etc/systemd/system/dbus@.service 2>/dev/null || true"
    assert taken.sh(written, unit) == ""
    assert taken.sh("systemctl is-active dbus.socket dbus.service", unit).split() == ["active", "active"]
    assert taken.sh("getent passwd dbus || true", unit) == ""  # no user was made for it
