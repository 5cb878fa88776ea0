"""Subordinates, as Juju plays them: a subordinate application has no units of its own; a
relation with ``scope: container`` on either endpoint gives each unit of the principal
application one unit of the subordinate, on the principal's machine, and each side of such a
relation sees only the unit in its own container (juju ``state/relationunit.go``,
``subordinateOps``). These functions read the model; the agent and :mod:`.units` act on them.
"""

from __future__ import annotations

from .model import Json, Model


def is_subordinate(model: Model, app: str) -> bool:
    """Whether ``app``'s charm declares ``subordinate: true``."""
    return bool(model.applications[app].get("subordinate"))


def endpoint_scope(application: Json, endpoint: str) -> str:
    """The ``scope`` the application's metadata declares for ``endpoint`` (default ``global``)."""
    for role in ("provides", "requires", "peers"):
        info = application.get("endpoints", {}).get(role, {}).get(endpoint)
        if isinstance(info, dict):
            return str(info.get("scope") or "global")
    return "global"


def relation_scope(model: Model, apps: dict[str, str]) -> str:
    """``container`` when either endpoint of a relation declares it, as Juju decides."""
    scopes = {endpoint_scope(model.applications[app], endpoint) for app, endpoint in apps.items()}
    return "container" if "container" in scopes else "global"


def is_container(rel: Json) -> bool:
    return rel.get("scope") == "container"


def sees(model: Model, rel: Json, unit: str, other: str) -> bool:
    """Whether ``unit`` sees ``other`` in relation ``rel``: always in a global relation; in a
    container one only when one is the other's principal."""
    if not is_container(rel):
        return True
    return model.units[unit].get("principal") == other or model.units[other].get("principal") == unit


def principal_side(model: Model, rel: Json) -> tuple[str, str]:
    """(principal application, subordinate application) of container relation ``rel``."""
    subordinate = next(app for app in rel["apps"] if is_subordinate(model, app))
    principal = next((app for app in rel["apps"] if app != subordinate), subordinate)
    return principal, subordinate


def subordinates_of(model: Model, unit: str) -> list[str]:
    """The subordinate units whose principal is ``unit``."""
    return sorted(u for u, info in model.units.items() if info.get("principal") == unit)


def subordinate_unit(model: Model, app: str, principal: str) -> str:
    """``app``'s unit on ``principal`` ("" when it has none)."""
    return next((u for u in subordinates_of(model, principal) if model.units[u]["app"] == app), "")


def missing(model: Model, rid: str) -> list[tuple[str, str]]:
    """(subordinate application, principal unit) for each principal unit of container
    relation ``rid`` that has no unit of the subordinate yet."""
    rel = model.relations[rid]
    if not is_container(rel) or rel.get("removing"):
        return []
    principal, subordinate = principal_side(model, rel)
    return [
        (subordinate, unit)
        for unit in model.app_units(principal)
        if model.units[unit].get("life") != "dying" and not subordinate_unit(model, subordinate, unit)
    ]


def orphans(model: Model, rid: str) -> list[str]:
    """The subordinate units that removing container relation ``rid`` leaves with no
    container relation to their principal's application (Juju destroys them)."""
    rel = model.relations[rid]
    if not is_container(rel):
        return []
    principal, subordinate = principal_side(model, rel)
    others = [
        r
        for r, other in model.relations.items()
        if r != rid
        and is_container(other)
        and not other.get("removing")
        and set(other["apps"]) == {principal, subordinate}
    ]
    if others:
        return []
    return [
        u
        for u in model.app_units(subordinate)
        if str(model.units[u].get("principal", "")).split("/")[0] == principal
    ]


def refuse_unit_verbs(model: Model, app: str, verb: str) -> None:
    """SystemExit for ``add-unit`` or ``remove-unit`` on a subordinate (Juju refuses both:
    its units come and go with its principals and container relations)."""
    if is_subordinate(model, app):
        raise SystemExit(
            f"cannot {verb} a unit of subordinate application {app}: its units follow their "
            "principals (relate it, add or remove a principal unit, or remove the relation)"
        )
