"""One reconcile per hook or action: load the unit's memory, read the inputs once, decide
(:func:`.plan.decide`), carry the plan out (:func:`carry_out`, the one apply step), show
the status (:mod:`.status`) and save the memory. The reactive handlers and the actions
call :func:`install`, :func:`run` and :func:`stop` only.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, replace

from charmhelpers.core import hookenv

from . import backends, deploy, maintenance, memory, releases, rollout, timers, unit
from .commands import CommandFailed
from .config import ConfigError
from .errors import (
    DeployError,
    NameTaken,
    ReleaseUnhealthy,
    RetryableError,
    WaitingForLeader,
    WaitingForRollout,
)
from .leadership import leader_set, leader_settings
from .memory import Memory
from .ownership import TreeError
from .plan import Hook, Outcome, Plan, Step, decide
from .ports import open_ports
from .process_units import ProcessUnits
from .relations import publish_report
from .render import render_job_units
from .schedules import ScheduleError
from .service import Service
from .state import RELEASED_FIELD, SOURCE_FIELD, WsgiState
from .status import Display, problem_of, status_of

BUILDS = (Step.BUILD, Step.RETRY)


@dataclass(frozen=True)
class Result:
    """What :func:`run` did: the outcome and the memory it left."""

    plan: Plan
    outcome: Outcome
    memory: Memory


def install() -> bool:
    """Prepare the machine for the application; False (blocked) when its name is the
    machine's own (nothing was touched then)."""
    before = memory.load()
    display = Display(before)
    try:
        display.progress("preparing the machine")
        deploy.prepare(unit.paths())
        return True
    except NameTaken as error:
        unit.log(str(error), level=hookenv.ERROR)
        blocked = replace(before, problem=str(error))
        display.show(status_of(Outcome(), blocked))
        memory.stage(display.remembered(blocked))
        return False
    finally:
        memory.keep_shown(display.shown, display.version)


def run(hook: Hook) -> Result:
    """Reconcile the unit with the inputs of ``hook``. The status it showed is remembered at
    once (Juju keeps it even when the hook fails); the rest once the hook succeeds (Juju
    drops the ports, and charms.reactive the flags, of a hook that fails later on)."""
    before = memory.load()
    display = Display(before)
    try:
        state = unit.read_state()
        plan = decide(state, before, hook)
        outcome, after = carry_out(plan, state, before, hook, display)
        outcome = schedule_jobs(state, plan, hook, outcome)
        outcome = report_rollout(state, plan, outcome)
        display.show(status_of(outcome, after))
        memory.stage(display.remembered(after))
    finally:
        memory.keep_shown(display.shown, display.version)
    return Result(plan, outcome, after)


def carry_out(
    plan: Plan, state: WsgiState | ConfigError, remembered: Memory, hook: Hook, display: Display
) -> tuple[Outcome, Memory]:
    """Do what ``plan`` says; what came of it and what to remember."""
    if isinstance(state, ConfigError):
        for option, message in state.problems:
            unit.log(f"config {option}: {message}", level=hookenv.ERROR)
        blocked = replace(remembered, fingerprint="", problem=plan.problem)
        return Outcome(release=_serving(), failed=plan.problem), blocked
    if plan.step is Step.REPORT:
        return observe(state, remembered), remembered
    if plan.step is Step.WAIT_FOR_SECRET:
        waiting = replace(remembered, waiting="the leader to share SECRET_KEY")
        failed = "waiting for " + waiting.waiting
        return replace(observe(state, waiting), serving=False, failed=failed), waiting
    if plan.step is Step.ROLLBACK:
        return _roll_back(state, remembered, display)
    return _deploy(plan, state, remembered, hook, display)


