"""The reconcile driven through its outcomes, hook after hook, with the hook tools and the
machine steps (building and serving a release) faked at the boundary: what each hook
decided, the status it left, and what the unit remembered for the next hook."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from charmhelpers.core import hookenv
from conftest import SECRET

from charms.layer.wsgi_app import deploy, memory, reconcile, releases, rollout
from charms.layer.wsgi_app.apply import Action
from charms.layer.wsgi_app.config import ConfigError, parse_config
from charms.layer.wsgi_app.errors import (
    DeployError,
    FetchError,
    ReleaseUnhealthy,
    WaitingForLeader,
    WaitingForRollout,
)
from charms.layer.wsgi_app.integrations import Integrations
from charms.layer.wsgi_app.plan import Hook, Step
from charms.layer.wsgi_app.releases import Release
from charms.layer.wsgi_app.rollout import Failure, Peers, Report
from charms.layer.wsgi_app.service import Service
from charms.layer.wsgi_app.state import RELEASED_FIELD, Machine, WsgiState


def release(version: str) -> Release:
    return Release(f"20261201000000-{version}", version * 5, "shop", version, "shop:app", "/v", version, 0.0)


OLD, NEW = release("0123456"), release("abc1234")
STATE = WsgiState(
    app_name="shop",
    config=parse_config({"app_repo": "https://git.example.org/shop.git"}),
    machine=Machine(cores=2, memory_bytes=2**32),
    secret_key=SECRET,
)
NO_SECRET = replace(STATE, secret_key=None)
WITH_MIGRATIONS = replace(STATE, config=replace(STATE.config, release_command="./manage.py migrate"))
DB_NOT_READY = replace(STATE, integrations=Integrations(waiting_for=("database (access not granted yet)",)))
BAD_PORT = ConfigError([("port", "80 is not in 1024-65535")])
ROLLED_BACK = "release abc1234 failed health check (HTTP 500); rolled back to 0123456"
SERVING_NEW = ("active", "serving shop (abc1234) on :8080")


@dataclass
class FakeUnit:
    """The machine (what ``current`` names, the releases the build steps make) and the
    hook tools the reconcile calls."""

    current: Release | None = None
    script: list[Callable[[FakeUnit], deploy.Outcome]] = field(default_factory=list)
    builds: list[bool] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)

    def serve(self, state: WsgiState, *, demo_dir: Path, publish: object, build: bool, report: object):
        self.builds.append(build)
        return self.script.pop(0)(self)

    def rollback(self, state: WsgiState, report: Callable[[str], None]) -> deploy.Outcome:
        report("rolling back from abc1234 to 0123456")
        self.current = OLD
        return deploy.Outcome(release=OLD, action=Action.HANDOVER, deployed=True)


def deploys(new: Release) -> Callable[[FakeUnit], deploy.Outcome]:
    def step(unit: FakeUnit) -> deploy.Outcome:
        unit.current = new
        return deploy.Outcome(release=new, action=Action.HANDOVER, deployed=True)

    return step


def fails(error: Exception) -> Callable[[FakeUnit], deploy.Outcome]:
    def step(unit: FakeUnit) -> deploy.Outcome:
        raise error

    return step


def rolls_back(unit: FakeUnit) -> deploy.Outcome:
    """The new release did not answer its health check: the old one kept serving."""
    raise DeployError(ROLLED_BACK)


@pytest.fixture
def fake(monkeypatch, tmp_path: Path) -> FakeUnit:
    unit = FakeUnit()
    monkeypatch.setenv("JUJU_UNIT_NAME", "shop/0")
    monkeypatch.setattr(memory, "record_path", lambda: tmp_path / ".wsgi-app-memory.json")
    monkeypatch.setattr(deploy, "serve", unit.serve)
    monkeypatch.setattr(deploy, "rollback", unit.rollback)
    monkeypatch.setattr(releases, "current", lambda paths: unit.current)
    monkeypatch.setattr(Service, "serving", lambda self: True)
    monkeypatch.setattr(
        hookenv, "status_set", lambda workload, message: unit.statuses.append((workload, message))
    )
    monkeypatch.setattr(hookenv, "open_port", unit.opened.append)
    monkeypatch.setattr(hookenv, "close_port", lambda port: unit.opened.remove(port))
    monkeypatch.setattr(hookenv, "application_version_set", lambda version: None)
    monkeypatch.setattr(hookenv, "log", lambda *args, **kwargs: None)
    memory.forget()
    yield unit
    memory.forget()


def hook(fake: FakeUnit, monkeypatch, name: str, state: WsgiState | ConfigError) -> reconcile.Result:
    """One hook: a new process (the record is read from its file again) reading ``state``."""
    memory.forget()
    monkeypatch.setattr(reconcile.unit, "read_state", lambda: state)
    result = reconcile.run(Hook(name, leader=False, demo_commit="demo-1"))
    hookenv._run_atexit()  # as charms.reactive does once every handler succeeded
    return result


def hook_failing_later(fake: FakeUnit, monkeypatch, name: str, state: WsgiState) -> reconcile.Result:
    """A hook in which our reconcile succeeded and a later handler (an including charm's)
    raised: charms.reactive runs no success callback, Juju drops its ports."""
    memory.forget()
    monkeypatch.setattr(reconcile.unit, "read_state", lambda: state)
    opened = list(fake.opened)
    result = reconcile.run(Hook(name, leader=False, demo_commit="demo-1"))
    hookenv._atexit.clear()  # the hook failed: what was registered never runs
    fake.opened[:] = opened
    return result


# (case, serving before, [(hook, inputs, what the machine does when asked to serve)],
#  the steps decided, the status at the end, wsgi-app.serving at the end)
CASES = [
    ("serving", None, [("install", STATE, deploys(NEW))], [Step.BUILD], SERVING_NEW, True),
    (
        "an idle hook only reports",
        None,
        [("install", STATE, deploys(NEW)), ("update-status", STATE, None)],
        [Step.BUILD, Step.REPORT],
        SERVING_NEW,
        None,
    ),
    (
        "waiting for the leader's SECRET_KEY",
        None,
        [("install", NO_SECRET, None)],
        [Step.WAIT_FOR_SECRET],
        ("waiting", "waiting for the leader to share SECRET_KEY"),
        False,
    ),
    (
        "waiting for release_command on the leader",
        OLD,
        [
            (
                "config-changed",
                WITH_MIGRATIONS,
                fails(WaitingForLeader("waiting for the leader to run release_command for abc1234")),
            )
        ],
        [Step.BUILD],
        (
            "waiting",
            "serving shop (0123456) on :8080; waiting for the leader to run release_command for abc1234",
        ),
        False,
    ),
    (
        "waiting for the leader's commit, then deploying it",
        None,
        [
            ("install", STATE, fails(WaitingForLeader("waiting for the leader to resolve main of shop"))),
            (
                "update-status",
                STATE,
                fails(WaitingForLeader("waiting for the leader to resolve main of shop")),
            ),
            ("leader-settings-changed", replace(STATE, agreed_source="x:" + "a" * 40), deploys(NEW)),
        ],
        [Step.BUILD, Step.RETRY, Step.BUILD],
        SERVING_NEW,
        True,
    ),
    (
        "waiting for the database",
        None,
        [("install", DB_NOT_READY, deploys(NEW))],
        [Step.BUILD],
        ("waiting", "serving shop (abc1234) on :8080; waiting for database (access not granted yet)"),
        True,
    ),
    (
        "blocked on config, then fixed",
        OLD,
        [("config-changed", BAD_PORT, None)],
        [Step.BLOCKED],
        ("blocked", "invalid config port: 80 is not in 1024-65535"),
        None,
    ),
    (
        "a transient fetch failure is retried on update-status",
        OLD,
        [
            ("config-changed", STATE, fails(FetchError("app_repo: cannot reach git.example.org"))),
            ("update-status", STATE, deploys(NEW)),
        ],
        [Step.BUILD, Step.RETRY],
        SERVING_NEW,
        True,
    ),
    (
        "a lasting failure is not retried",
        OLD,
        [
            ("config-changed", STATE, fails(DeployError("shop:app does not import: ImportError"))),
            ("update-status", STATE, None),
        ],
        [Step.BUILD, Step.REPORT],
        ("blocked", "shop:app does not import: ImportError"),
        None,
    ),
    (
        "a release failing its health check is rolled back, and not tried again",
        OLD,
        [("config-changed", STATE, rolls_back), ("update-status", STATE, None)],
        [Step.BUILD, Step.REPORT],
        ("blocked", ROLLED_BACK),
        None,
    ),
]


@pytest.mark.parametrize(
    ("before", "hooks", "steps", "status", "serving"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_reconcile_outcomes(fake: FakeUnit, monkeypatch, before, hooks, steps, status, serving) -> None:
    fake.current = before
    results = []
    for name, state, machine_step in hooks:
        fake.script = [machine_step] if machine_step else []
        results.append(hook(fake, monkeypatch, name, state))
        assert fake.script == []  # the machine was asked to serve exactly when the row says
    assert [result.plan.step for result in results] == steps
    assert fake.statuses[-1] == status
    assert results[-1].outcome.serving is serving
    assert memory.load().status == status  # the next hook knows what is shown


def test_a_fixed_config_applies_again_and_clears_the_block(fake: FakeUnit, monkeypatch) -> None:
    fake.script = [deploys(NEW)]
    hook(fake, monkeypatch, "install", STATE)
    hook(fake, monkeypatch, "config-changed", BAD_PORT)
    fake.script = [deploys(NEW)]
    assert hook(fake, monkeypatch, "config-changed", STATE).plan.step is Step.APPLY
    assert fake.statuses[-1] == SERVING_NEW and memory.load().problem == ""


def test_maintenance_is_an_apply_without_a_build_and_the_status_says_so(fake: FakeUnit, monkeypatch) -> None:
    """Turning maintenance on or off changes what the unit serves (its flag file, written
    by the apply step) but builds nothing; the status follows the flag file on the machine."""
    from charms.layer.wsgi_app import maintenance

    flag = {"on": False}
    monkeypatch.setattr(maintenance, "is_on", lambda paths: flag["on"])
    fake.script = [deploys(NEW)]
    hook(fake, monkeypatch, "install", STATE)
    on = replace(STATE, config=replace(STATE.config, maintenance=True))

    def switches(unit: FakeUnit) -> deploy.Outcome:
        flag["on"] = not flag["on"]
        return deploy.Outcome(release=NEW, action=Action.NONE)

    fake.script = [switches]
    assert hook(fake, monkeypatch, "config-changed", on).plan.step is Step.APPLY
    assert fake.builds[-1] is False
    assert fake.statuses[-1] == ("active", "maintenance mode; serving shop (abc1234) on :8080")
    assert hook(fake, monkeypatch, "update-status", on).plan.step is Step.REPORT
    fake.script = [switches]
    assert hook(fake, monkeypatch, "config-changed", STATE).plan.step is Step.APPLY
    assert fake.statuses[-1] == SERVING_NEW


def test_an_idle_hook_calls_no_hook_tool_of_its_own(fake: FakeUnit, monkeypatch) -> None:
    """update-status after a deploy: no status-set, no open-port, no record written."""
    fake.script = [deploys(NEW)]
    hook(fake, monkeypatch, "install", STATE)
    assert fake.opened == [8080]
    calls = len(fake.statuses)
    record = memory.record_path().stat().st_mtime_ns
    assert hook(fake, monkeypatch, "update-status", STATE).plan.step is Step.REPORT
    assert len(fake.statuses) == calls and fake.opened == [8080]
    assert memory.record_path().stat().st_mtime_ns == record


def test_a_new_port_closes_the_old_one(fake: FakeUnit, monkeypatch) -> None:
    fake.script = [deploys(NEW)]
    hook(fake, monkeypatch, "install", STATE)
    fake.script = [deploys(NEW)]
    hook(fake, monkeypatch, "config-changed", replace(STATE, config=replace(STATE.config, port=8000)))
    assert fake.opened == [8000]


def test_two_ports_that_swap_stay_open(fake: FakeUnit, monkeypatch) -> None:
    fake.script = [deploys(NEW)]
    with_metrics = replace(STATE, config=replace(STATE.config, port=8080, metrics_port=9100))
    hook(fake, monkeypatch, "install", with_metrics)
    swapped = replace(STATE, config=replace(STATE.config, port=9100, metrics_port=8080))
    fake.script = [deploys(NEW)]
    hook(fake, monkeypatch, "config-changed", swapped)
    assert sorted(fake.opened) == [8080, 9100]


def test_a_hook_that_fails_after_the_reconcile_is_applied_again(fake: FakeUnit, monkeypatch) -> None:
    """Juju dropped the failed hook's open-port: the next hook must not take the port as
    open, nor the settings as applied."""
    fake.script = [deploys(NEW)]
    hook(fake, monkeypatch, "install", STATE)
    moved = replace(STATE, config=replace(STATE.config, port=8000))
    fake.script = [deploys(NEW)]
    hook_failing_later(fake, monkeypatch, "config-changed", moved)
    memory.forget()  # the next hook's process
    assert fake.opened == [8080] and memory.load().port == 8080
    fake.script = [deploys(NEW)]
    assert hook(fake, monkeypatch, "config-changed", moved).plan.step is Step.APPLY
    assert fake.opened == [8000]


def test_the_rollback_action_runs_the_same_reconcile(fake: FakeUnit, monkeypatch) -> None:
    fake.script = [deploys(NEW)]
    hook(fake, monkeypatch, "install", STATE)
    result = hook(fake, monkeypatch, "rollback", STATE)
    assert result.plan.step is Step.ROLLBACK and result.outcome.release == OLD
    assert fake.statuses[-2:] == [
        ("maintenance", "rolling back from abc1234 to 0123456"),
        ("active", "serving shop (0123456) on :8080"),
    ]
    # the source did not change: the next hook keeps serving the release rolled back to
    assert hook(fake, monkeypatch, "update-status", STATE).plan.step is Step.REPORT


def test_a_failed_hook_remembers_only_the_status_it_showed(fake: FakeUnit, monkeypatch) -> None:
    """Juju keeps the status a failed hook set, and drops its ports and what it applied."""
    fake.script = [deploys(NEW)]
    hook(fake, monkeypatch, "install", STATE)
    before = memory.load()

    def crashes(unit: FakeUnit) -> deploy.Outcome:
        raise KeyboardInterrupt  # not an Exception: a hook killed mid-way

    def building(state, *, demo_dir, publish, build, report) -> deploy.Outcome:
        report("fetching shop")
        return crashes(fake)

    monkeypatch.setattr(deploy, "serve", building)
    with pytest.raises(KeyboardInterrupt):
        hook(fake, monkeypatch, "config-changed", replace(STATE, config=replace(STATE.config, port=8000)))
    memory.forget()
    assert memory.load() == replace(before, status=("maintenance", "fetching shop"))


REQUIREMENTS_FAILED = "requirements.txt: no-such-package was not found in the package registry"
MORE_WORKERS = replace(STATE, config=replace(STATE.config, workers=3))
NEW_REF = replace(STATE, config=replace(STATE.config, app_ref="v2"))


def keeps_serving(unit: FakeUnit) -> deploy.Outcome:
    """Serving without a build: the release live answers with the new settings."""
    return deploy.Outcome(release=unit.current, action=Action.RELOAD)


def unhealthy(unit: FakeUnit) -> deploy.Outcome:
    return deploy.Outcome(release=unit.current, action=Action.RELOAD, problem="health check failed: HTTP 500")


@pytest.mark.parametrize(
    ("failure", "name", "state", "step"),
    [
        (DeployError(REQUIREMENTS_FAILED), "update-status", STATE, Step.REPORT),
        (DeployError(REQUIREMENTS_FAILED), "config-changed", STATE, Step.REPORT),
        (DeployError(REQUIREMENTS_FAILED), "config-changed", MORE_WORKERS, Step.APPLY),
        (DeployError(REQUIREMENTS_FAILED), "upgrade-charm", STATE, Step.APPLY),
        (DeployError(ROLLED_BACK), "config-changed", MORE_WORKERS, Step.APPLY),
        (RuntimeError("bug"), "config-changed", MORE_WORKERS, Step.APPLY),
    ],
    ids=[
        "update-status",
        "no-op config-changed",
        "new settings",
        "upgrade-charm",
        "rolled back",
        "unexpected",
    ],
)
def test_a_failed_build_stays_shown_until_its_source_is_built(
    fake: FakeUnit, monkeypatch, failure, name, state, step
) -> None:
    """The source is not built again while its inputs stay the same; a later hook (even one
    that applies new settings to the old release) must still say why it is not served."""
    fake.current = OLD
    fake.script = [fails(failure)]
    shown = hook(fake, monkeypatch, "config-changed", STATE).outcome.failed
    assert shown and fake.statuses[-1] == ("blocked", shown)
    fake.script = [keeps_serving] if step is Step.APPLY else []
    result = hook(fake, monkeypatch, name, state)
    assert result.plan.step is step
    assert result.outcome.serving is (False if step is Step.APPLY else None)  # not what was asked
    assert fake.script == [] and fake.current == OLD
    assert fake.statuses[-1] == ("blocked", shown) and memory.load().build_problem == shown


def test_new_source_inputs_clear_a_failed_build(fake: FakeUnit, monkeypatch) -> None:
    fake.current = OLD
    fake.script = [fails(DeployError(REQUIREMENTS_FAILED))]
    hook(fake, monkeypatch, "config-changed", STATE)
    fake.script = [deploys(NEW)]
    assert hook(fake, monkeypatch, "config-changed", NEW_REF).plan.step is Step.BUILD
    assert fake.statuses[-1] == SERVING_NEW and memory.load().build_problem == ""


def test_a_fetch_failure_is_still_retried_after_new_settings(fake: FakeUnit, monkeypatch) -> None:
    fake.current = OLD
    fetch_failed = "app_repo: cannot reach git.example.org"
    fake.script = [fails(FetchError(fetch_failed))]
    hook(fake, monkeypatch, "config-changed", STATE)
    fake.script = [keeps_serving]
    hook(fake, monkeypatch, "config-changed", MORE_WORKERS)
    assert fake.statuses[-1] == ("blocked", fetch_failed)
    fake.script = [deploys(NEW)]
    assert hook(fake, monkeypatch, "update-status", MORE_WORKERS).plan.step is Step.RETRY
    assert fake.statuses[-1] == SERVING_NEW and memory.load() == replace(
        memory.load(), problem="", build_problem="", transient=False
    )


def test_a_config_error_shows_first_then_the_failed_build_again(fake: FakeUnit, monkeypatch) -> None:
    fake.current = OLD
    fake.script = [fails(DeployError(REQUIREMENTS_FAILED))]
    hook(fake, monkeypatch, "config-changed", STATE)
    hook(fake, monkeypatch, "config-changed", BAD_PORT)
    assert fake.statuses[-1] == ("blocked", "invalid config port: 80 is not in 1024-65535")
    fake.script = [keeps_serving]
    assert hook(fake, monkeypatch, "config-changed", STATE).plan.step is Step.APPLY
    assert fake.statuses[-1] == ("blocked", REQUIREMENTS_FAILED)


def test_an_unhealthy_release_is_shown_until_an_apply_works(fake: FakeUnit, monkeypatch) -> None:
    """A release live that fails its health check is the settings' problem, not the build's."""
    fake.script = [deploys(NEW)]
    hook(fake, monkeypatch, "install", STATE)
    fake.script = [unhealthy]
    hook(fake, monkeypatch, "config-changed", MORE_WORKERS)
    assert fake.statuses[-1] == ("blocked", "health check failed: HTTP 500")
    fake.script = [keeps_serving]
    assert hook(fake, monkeypatch, "config-changed", STATE).plan.step is Step.APPLY
    assert fake.statuses[-1] == SERVING_NEW and memory.load().problem == ""


ROLLING = replace(
    STATE,
    config=replace(STATE.config, rollout="rolling"),
    unit_name="shop/1",
    released=NEW.spec,
    peers=Peers("cluster:1", "shop/0", Report(), (("shop/0", Report(NEW.spec, NEW.version)),)),
)
HELD = "rollout of abc1234: 0/2 switched, waiting for shop/0"


@pytest.fixture
def peer_data(fake: FakeUnit, monkeypatch) -> list[dict[str, str]]:
    """What the reconcile publishes in peer data (relation-set), with the leader settings
    saying the leader released NEW."""
    published: list[dict[str, str]] = []
    monkeypatch.setattr(
        hookenv, "relation_set", lambda relation_id, relation_settings: published.append(relation_settings)
    )
    monkeypatch.setattr(reconcile, "leader_settings", lambda: {RELEASED_FIELD: NEW.spec})
    return published


def test_a_unit_held_back_by_a_rolling_release_says_where_it_stands(
    fake: FakeUnit, monkeypatch, peer_data
) -> None:
    fake.current = OLD
    fake.script = [fails(WaitingForRollout(HELD))]
    result = hook(fake, monkeypatch, "leader-settings-changed", ROLLING)
    assert result.outcome.failed == HELD  # a redeploy action fails with it
    assert fake.statuses[-1] == ("waiting", f"serving shop (0123456) on :8080; {HELD}")
    assert peer_data == [{rollout.SPEC: OLD.spec, rollout.VERSION: OLD.version}]
    # its turn comes with the peers' next report: the source is fetched again at every hook
    fake.script = [deploys(NEW)]
    published = replace(ROLLING, peers=replace(ROLLING.peers, own=Report(OLD.spec, OLD.version)))
    assert hook(fake, monkeypatch, "cluster-relation-changed", published).plan.step is Step.BUILD
    assert fake.statuses[-1] == SERVING_NEW
    assert peer_data[-1] == {rollout.SPEC: NEW.spec, rollout.VERSION: NEW.version}


def test_a_release_failing_its_health_check_halts_the_rolling_release(
    fake: FakeUnit, monkeypatch, peer_data
) -> None:
    fake.current = OLD
    fake.script = [fails(ReleaseUnhealthy(ROLLED_BACK, NEW.spec, NEW.version))]
    hook(fake, monkeypatch, "leader-settings-changed", ROLLING)
    halted = "rollout of abc1234 halted at shop/1: health check failed"
    assert fake.statuses[-1] == ("blocked", f"{ROLLED_BACK}; {halted}")
    assert peer_data == [
        {
            rollout.SPEC: OLD.spec,
            rollout.VERSION: OLD.version,
            rollout.FAILED: NEW.spec,
            rollout.FAILED_VERSION: NEW.version,
            rollout.REASON: rollout.UNHEALTHY,
        }
    ]
    # the next hook reads back what it published: nothing to set, the halt still shown
    published = replace(
        ROLLING,
        peers=replace(ROLLING.peers, own=Report(OLD.spec, OLD.version, Failure(NEW.spec, NEW.version))),
    )
    hook(fake, monkeypatch, "update-status", published)
    assert len(peer_data) == 1 and fake.statuses[-1] == ("blocked", f"{ROLLED_BACK}; {halted}")


def test_the_rollback_action_halts_a_rolling_release_where_it_runs(
    fake: FakeUnit, monkeypatch, peer_data
) -> None:
    fake.script = [deploys(NEW)]
    hook(fake, monkeypatch, "install", ROLLING)
    hook(fake, monkeypatch, "rollback", ROLLING)
    assert peer_data[-1][rollout.FAILED] == NEW.spec and peer_data[-1][rollout.REASON] == rollout.ROLLED_BACK
    assert fake.statuses[-1] == (
        "waiting",
        "serving shop (0123456) on :8080; rollout of abc1234 halted at shop/1: rolled back",
    )


def test_rollout_all_reads_and_writes_no_peer_data(fake: FakeUnit, monkeypatch) -> None:
    def no_hook_tool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a hook tool the rollout would have called")

    monkeypatch.setattr(hookenv, "relation_set", no_hook_tool)
    monkeypatch.setattr(reconcile, "leader_settings", no_hook_tool)
    fake.current = OLD
    fake.script = [deploys(NEW)]
    all_at_once = replace(ROLLING, config=STATE.config)
    assert (
        hook(fake, monkeypatch, "leader-settings-changed", all_at_once).outcome.rollout == rollout.Standing()
    )
    assert fake.statuses[-1] == SERVING_NEW
