"""Which of a bundle's applications localjuju deploys from a local charm and which as a
server: a local path, or the name of the charm given with --charm, is the charm; and on
which base a charm's machines boot (Ubuntu's played by Debian's, said aloud)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localjuju import bases, bundles
from localjuju.bundles import Planned, plan

BOOKWORM, TRIXIE = bases.BASES["debian@12"], bases.BASES["debian@13"]


@pytest.fixture
def charm(tmp_path: Path) -> Path:
    built = tmp_path / "build" / "shop"
    built.mkdir(parents=True)
    (built / "metadata.yaml").write_text("name: shop\n")
    return built


def test_a_local_path_is_deployed_from_it_relative_to_the_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.yaml"
    spec = {"charm": "./shop.charm", "num_units": 2, "options": {"port": 8080}}
    assert plan("web", spec, bundle, None) == Planned(
        "web", tmp_path / "shop.charm", "", {"port": 8080}, 2, ""
    )


def test_the_given_charm_stands_for_a_local_path_and_for_its_own_name(tmp_path: Path, charm: Path) -> None:
    bundle = tmp_path / "bundle.yaml"
    assert plan("web", {"charm": "./shop.charm"}, bundle, charm).charm == charm
    assert plan("web", {"charm": "ch:shop"}, bundle, charm).charm == charm
    assert plan("shop", {}, bundle, charm).charm == charm  # no charm: the application's name


def test_other_charms_are_played_by_servers(tmp_path: Path, charm: Path) -> None:
    bundle = tmp_path / "bundle.yaml"
    database = plan("db", {"charm": "postgresql", "channel": "16/stable"}, bundle, charm)
    assert (database.charm, database.server, database.channel, database.units) == (
        None,
        "postgresql",
        "16/stable",
        1,
    )
    assert plan("cache", {"charm": "ch:memcached"}, bundle, None).server == "memcached"
    with pytest.raises(SystemExit, match="no server stands in for charm 'ch:shop'"):
        plan("web", {"charm": "ch:shop"}, bundle, None)  # without --charm, a name is not local


# -- bases ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "default", "played", "declared"),
    [
        ({}, "", BOOKWORM, ""),
        ({}, "ubuntu@22.04", BOOKWORM, "ubuntu@22.04"),
        ({"base": "ubuntu@24.04"}, "ubuntu@22.04", TRIXIE, "ubuntu@24.04"),  # the application's wins
        ({"base": "ubuntu@24.04/stable"}, "", TRIXIE, "ubuntu@24.04/stable"),
        ({"base": "debian@13"}, "ubuntu@22.04", TRIXIE, ""),  # played as named: nothing to say
    ],
)
def test_a_bundles_bases_are_played_by_debians(
    spec: dict[str, str], default: str, played: bases.Base, declared: str, tmp_path: Path, charm: Path
) -> None:
    planned = bundles.plan("shop", spec, tmp_path / "bundle.yaml", charm, default)
    assert (planned.base, planned.declared) == (played, declared)


def test_a_servers_base_is_not_played_and_an_unknown_charm_base_is_refused(
    tmp_path: Path, charm: Path
) -> None:
    bundle = tmp_path / "bundle.yaml"
    database = bundles.plan("db", {"charm": "postgresql", "base": "centos@7"}, bundle, charm, "ubuntu@20.04")
    assert (database.server, database.base, database.declared) == ("postgresql", bases.DEFAULT, "")
    with pytest.raises(SystemExit) as raised:
        bundles.plan("shop", {"base": "ubuntu@20.04"}, bundle, charm)
    assert str(raised.value) == (
        "shop: base 'ubuntu@20.04' is not supported "
        "(supported: debian@12, debian@13, ubuntu@22.04, ubuntu@24.04)"
    )


def test_deploying_a_bundle_says_which_base_plays_its_ubuntu_one(
    tmp_path: Path, charm: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text(
        "default-base: ubuntu@22.04\napplications:\n"
        "  shop: {charm: ./shop, base: ubuntu@24.04}\n  postgresql: {charm: postgresql, base: ubuntu@24.04}\n"
    )
    deployed: list[tuple[str, bases.Base]] = []
    monkeypatch.setattr(bundles, "deploy", lambda charm, app, *args, base: deployed.append((app, base)))
    monkeypatch.setattr(bundles, "deploy_server", lambda *args, **kwargs: None)
    bundles.deploy_bundle(bundle, charm, "m")
    assert deployed == [("shop", TRIXIE)]
    said = capsys.readouterr().err
    assert "shop: base ubuntu@24.04 is played by debian@13 (trixie: Python 3.13, systemd 257)" in said
    assert "postgresql" not in said  # a server runs on the host
