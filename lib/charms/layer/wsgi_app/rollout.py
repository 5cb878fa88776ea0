"""Rolling releases (``rollout=rolling``), decided purely: in which order the units switch
to the release the leader published, whether this unit's turn has come, what each unit
tells the others in the ``cluster`` peer relation, and where the rollout stands.

The leader goes first (it runs the release command and publishes the release in leader
settings, ``released_spec``); the others follow by unit number, each once every unit
before it reports the release healthy (its ``rollout-spec`` in peer data). Once released,
the order is by unit number alone: a unit elected leader since (or one rolled back) takes
its place by number, so leadership moving mid-rollout neither lets it jump the queue nor
switch past a halt. A unit whose new release fails its health check keeps the old one and
says so (``rollout-failed``): the rollout halts there, and no other unit switches until
that unit tries again. Units that left the relation are not in the order, so nobody waits
for them; a unit with nothing serving yet deploys at once (it has nothing to keep).
Peer data comes from our own units, but every value is checked like any relation data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .relation_data.common import RawRelation

ALL, ROLLING = "all", "rolling"
MODES = (ALL, ROLLING)
ENDPOINT = "cluster"  # the peer relation (metadata.yaml)
# a unit's keys in peer data
SPEC, VERSION = "rollout-spec", "rollout-version"  # the release it serves
FAILED, FAILED_VERSION, REASON = "rollout-failed", "rollout-failed-version", "rollout-reason"
UNHEALTHY, ROLLED_BACK = "health check failed", "rolled back"  # why a unit gave a release up
REASONS = (UNHEALTHY, ROLLED_BACK)
_SPEC = re.compile(r"[0-9a-f]{16}")  # see build.release_spec
_VERSION = re.compile(r"[0-9A-Za-z._-]{1,40}")
_UNIT = re.compile(r"([a-z][a-z0-9-]*)/([0-9]{1,9})")


@dataclass(frozen=True)
class Failure:
    """A release a unit gave up: it failed its health check there, or was rolled back."""

    spec: str
    version: str
    reason: str = UNHEALTHY


@dataclass(frozen=True)
class Report:
    """What a unit says of itself in peer data: the release it serves, and the last one
    it gave up (until a build works there again)."""

    spec: str = ""
    version: str = ""
    failed: Failure | None = None

    def data(self) -> dict[str, str]:
        """As peer data; an empty value removes the key."""
        failed = self.failed or Failure("", "", "")
        return {
            SPEC: self.spec,
            VERSION: self.version,
            FAILED: failed.spec,
            FAILED_VERSION: failed.version,
            REASON: failed.reason,
        }


@dataclass(frozen=True)
class Peers:
    """The rollout's inputs from peer data, read once per hook (only with ``rolling``)."""

    relation_id: str = ""  # "" when there is no peer relation
    leader: str = ""  # the unit that leads (leader settings' leader_unit)
    own: Report = field(default_factory=Report)  # what this unit published
    others: tuple[tuple[str, Report], ...] = ()  # the other units in the relation


@dataclass(frozen=True)
class Standing:
    """Where a rollout stands, as every unit's status says it."""

    text: str = ""  # "" when no rollout is under way
    held: bool = False  # this unit still serves the old release (its status is waiting)
    at: str = ""  # the unit the rollout waits for, or halted at


def report_from(data: Mapping[str, str]) -> Report:
    """A unit's report from its peer data; a value of the wrong shape counts as absent."""
    spec, version = _checked(data, SPEC, _SPEC), _checked(data, VERSION, _VERSION)
    failed = _checked(data, FAILED, _SPEC)
    reason = data.get(REASON, "")
    failure = Failure(
        failed, _checked(data, FAILED_VERSION, _VERSION), reason if reason in REASONS else UNHEALTHY
    )
    return Report(spec, version, failure if failed else None)


def _checked(data: Mapping[str, str], key: str, shape: re.Pattern[str]) -> str:
    value = data.get(key, "")
    return value if isinstance(value, str) and shape.fullmatch(value) else ""