def schedule_jobs(state: WsgiState | ConfigError, plan: Plan, hook: Hook, outcome: Outcome) -> Outcome:
    """Install the serving release's scheduled jobs, run their timers if this unit leads
    (stop them if it does not: the old leader hears the new one's announcement,
    :func:`.unit.announce_leader`), and add the jobs whose last run failed to ``outcome``.
    Not with an invalid config or before SECRET_KEY is known (what runs stays as it is), nor
    in the stop hook (whose handler removed them). A fault here is logged and never stops
    the site (the next hook tries again)."""
    if isinstance(state, ConfigError) or plan.step is Step.WAIT_FOR_SECRET or hook.name == "stop":
        return outcome
    leader = hook.leader
    try:
        jobs = timers.planned(state, outcome.release)
        timers.converge(state.paths, render_job_units(state, jobs, outcome.release), leader)
        return replace(outcome, failed_jobs=timers.failed_jobs(state.paths, jobs) if leader else ())
    except (ScheduleError, CommandFailed, OSError) as error:
        unit.log(f"scheduled jobs: {error}", level=hookenv.ERROR)
        return outcome


def report_rollout(state: WsgiState | ConfigError, plan: Plan, outcome: Outcome) -> Outcome:
    """With ``rollout=rolling``: tell the other units (peer data) which release this unit
    serves and which it gave up, and add where the rollout stands to ``outcome``."""
    if isinstance(state, ConfigError) or state.config.rollout != rollout.ROLLING:
        return outcome
    serving = (outcome.release.spec, outcome.release.version) if outcome.release else ("", "")
    built = plan.step in BUILDS and not outcome.failed
    mine = rollout.next_report(state.peers.own, serving, outcome.given_up, built)
    publish_report(state.peers, mine)
    if outcome.rollout.text:  # held back: it says so already
        return outcome
    released = leader_settings().get(RELEASED_FIELD, "")  # the leader may have published it now
    return replace(outcome, rollout=rollout.progress(released, state.unit_name, mine, state.peers))


def observe(state: WsgiState, remembered: Memory, serving: bool | None = None) -> Outcome:
    """What the status reports of the machine now (cheap: no fetch, no restart)."""
    release, problem = _serving(), problem_of(remembered)
    in_maintenance = maintenance.is_on(state.paths)
    if problem:  # blocked either way: no need to look further
        return Outcome(
            release, state.config.port, serving=serving, failed=problem, maintenance=in_maintenance
        )
    return Outcome(
        release=release,
        port=state.config.port,
        waiting_for=state.integrations.waiting_for + backends.unreachable(state.integrations),
        service_active=Service(state.paths).serving() if release else True,
        processes=ProcessUnits(state.paths).active_counts() if release else (),
        serving=serving,
        maintenance=in_maintenance,
    )


def _deploy(
    plan: Plan, state: WsgiState, remembered: Memory, hook: Hook, display: Display
) -> tuple[Outcome, Memory]:
    applied = replace(remembered, fingerprint=plan.fingerprint, waiting="")  # asked again below
    build = plan.step in BUILDS
    try:
        done = deploy.serve(
            state,
            demo_dir=unit.demo_dir(),
            publish=_publish_source if hook.leader else None,
            build=build,
            report=display.progress,
        )
    except WaitingForLeader as error:  # fetched again once the leader (or the unit before) is done
        return _waits(error, state, applied)
    except DeployError as error:
        failed = _failed(str(error), isinstance(error, RetryableError), build, plan.source, state, applied)
        return _given_up(error, *failed)
    except Exception as error:  # a bug or a machine fault: keep serving, say so, retry later
        unit.log(traceback.format_exc(), level=hookenv.ERROR)
        problem = f"deploy failed unexpectedly ({type(error).__name__}); see juju debug-log"
        return _failed(problem, True, build, plan.source, state, applied)
    if build:  # what serves now is the source asked for
        applied = replace(applied, build_problem="")
    # a failed build's retry stays due until a build goes live
    applied = replace(
        applied, source=plan.source, transient=applied.transient and bool(applied.build_problem)
    )
    applied = open_ports(applied, state.config.port, state.config.metrics_port)
    if done.release is not None:
        if hook.leader:
            _publish_released(state, done.release)
        display.show_version(done.release.version)
    if done.deployed:
        unit.log(f"deployed release {done.release.id if done.release else '?'}")
    if done.action.value != "none":
        unit.log(f"gunicorn: {done.action.value}")
    if done.problem:
        return _blocked(done.problem, state, applied)
    applied = replace(applied, problem="")
    return observe(state, applied, serving=not applied.build_problem), applied


