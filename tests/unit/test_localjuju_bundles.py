"""Which of a bundle's applications localjuju deploys from a local charm and which as a
server: a local path, or the name of the charm given with --charm, is the charm."""

from __future__ import annotations

from pathlib import Path

import pytest

from localjuju.bundles import Planned, plan


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