def peers_from(relations: Iterable[RawRelation], leader: str, me: str) -> Peers:
    """The peers' reports from the peer relation (one at most) as the hook tools read it;
    units of other applications or with malformed names are left out."""
    for relation in relations:
        app = me.split("/", 1)[0]
        others = tuple(
            (unit.name, report_from(unit.data))
            for unit in relation.units
            if unit.name != me and _app_of(unit.name) == app
        )
        return Peers(relation.relation_id, leader, report_from(relation.own), others)
    return Peers(leader=leader)


def _app_of(unit: str) -> str:
    found = _UNIT.fullmatch(unit)
    return found.group(1) if found else ""


def order(leader: str, units: Iterable[str]) -> list[str]:
    """The order in which ``units`` switch: the leader first, then by unit number."""
    rest = sorted(
        (u for u in units if u != leader and _UNIT.fullmatch(u)), key=lambda u: int(u.split("/")[1])
    )
    return ([leader] if leader in units else []) + rest


def standing(
    target: str, version: str, me: str, mine: Report, peers: Peers, released: bool = False
) -> Standing:
    """Where the rollout of release ``target`` (short commit ``version``) stands: halted at
    the first unit in order that gave it up and does not serve it, else waiting for the
    first that does not serve it, or done. ``mine`` is this unit's report as it is now;
    ``released``: the leader published ``target`` (the leader no longer goes first)."""
    reports = {**dict(peers.others), me: mine}
    units = order("" if released else peers.leader, list(reports))
    behind = [unit for unit in units if reports[unit].spec != target]
    if not target or not behind:
        return Standing()
    shown = version or "the new release"
    for unit in behind:
        failed = reports[unit].failed
        if failed is not None and failed.spec == target:
            return Standing(f"rollout of {shown} halted at {unit}: {failed.reason}", me in behind, unit)
    first = behind[0]
    switched = len(units) - len(behind)
    text = f"rollout of {shown}: {switched}/{len(units)} switched, waiting for {first}"
    return Standing(text, me in behind, first)


def turn(spec: str, version: str, released: str, me: str, serving: str, peers: Peers) -> str:
    """Why this unit (serving release ``serving``; the leader only once ``spec`` is
    released) may not switch to release ``spec`` yet, as its status says it; "" when its
    turn has come. A halt at this unit does not hold it back: trying again is how a
    rollout resumes."""
    mine = Report(serving, failed=peers.own.failed)
    held = standing(spec, version, me, mine, peers, released=spec == released)
    if held.at != me:
        return held.text
    if spec != released:  # the leader has not put it live yet (a leader unknown here, or gone)
        return f"rollout of {version}: waiting for the leader to release it"
    return ""


def progress(released: str, me: str, mine: Report, peers: Peers) -> Standing:
    """Where the rollout stands for this unit's status: that of the release the leader
    published, else that of a newer one the leader itself gave up."""
    reports = {**dict(peers.others), me: mine}
    versions = [r.version for r in reports.values() if r.spec == released]
    versions += [r.failed.version for r in reports.values() if r.failed and r.failed.spec == released]
    version = next((v for v in versions if v), "")
    found = standing(released, version, me, mine, peers, released=True)
    led = reports.get(peers.leader)
    if found.text or led is None or led.failed is None or led.failed.spec == released:
        return found
    return standing(led.failed.spec, led.failed.version, me, mine, peers)


def next_report(before: Report, serving: tuple[str, str], failure: Failure | None, built: bool) -> Report:
    """What this unit reports after a hook: the release it serves (``(spec, version)``),
    and the release it gave up in this hook (``failure``), else the one it gave up before,
    kept until a build works here or it serves that release again. Rolling back the
    release it kept serving does not replace that: the rollout stays halted here."""
    spec, version = serving
    kept = before.failed
    if failure is None and kept is not None and (built or kept.spec == spec):
        kept = None
    if failure is not None and failure.reason == ROLLED_BACK and kept is not None and kept.spec != spec:
        failure = None
    return Report(spec, version, failure or kept)
