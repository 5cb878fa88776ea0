"""Relations: relating two applications' endpoints, removing a relation, and writing a
side's relation data by hand (for tests)."""

from __future__ import annotations

from .agent import Agent
from .model import DEFAULT_MODEL, Json, Model, open_model
from .progress import step
from .settling import say, settle
from .subordinates import is_subordinate, relation_scope
from .units import add_subordinates, app_base, is_server


def _endpoint(model: Model, spec: str, other_interface: str = "") -> tuple[str, str, str]:
    app, _, endpoint = spec.partition(":")
    application = model.applications.get(app)
    if application is None:
        raise SystemExit(f'application "{app}" not found')
    candidates = []
    for role in ("provides", "requires"):
        for name, info in application["endpoints"].get(role, {}).items():
            interface = info["interface"] if isinstance(info, dict) else info
            if (not endpoint or name == endpoint) and (not other_interface or interface == other_interface):
                candidates.append((name, interface, role))
    if not candidates:
        raise SystemExit(f"no matching endpoint for {spec}")
    name, interface, role = candidates[0]
    return name, interface, role


def relate(a: str, b: str, model_name: str = DEFAULT_MODEL) -> str:
    """Relate ``a`` and ``b`` (``app`` or ``app:endpoint``) on their matching interface and
    run the hooks; returns the relation id. SystemExit when they do not match or are
    already related."""
    with open_model(model_name) as model:
        end_a, interface, role_a = _endpoint(model, a)
        end_b, interface_b, role_b = _endpoint(model, b, interface)
        if interface != interface_b or role_a == role_b:
            raise SystemExit(f"cannot relate {a} ({role_a} {interface}) to {b} ({role_b} {interface_b})")
        app_a, app_b = a.split(":")[0], b.split(":")[0]
        isolated = [x for x in (app_a, app_b) if model.applications[x].get("isolated")]
        if len(isolated) == 1 and any(is_server(model, x) for x in (app_a, app_b)):
            raise SystemExit(
                f"{isolated[0]} is isolated and the other is not: deploy both --isolated, or neither"
            )
        for rel in model.relations.values():
            if rel["apps"] == {app_a: end_a, app_b: end_b} and not rel.get("removing"):
                raise SystemExit("relation already exists")
        container = relation_scope(model, {app_a: end_a, app_b: end_b}) == "container"
        if container and not any(is_subordinate(model, x) for x in (app_a, app_b)):
            raise SystemExit(f"cannot relate {a} and {b}: a container-scoped relation needs a subordinate")
        if container:
            refuse_other_bases(model, app_a, app_b)
        agent = Agent(model, say)
        rid = agent.relate(app_a, end_a, app_b, end_b, interface)
        add_subordinates(agent, model, rid)  # one per principal unit, on its machine
        with step(f"relating {app_a}:{end_a} and {app_b}:{end_b} ({interface})"):
            settle(agent)
        return rid


def refuse_other_bases(model: Model, app_a: str, app_b: str) -> None:
    """SystemExit when the two charm applications of a container-scoped relation have
    different bases: the subordinate's units would run on the principal's machines, with
    another Python than its wheelhouse was built for (Juju refuses it too: a principal and
    its subordinate have one base)."""
    if any(is_server(model, app) for app in (app_a, app_b)):
        return
    base_a, base_b = app_base(model, app_a), app_base(model, app_b)
    if base_a != base_b:
        raise SystemExit(
            f"cannot relate {app_a} ({base_a.name}) and {app_b} ({base_b.name}): a principal and "
            "its subordinate have one base (deploy the subordinate with --base "
            f"{(base_b if is_subordinate(model, app_a) else base_a).name})"
        )


def remove_relation(a: str, b: str, model_name: str = DEFAULT_MODEL) -> None:
    """Remove the relation between ``a`` and ``b``: every unit departs, then it breaks.
    SystemExit when there is none."""
    with open_model(model_name) as model:
        app_a, app_b = a.split(":")[0], b.split(":")[0]
        wanted = {app: end for app, _, end in (a.partition(":"), b.partition(":")) if end}
        for rid, rel in model.relations.items():
            ends_match = all(rel["apps"].get(app) == end for app, end in wanted.items())
            if set(rel["apps"]) == {app_a, app_b} and ends_match and not rel.get("removing"):
                agent = Agent(model, say)
                agent.unrelate(rid)
                with step(f"removing relation {rid} between {app_a} and {app_b}"):
                    settle(agent)
                return
        raise SystemExit(f"no relation between {a} and {b}")


def set_relation_data(
    rid: str, entity: str, values: Json, replace: bool = False, model_name: str = DEFAULT_MODEL
) -> None:
    """Write ``entity``'s (a unit's or an application's) data in relation ``rid`` as its own
    relation-set would, and run the hooks that follow on the other side. An empty value
    deletes the key. For tests: data no real charm would send."""
    with open_model(model_name) as model:
        rel = model.relations.get(rid)
        if rel is None:
            raise SystemExit(f"no relation {rid} (localjuju status lists them)")
        if entity.split("/")[0] not in rel["apps"]:
            raise SystemExit(f"{entity} is not in relation {rid}")
        merged = {} if replace else dict(rel["data"].get(entity, {}))
        merged.update(values)
        agent = Agent(model, say)
        agent.publish(rid, entity, {key: str(value) for key, value in merged.items() if value != ""})
        settle(agent)