def _waits(error: WaitingForLeader, state: WsgiState, remembered: Memory) -> tuple[Outcome, Memory]:
    """This unit must wait for another before it switches; the source is fetched again at
    the next hook. Waiting for its turn in a rolling release, the status says where the
    rollout stands; waiting for the leader, what the leader has still to do."""
    unit.log(str(error))
    rolling = isinstance(error, WaitingForRollout)
    waiting = "" if rolling else str(error).removeprefix("waiting for ")
    waits = replace(remembered, source="", transient=True, waiting=waiting, problem="", build_problem="")
    standing = rollout.Standing(str(error), held=True) if rolling else rollout.Standing()
    return replace(observe(state, waits, serving=False), failed=str(error), rollout=standing), waits


def _given_up(error: DeployError, outcome: Outcome, remembered: Memory) -> tuple[Outcome, Memory]:
    """A new release that failed its health check is given up here: with rollout=rolling,
    the other units hear of it (see :func:`report_rollout`)."""
    if isinstance(error, ReleaseUnhealthy):
        outcome = replace(outcome, given_up=rollout.Failure(error.spec, error.version))
    return outcome, remembered


def _roll_back(state: WsgiState, remembered: Memory, display: Display) -> tuple[Outcome, Memory]:
    left = _serving()
    try:
        done = deploy.rollback(state, report=display.progress)
    except DeployError as error:
        return replace(observe(state, remembered), failed=str(error)), remembered
    if done.release is not None:
        display.show_version(done.release.version)
    given_up = rollout.Failure(left.spec, left.version, rollout.ROLLED_BACK) if left else None
    return replace(observe(state, remembered), given_up=given_up), remembered


def _failed(
    problem: str, retry: bool, build: bool, source: str, state: WsgiState, remembered: Memory
) -> tuple[Outcome, Memory]:
    """A step that raised: a build's failure is remembered as the source's (shown until
    the source is built again, which ``retry`` has update-status do), any other as the
    apply's (shown until an apply works)."""
    unit.log(problem, level=hookenv.ERROR)
    if build:
        failed = replace(remembered, source=source, problem="", build_problem=problem, transient=retry)
    else:
        failed = replace(remembered, source=source, problem=problem, transient=retry or remembered.transient)
    return observe(state, failed, serving=False), failed


def _blocked(problem: str, state: WsgiState, remembered: Memory) -> tuple[Outcome, Memory]:
    unit.log(problem, level=hookenv.ERROR)
    blocked = replace(remembered, problem=problem)
    return observe(state, blocked, serving=False), blocked


def _publish_source(agreed: str) -> None:
    if leader_set({SOURCE_FIELD: agreed}):
        unit.log(f"every unit deploys commit {agreed.partition(':')[2][:7]} (published as leader)")


def _publish_released(state: WsgiState, release: releases.Release) -> None:
    """The leader tells the other units which release they may switch to: the one it
    serves, whose release command (if it had one) it ran (see :func:`.build.waits_for_leader`).
    Said even for a release without a command: one made before the charm recorded its
    command (an upgrade from a charm without Django's migrate default) would otherwise
    keep a unit added later waiting for ever."""
    spec = release.spec
    if state.released != spec and leader_set({RELEASED_FIELD: spec}):
        ran = " (its release command ran)" if release.release_command else ""
        unit.log(f"release {spec} is ready for every unit{ran}")


def _serving() -> releases.Release | None:
    """The release ``current`` names, for the status; ``None`` when that link is broken
    (the problem then says so)."""
    try:
        return releases.current(unit.paths())
    except TreeError:
        return None


def stop() -> None:
    """The unit is going away: stop serving and remove the units (data stays)."""
    ProcessUnits(unit.paths()).remove()
    timers.remove_all(unit.paths())
    Service(unit.paths()).remove()
