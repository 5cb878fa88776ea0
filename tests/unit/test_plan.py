"""The one decision of a hook (plan.decide): pure, so every row is plain values."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import SECRET

from charms.layer.wsgi_app.config import ConfigError, parse_config
from charms.layer.wsgi_app.memory import Memory
from charms.layer.wsgi_app.plan import Hook, Step, decide, fingerprint, source
from charms.layer.wsgi_app.rollout import Peers, Report
from charms.layer.wsgi_app.state import Machine, WsgiState

STATE = WsgiState(app_name="shop", config=parse_config({}), machine=Machine(2, 2**32), secret_key=SECRET)
IDLE = Hook("update-status", demo_commit="demo-1")
APPLIED = Memory(fingerprint=fingerprint(STATE, IDLE), source=source(STATE, IDLE))
NEW_PORT = replace(STATE, config=replace(STATE.config, port=8000))
NEW_REF = replace(STATE, config=replace(STATE.config, app_repo="https://git.example.org/shop.git"))
# the names the app answers to reach its settings: a reload, never a new release
NEW_HOSTS = replace(STATE, config=replace(STATE.config, hostnames=("shop.example.com",)))
NEW_ADDRESS = replace(STATE, machine=replace(STATE.machine, addresses=("10.1.2.3",)))
PEER_REPORTED = replace(
    STATE, peers=Peers("cluster:1", "shop/0", Report(), (("shop/0", Report("f" * 16, "abc1234")),))
)


@pytest.mark.parametrize(
    ("state", "memory", "hook", "step"),
    [
        (STATE, APPLIED, IDLE, Step.REPORT),
        (STATE, Memory(), Hook("install"), Step.BUILD),
        (ConfigError([("port", "bad")]), APPLIED, IDLE, Step.BLOCKED),
        (replace(STATE, secret_key=None), Memory(), Hook("install"), Step.WAIT_FOR_SECRET),
        (NEW_PORT, APPLIED, replace(IDLE, name="config-changed"), Step.APPLY),
        (NEW_REF, APPLIED, replace(IDLE, name="config-changed"), Step.BUILD),
        (NEW_HOSTS, APPLIED, replace(IDLE, name="config-changed"), Step.APPLY),
        (NEW_ADDRESS, APPLIED, IDLE, Step.APPLY),
        (STATE, replace(APPLIED, transient=True), IDLE, Step.RETRY),
        (STATE, replace(APPLIED, transient=True), replace(IDLE, name="config-changed"), Step.REPORT),
        (STATE, APPLIED, replace(IDLE, requested=True), Step.APPLY),
        (STATE, APPLIED, replace(IDLE, name="upgrade-charm"), Step.APPLY),
        (STATE, APPLIED, replace(IDLE, demo_commit="demo-2"), Step.BUILD),  # the charm brought a new demo
        (STATE, APPLIED, replace(IDLE, name="redeploy"), Step.BUILD),
        (STATE, APPLIED, replace(IDLE, name="rollback"), Step.ROLLBACK),
        # a peer's rollout report is no change of what runs here
        (PEER_REPORTED, APPLIED, replace(IDLE, name="cluster-relation-changed"), Step.REPORT),
        # a follower builds again once the leader published the commit to deploy
        (
            replace(NEW_REF, agreed_source="x:" + "a" * 40),
            replace(APPLIED, source=source(NEW_REF, IDLE)),
            IDLE,
            Step.BUILD,
        ),
    ],
)
def test_decide(state, memory: Memory, hook: Hook, step: Step) -> None:
    assert decide(state, memory, hook).step is step


def test_a_config_problem_is_the_plan_s_problem() -> None:
    assert (
        decide(ConfigError([("port", "80 is too low")]), APPLIED, IDLE).problem
        == "invalid config port: 80 is too low"
    )


def test_a_unit_is_ready_for_proxies_only_serving_fully_wired():
    from charms.layer.wsgi_app.plan import Outcome

    release = object()
    assert Outcome(release=release).ready  # type: ignore[arg-type]
    assert not Outcome().ready  # nothing serves yet
    assert not Outcome(release=release, waiting_for=("database",)).ready  # type: ignore[arg-type]
    assert not Outcome(release=release, failed="blocked").ready  # type: ignore[arg-type]
    assert not Outcome(release=release, service_active=False).ready  # type: ignore[arg-type]
