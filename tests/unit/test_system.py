"""system.name_taken: an application name that is the machine's own is never used."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from charms.layer.wsgi_app import deploy, errors, system
from charms.layer.wsgi_app.paths import Paths


def lookup(entries: dict[str, object]):
    def find(name: str) -> object:
        return entries[name]  # KeyError, as pwd and grp raise, for a name not there

    return find


@pytest.fixture
def machine(tmp_path: Path):
    """An empty machine: no users, groups, application directories or units."""
    units = tmp_path / "lib-systemd"
    units.mkdir()
    return SimpleNamespace(
        paths=lambda name: Paths.for_app(name, root=tmp_path / "srv", etc=tmp_path / "etc"),
        units=units,
        users={},
        groups={},
    )


def taken(machine, name: str) -> str:
    return system.name_taken(
        machine.paths(name),
        unit_dirs=(str(machine.units),),
        users=lookup(machine.users),
        groups=lookup(machine.groups),
    )


def test_a_name_nothing_uses_is_free(machine):
    assert taken(machine, "shop") == ""


def test_the_charms_own_user_from_an_earlier_hook_is_free(machine):
    machine.users["shop"] = SimpleNamespace(
        pw_gecos=system.user_comment("shop") + ",,,"
    )  # as adduser writes it
    machine.groups["shop"] = object()
    machine.paths("shop").etc.mkdir(parents=True)
    assert taken(machine, "shop") == ""


@pytest.mark.parametrize("user", ["www-data", "postgres"])
def test_a_system_user_is_refused(machine, user):
    machine.users[user] = SimpleNamespace(pw_gecos=user)
    assert taken(machine, user) == f"the machine has a user {user!r}"


def test_a_system_group_without_its_user_is_refused(machine):
    machine.groups["adm"] = object()
    assert taken(machine, "adm") == "the machine has a group 'adm'"


@pytest.mark.parametrize("where", ["etc", "root"])
def test_an_existing_directory_is_refused(machine, where):
    directory = getattr(machine.paths("apt"), where)
    directory.parent.mkdir(parents=True, exist_ok=True)
    directory.symlink_to("/nowhere")  # even a dangling link is somebody's
    assert taken(machine, "apt") == f"{directory} exists"


@pytest.mark.parametrize("unit", ["ssh.socket", "ssh@.service", "ssh.service", "ssh-metrics.service"])
def test_a_unit_of_the_same_name_is_refused(machine, unit):
    (machine.units / unit).write_text("[Unit]\n")
    assert taken(machine, "ssh") == f"the machine has a systemd unit {unit}"


def test_prepare_raises_before_it_touches_anything(monkeypatch, tmp_path):
    touched = []
    monkeypatch.setattr(system, "name_taken", lambda paths: "the machine has a user 'www-data'")
    monkeypatch.setattr(system, "install_packages", touched.append)
    monkeypatch.setattr(system, "ensure_user", touched.append)
    with pytest.raises(errors.NameTaken) as caught:
        deploy.prepare(Paths.for_app("www-data", root=tmp_path))
    assert touched == []
    assert str(caught.value) == (
        "the application name 'www-data' is taken on this machine (the machine has a user 'www-data'):"
        " deploy the charm under another name"
    )


@pytest.mark.parametrize("name", ["Shop", "a b", "shop/0", "shop%i", "-shop", "shop-1", "x\ny", ""])
def test_paths_take_only_juju_application_names(name):
    with pytest.raises(ValueError, match="not a Juju application name"):
        Paths.for_app(name)


def test_juju_application_names_make_paths():
    assert Paths.for_app("shop-eu1").service_template == "shop-eu1@.service"


def test_units_of_the_system_or_another_application_are_foreign(machine):
    """A unit name the charm would write is foreign when the system has it, or when the
    file in /etc/systemd/system is not this application's (it reads another settings file)."""
    paths = Paths.for_app(
        "shop",
        root=machine.units.parent / "srv",
        etc=machine.units.parent / "etc",
        systemd=machine.units.parent / "etc-systemd",
    )
    paths.systemd.mkdir()
    (machine.units / "shop-getty@.service").write_text("[Service]\n")
    (paths.systemd / "shop-api@.service").write_text("EnvironmentFile=/etc/shop-api/settings.env\n")
    (paths.systemd / "shop-worker@.service").write_text(f"EnvironmentFile={paths.settings_file}\n")
    (paths.systemd / "shop-link@.service").symlink_to(paths.systemd / "shop-worker@.service")
    units = [f"shop-{name}@.service" for name in ("getty", "api", "worker", "link", "new")]
    found = system.foreign_units(paths, units, unit_dirs=(str(paths.systemd), str(machine.units)))
    assert found == ("shop-getty@.service", "shop-api@.service", "shop-link@.service")
