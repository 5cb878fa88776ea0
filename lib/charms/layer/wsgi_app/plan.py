"""The one decision of a hook: from the desired state, the unit's memory and the hook,
what to do (pure; :mod:`.reconcile` carries it out), and what came of it.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from .build import source_inputs
from .config import ConfigError
from .memory import Memory, canonical
from .releases import Release
from .rollout import Failure, Peers, Standing
from .state import WsgiState

REPORT_HOOKS = frozenset({"update-status"})  # hooks in which a transient failure is retried


class Step(enum.Enum):
    REPORT = "report"  # nothing changed: only report the status
    BLOCKED = "blocked"  # the config is invalid: say so, touch nothing
    WAIT_FOR_SECRET = "wait-for-secret"  # the leader has not shared SECRET_KEY yet
    APPLY = "apply"  # settings changed: render, reload or restart, no fetch
    BUILD = "build"  # the source changed (or an action asks): fetch and build a release
    RETRY = "retry"  # the last build failed transiently: fetch and build again
    ROLLBACK = "rollback"  # the rollback action: serve the previous release


@dataclass(frozen=True)
class Hook:
    """What runs: the hook (or action) and what this unit knows of itself in it."""

    name: str  # the hook or action name
    leader: bool = False
    demo_commit: str = ""  # the demo app's revision in this charm (it changes on upgrade)
    requested: bool = False  # an including charm set wsgi-app.changed


@dataclass(frozen=True)
class Plan:
    step: Step
    fingerprint: str = ""  # of the desired state, kept once it is applied
    source: str = ""  # the source inputs, kept once a build was attempted
    problem: str = ""  # BLOCKED: why


@dataclass(frozen=True)
class Outcome:
    """What the reconcile ended with: what :mod:`.status` shows and the flags say."""

    release: Release | None = None  # what serves now
    port: int = 0
    waiting_for: tuple[str, ...] = ()  # integrations not ready, backends not answering
    service_active: bool = True
    # (process type, instances active, instances wanted) of the types that run here
    processes: tuple[tuple[str, int, int], ...] = ()
    serving: bool | None = None  # the unit serves what was asked (None: not decided by this hook)
    failed: str = ""  # why the step did not succeed (an action fails with it)
    failed_jobs: tuple[str, ...] = ()  # scheduled jobs whose last run failed (see .timers)
    maintenance: bool = False  # the unit answers 503 (see .maintenance)
    given_up: Failure | None = None  # a release this hook gave up here (see .rollout)
    rollout: Standing = field(default_factory=Standing)  # where a rolling release stands

    @property
    def ready(self) -> bool:
        """Whether proxies may send this unit requests: a release serves, fully wired
        (nothing awaited, nothing failed)."""
        return self.release is not None and self.service_active and not self.waiting_for and not self.failed


def fingerprint(state: WsgiState, hook: Hook) -> str:
    """A digest of everything whose change must reach the application.

    On the leader, what it published itself for the other units (the commit it resolved,
    the release whose release_command it ran) is not a change: counting it would make
    the next hook follow a moving branch. The peers' rollout reports are not a change of
    what the application runs.
    """
    state = replace(state, peers=Peers())
    if hook.leader:
        state = replace(state, agreed_source="", released="")
    blob = canonical({"state": repr(state), "demo": hook.demo_commit})
    return hashlib.sha256(blob.encode()).hexdigest()


def source(state: WsgiState, hook: Hook) -> str:
    """What a new fetch and build depend on: the source config and, on the other units,
    the commit the leader published."""
    inputs: dict[str, Any] = source_inputs(state, hook.demo_commit)
    return canonical({**inputs, "agreed": "" if hook.leader else state.agreed_source})


def decide(state: WsgiState | ConfigError, memory: Memory, hook: Hook) -> Plan:
    """What this hook does, from what it asks, what the unit remembers, and the hook."""
    if isinstance(state, ConfigError):
        return Plan(Step.BLOCKED, problem=state.summary)
    plan = Plan(Step.REPORT, fingerprint(state, hook), source(state, hook))
    if state.secret_key is None:
        return replace(plan, step=Step.WAIT_FOR_SECRET)
    if hook.name == "rollback":
        return replace(plan, step=Step.ROLLBACK)
    if hook.name in REPORT_HOOKS and memory.transient:
        return replace(plan, step=Step.RETRY)
    if hook.name == "redeploy" or memory.source != plan.source:
        return replace(plan, step=Step.BUILD)
    # after upgrade-charm the templates may render differently from the same state
    if hook.requested or hook.name == "upgrade-charm" or memory.fingerprint != plan.fingerprint:
        return replace(plan, step=Step.APPLY)
    return plan
