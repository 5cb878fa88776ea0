"""Putting a release live (deploy.serve), with the build and the service faked: what a unit
whose turn in a rolling release has not come still does."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SECRET

from charms.layer.wsgi_app import deploy, releases
from charms.layer.wsgi_app.apply import Action, Applied
from charms.layer.wsgi_app.config import parse_config
from charms.layer.wsgi_app.errors import WaitingForRollout
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
