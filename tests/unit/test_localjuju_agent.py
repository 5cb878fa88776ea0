"""localjuju's unit lifecycle in the agent: the hooks a removed unit causes, in Juju's
order, and who leads afterwards (the model only; no machine is booted)."""

from __future__ import annotations

from localjuju import ops
from localjuju.agent import REMOVED, Agent
from localjuju.model import Model


def two_apps() -> Model:
    """wsgi-app/0..2 (peers on ``cluster``) related to apache2/0 on ``website``."""
    model = Model.empty("unit-test")
    model.applications["wsgi-app"] = {"kind": "charm", "leader": "wsgi-app/0", "endpoints": {}}
    model.applications["apache2"] = {"kind": "server:apache2", "leader": "apache2/0", "endpoints": {}}
    for unit in ("wsgi-app/0", "wsgi-app/1", "wsgi-app/2", "apache2/0"):
        model.units[unit] = {"app": unit.split("/")[0], "machine": "host", "agent": "idle", "status": {}}
    wsgi = ["wsgi-app/0", "wsgi-app/1", "wsgi-app/2"]
    model.relations["0"] = {
        "apps": {"wsgi-app": "cluster"},
        "interface": "peer",
        "data": {},
        "seen": {u: [o for o in wsgi if o != u] for u in wsgi},
    }
    model.relations["1"] = {
        "apps": {"wsgi-app": "website", "apache2": "balancer"},
        "interface": "http",
        "data": {},
        "seen": {**{u: ["apache2/0"] for u in wsgi}, "apache2/0": list(wsgi)},
    }
    return model


def test_the_others_see_a_removed_unit_depart_before_it_stops() -> None:
    model = two_apps()
    Agent(model).remove_unit("wsgi-app/1")
    order = [(e["unit"], e["hook"]) for e in model.queue]
    departs = [(u, h) for u, h in order if h.endswith("-departed") and u != "wsgi-app/1"]
    assert set(departs) == {
        ("wsgi-app/0", "cluster-relation-departed"),
        ("wsgi-app/2", "cluster-relation-departed"),
        ("apache2/0", "balancer-relation-departed"),
    }
    # the proxy drops the unit before the unit runs anything of its own
    first_own = next(i for i, (u, _) in enumerate(order) if u == "wsgi-app/1")
    assert order.index(("apache2/0", "balancer-relation-departed")) < first_own
    assert [h for u, h in order if u == "wsgi-app/1"][-3:] == ["stop", "remove", REMOVED]
    own_departs = [e for e in model.queue if e["unit"] == "wsgi-app/1" and e["hook"].endswith("-departed")]
    assert {e["departing"] for e in own_departs} == {"wsgi-app/1"}  # JUJU_DEPARTING_UNIT: itself
    assert {h for u, h in order if u == "wsgi-app/1" and h.endswith("-broken")} == {
        "cluster-relation-broken",
        "website-relation-broken",
    }


def test_leadership_goes_to_the_first_unit_whose_agent_is_up() -> None:
    model = two_apps()
    model.units["wsgi-app/1"]["agent"] = "lost"
    agent = Agent(model)
    assert agent.elect("wsgi-app", "wsgi-app/2") == "wsgi-app/2"  # forced
    model.units["wsgi-app/0"]["life"] = "dying"
    assert agent.elect("wsgi-app") == "wsgi-app/2"  # 0 is going, 1 is lost
    assert model.applications["wsgi-app"]["leader"] == "wsgi-app/2"
    assert {"unit": "wsgi-app/2", "hook": "leader-elected"} in model.queue


def test_a_new_unit_joins_its_peers_and_the_other_application_only() -> None:
    model = two_apps()
    model.units["wsgi-app/3"] = {"app": "wsgi-app", "machine": "host", "agent": "idle", "status": {}}
    ops._start_and_join(Agent(model), model, "wsgi-app", "wsgi-app/3")
    website, cluster = model.relations["1"]["seen"], model.relations["0"]["seen"]
    assert website["wsgi-app/3"] == ["apache2/0"]  # not the other wsgi-app units
    assert "wsgi-app/3" in website["apache2/0"] and "wsgi-app/3" not in website["wsgi-app/0"]
    assert sorted(cluster["wsgi-app/3"]) == ["wsgi-app/0", "wsgi-app/1", "wsgi-app/2"]
    assert "wsgi-app/3" in cluster["wsgi-app/0"]
