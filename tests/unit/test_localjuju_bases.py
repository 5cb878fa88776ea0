"""localjuju's machine bases: which names it boots, the wheels and image each one gets
(bookworm's image keeps its cache name), deploy and add-unit taking one (add-unit refusing
another than its application's), and status showing each machine's base. A bundle's
bases: test_localjuju_bundles.py."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from localjuju import bases, cli, deploying, machines, status_view
from localjuju.bases import BaseError
from localjuju.model import Model

BOOKWORM, TRIXIE = bases.BASES["debian@12"], bases.BASES["debian@13"]


@pytest.fixture(autouse=True)
def localjuju_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOCALJUJU_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOCALJUJU_CACHE", str(tmp_path / "cache"))
    return tmp_path


# -- names ---------------------------------------------------------------------------------


def test_the_two_debian_bases_parse_and_bookworm_is_the_default() -> None:
    assert bases.parse("debian@12") is BOOKWORM and bases.DEFAULT is BOOKWORM
    assert bases.parse("debian@13") is TRIXIE
    assert bases.parse(" debian@13/stable ") is TRIXIE  # Juju's default risk, spelt out
    assert (TRIXIE.suite, TRIXIE.python, TRIXIE.abi, TRIXIE.systemd) == ("trixie", "3.13", "cp313", 257)
    assert (BOOKWORM.suite, BOOKWORM.python, BOOKWORM.abi, BOOKWORM.systemd) == (
        "bookworm",
        "3.11",
        "cp311",
        252,
    )


@pytest.mark.parametrize("text", ["ubuntu@22.04", "debian@11", "debian@13/edge", "debian", "trixie", ""])
def test_any_other_base_is_refused_naming_the_supported_ones(text: str) -> None:
    with pytest.raises(BaseError) as raised:
        bases.parse(text)
    assert str(raised.value) == f"base {text!r} is not supported (supported: debian@12, debian@13)"


def test_each_base_gets_the_wheels_of_its_glibc() -> None:
    assert BOOKWORM.platforms() == (
        "manylinux2014_x86_64",
        *(f"manylinux_2_{minor}_x86_64" for minor in range(17, 37)),  # glibc 2.36
    )
    assert TRIXIE.platforms()[-1] == "manylinux_2_41_x86_64" and len(TRIXIE.platforms()) == 1 + 25


def test_the_command_line_refuses_an_unknown_base(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["deploy", "build/wsgi-app", "--base", "ubuntu@24.04"])
    assert "base 'ubuntu@24.04' is not supported (supported: debian@12, debian@13)" in capsys.readouterr().err


# -- images and wheels -----------------------------------------------------------------------


def fake_debootstrap(calls: list[list[str]]) -> Any:
    """subprocess.run for :func:`machines.image`: records debootstrap's argv and makes the
    directories it would."""

    def run(argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        (Path(argv[-2]) / "etc/ssl/certs").mkdir(parents=True)
        return subprocess.CompletedProcess(argv, 0)

    return run


def test_bookworm_keeps_its_image_name_and_trixie_has_its_suite_in_its(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert machines.image_key("base", BOOKWORM) == "base"  # today's cache stays valid
    assert machines.image_key("base", TRIXIE) == "base-trixie"
    calls: list[list[str]] = []
    monkeypatch.setattr(machines.subprocess, "run", fake_debootstrap(calls))
    trixie = machines.image(base=TRIXIE)
    assert trixie == machines.cache_dir() / "images" / "base-trixie"
    assert calls[0][:2] == ["debootstrap", "--variant=minbase"] and calls[0][3:] == [
        "trixie",
        str(machines.cache_dir() / "images" / ".base-trixie.building"),
        machines.MIRROR,
    ]
    assert (trixie / ".localjuju-image").is_file() and (trixie / "etc/machine-id").read_text() == ""
    bookworm = machines.image()
    assert bookworm == machines.cache_dir() / "images" / "base" and calls[1][3] == "bookworm"
    assert machines.image(base=TRIXIE) == trixie and len(calls) == 2  # cached: built once


def test_an_image_cached_before_there_were_bases_is_bookworms(monkeypatch: pytest.MonkeyPatch) -> None:
    cached = machines.cache_dir() / "images" / "base"
    cached.mkdir(parents=True)
    (cached / ".localjuju-image").write_text(" ".join(machines.IMAGE_PACKAGES["base"]) + "\n")
    calls: list[list[str]] = []
    monkeypatch.setattr(machines.subprocess, "run", fake_debootstrap(calls))
    assert machines.image(base=BOOKWORM) == cached and calls == []
    assert machines.image(base=TRIXIE) != cached and calls[0][3] == "trixie"


@pytest.mark.parametrize("base", [BOOKWORM, TRIXIE])
def test_wheels_are_fetched_for_the_bases_python(base: bases.Base, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(
        machines.subprocess,
        "run",
        lambda argv, **_: calls.append(argv) or subprocess.CompletedProcess(argv, 0),
    )
    machines.wheelhouse(["gunicorn>=27,<28"], machines.cache_dir() / "dest", base)
    (command,) = calls  # resolved offline from the host's cache
    assert command[command.index("--python-version") + 1] == base.python
    assert command[command.index("--abi") + 1] == base.abi
    assert [arg for arg in command if arg.startswith("--platform=")] == [
        f"--platform={platform}" for platform in base.platforms()
    ]
    assert "--no-index" in command


# -- deploy and add-unit ---------------------------------------------------------------------


def recorded(monkeypatch: pytest.MonkeyPatch, name: str) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(cli.deploying, name, lambda *args: calls.append(args))
    return calls


def test_deploy_takes_the_base_to_the_charms_machines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = recorded(monkeypatch, "deploy")
    cli.deploy(cli.parser().parse_args(["deploy", str(tmp_path), "--base", "debian@13"]), "m")
    cli.deploy(cli.parser().parse_args(["deploy", str(tmp_path)]), "m")
    assert [call[-1] for call in calls] == [TRIXIE, BOOKWORM]


def test_deploy_refuses_a_base_for_a_server_or_a_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text("applications: {}\n")
    for spec in ("postgresql", str(bundle)):
        with pytest.raises(SystemExit, match="--base takes a charm: a bundle names its bases"):
            cli.deploy(cli.parser().parse_args(["deploy", spec, "--base", "debian@13"]), "m")


def trixie_app(name: str = "shop") -> Model:
    """A saved model with charm application ``name`` on debian@13 and a server."""
    model = Model.load(name)
    model.applications["shop"] = {"kind": "charm", "base": "debian@13", "endpoints": {}}
    model.applications["redis"] = {"kind": "server:redis", "endpoints": {}}
    model.save()
    return model


def test_add_unit_refuses_a_base_other_than_its_applications() -> None:
    trixie_app("m")
    with pytest.raises(SystemExit) as raised:
        deploying.add_unit("shop", "m", BOOKWORM)
    assert str(raised.value) == (
        "cannot add a unit of base debian@12 to shop: its units have base debian@13 "
        "(a unit has its application's base)"
    )
    with pytest.raises(SystemExit, match="redis is a server on the host: --base takes charm applications"):
        deploying.add_unit("redis", "m", TRIXIE)
    after = Model.load("m")
    assert after.data["next_machine"] == 0 and after.units == {}  # refused before any machine


def test_add_unit_with_the_applications_own_base_or_none_goes_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    model = trixie_app()
    deploying.refuse_other_base(model, "shop", TRIXIE)
    deploying.refuse_other_base(model, "shop", None)
    deploying.refuse_other_base(model, "redis", None)
    calls = recorded(monkeypatch, "add_unit")
    cli.add_unit(cli.parser().parse_args(["add-unit", "shop", "--base", "debian@13"]), "m")
    assert calls == [("shop", "m", TRIXIE)]


def test_an_application_recorded_before_bases_is_bookworm() -> None:
    model = Model.empty("old")
    model.applications["shop"] = {"kind": "charm", "endpoints": {}}
    with pytest.raises(SystemExit, match="its units have base debian@12"):
        deploying.refuse_other_base(model, "shop", TRIXIE)


# -- status ----------------------------------------------------------------------------------


def test_status_shows_each_machines_base(capsys: pytest.CaptureFixture[str]) -> None:
    model = trixie_app()
    model.machines["0"] = {"name": "lj-shop-0", "address": "10.231.0.10", "base": "debian@13"}
    model.machines["1"] = {"name": "lj-shop-1", "address": "127.0.0.1"}  # booted before bases
    model.units["shop/0"] = {"app": "shop", "machine": "0", "status": {}}
    data = status_view.status_data(model)
    assert data["machines"] == {
        "0": {"base": "debian@13", "address": "10.231.0.10", "instance-id": "lj-shop-0"},
        "1": {"base": "debian@12", "address": "127.0.0.1", "instance-id": "lj-shop-1"},
    }
    assert data["applications"]["shop"]["base"] == "debian@13"
    assert "base" not in data["applications"]["redis"]  # a server has no machine
    status_view.print_status(data)
    table = capsys.readouterr().out
    assert "Machine  Address         Inst id                  Base\n" in table
    assert "0        10.231.0.10     lj-shop-0                debian@13\n" in table
