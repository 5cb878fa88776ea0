"""Putting a release live (deploy.serve), with the build and the service faked: what a unit
whose turn in a rolling release has not come still does."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SECRET

from charms.layer.wsgi_app import deploy, releases
from charms.layer.wsgi_app.apply import Action, Applied
from charms.layer.wsgi_app.config import parse_config
from charms.layer.wsgi_app.errors import DeployError, WaitingForRollout
from charms.layer.wsgi_app.releases import Release
from charms.layer.wsgi_app.state import Machine, WsgiState

SERVING = Release("20261201000000-0123456", "0" * 40, "shop", "0123456", "app", "/v", "0" * 16, 0.0)
STATE = WsgiState("shop", parse_config({"rollout": "rolling"}), Machine(2, 2**32), SECRET)


def test_a_unit_held_back_by_a_rolling_release_applies_new_settings_to_what_serves(monkeypatch) -> None:
    put_live: list[Release] = []

    def held(*args: object, **kwargs: object) -> Release:
        raise WaitingForRollout("rollout of abc1234: 1/3 switched, waiting for shop/1")

    monkeypatch.setattr(deploy, "prepare", lambda paths: None)
    monkeypatch.setattr(releases, "current", lambda paths: SERVING)
    monkeypatch.setattr(deploy, "build_release", held)
    monkeypatch.setattr(
        deploy, "put_live", lambda state, live: put_live.append(live) or Applied(Action.RELOAD)
    )
    with pytest.raises(WaitingForRollout):
        deploy.serve(STATE, demo_dir=Path("/nonexistent"), publish=None, build=True, report=lambda line: None)
    assert put_live == [SERVING]


@pytest.mark.parametrize(
    ("applied", "told"),
    [
        (DeployError("systemd cannot start shop-worker@1"), "; systemd cannot start shop-worker@1"),
        (Applied(Action.RELOAD, healthy=False, detail="HTTP 500"), "; health check failed: HTTP 500"),
    ],
    ids=["apply-fails", "unhealthy"],
)
def test_a_held_unit_that_cannot_apply_its_settings_still_waits_for_its_turn(monkeypatch, applied, told):
    """Raised as anything but the wait, the unit would remember the source as built (a
    failed build) and never build again when its turn comes; unhealthy, it would say nothing."""
    waiting = "rollout of abc1234: 1/3 switched, waiting for shop/1"

    def held(*args: object, **kwargs: object) -> Release:
        raise WaitingForRollout(waiting)

    def put_live(state: object, live: Release) -> Applied:
        if isinstance(applied, Exception):
            raise applied
        return applied

    monkeypatch.setattr(deploy, "prepare", lambda paths: None)
    monkeypatch.setattr(releases, "current", lambda paths: SERVING)
    monkeypatch.setattr(deploy, "build_release", held)
    monkeypatch.setattr(deploy, "put_live", put_live)
    with pytest.raises(WaitingForRollout) as raised:
        deploy.serve(STATE, demo_dir=Path("/nonexistent"), publish=None, build=True, report=lambda line: None)
    assert str(raised.value) == waiting + told
