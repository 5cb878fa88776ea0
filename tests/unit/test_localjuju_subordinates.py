"""localjuju's subordinates on a model in memory (no machine is booted): a container-scoped
relation gives each principal unit one subordinate unit on its machine, each side sees only
the unit in its own container, and the subordinate goes with its principal or its relation,
its machine staying while the principal is on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localjuju import machine_events, status_view, units
from localjuju.agent import REMOVED, Agent
from localjuju.model import Model
from localjuju.subordinates import refuse_unit_verbs

LOGGING = {"interface": "wsgi-app-logs", "scope": "container"}


@pytest.fixture(autouse=True)
def no_machines(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Charms are not copied anywhere: the units a test installs are recorded instead."""
    installed: list[str] = []
    monkeypatch.setattr(Agent, "install_charm", lambda self, unit, charm: installed.append(unit))
    return installed


def principal_and_shipper() -> Model:
    """wsgi-app/0 and /1 on machines 0 and 1, and log-shipper (subordinate, no units)."""
    model = Model.empty("unit-test")
    model.applications["wsgi-app"] = {
        "kind": "charm",
        "leader": "wsgi-app/0",
        "next_unit": 2,
        "endpoints": {"provides": {"logging": LOGGING, "website": {"interface": "http"}}},
    }
    model.applications["log-shipper"] = {
        "kind": "charm",
        "charm": "/charms/log-shipper",
        "subordinate": True,
        "leader": None,
        "endpoints": {"requires": {"logging": {"interface": "wsgi-app-logs", "scope": "container"}}},
    }
    for number in ("0", "1"):
        model.machines[number] = {"name": f"lj-unit-test-{number}", "dir": f"/m/{number}", "image": "/i"}
        model.units[f"wsgi-app/{number}"] = {
            "app": "wsgi-app",
            "machine": number,
            "agent": "idle",
            "status": {},
        }
    model.data["next_machine"] = 2
    return model


def relate(model: Model) -> tuple[Agent, str]:
    agent = Agent(model)
    rid = agent.relate("wsgi-app", "logging", "log-shipper", "logging", "wsgi-app-logs")
    units.add_subordinates(agent, model, rid)
    return agent, rid


def hooks(model: Model, unit: str) -> list[str]:
    return [e["hook"] for e in model.queue if e["unit"] == unit]


def test_relating_makes_one_subordinate_per_principal_unit_on_its_machine(no_machines: list[str]) -> None:
    model = principal_and_shipper()
    _, rid = relate(model)
    assert model.relations[rid]["scope"] == "container"
    assert {
        u: (model.units[u]["machine"], model.units[u]["principal"]) for u in model.app_units("log-shipper")
    } == {
        "log-shipper/0": ("0", "wsgi-app/0"),
        "log-shipper/1": ("1", "wsgi-app/1"),
    }
    assert no_machines == ["log-shipper/0", "log-shipper/1"]  # its own charm dir, on that machine
    assert model.data["next_machine"] == 2  # no machine booted for them
    assert hooks(model, "log-shipper/0") == [
        "install",
        "logging-relation-created",
        "leader-elected",
        "config-changed",
        "start",
        "logging-relation-joined",
        "logging-relation-changed",
    ]
    assert hooks(model, "log-shipper/1")[2] == "leader-settings-changed"
    # container scope: each side sees only the unit on its own machine
    assert model.relations[rid]["seen"] == {
        "log-shipper/0": ["wsgi-app/0"],
        "wsgi-app/0": ["log-shipper/0"],
        "log-shipper/1": ["wsgi-app/1"],
        "wsgi-app/1": ["log-shipper/1"],
    }
    joined = [e for e in model.queue if e["hook"] == "logging-relation-joined" and e["unit"] == "wsgi-app/1"]
    assert [e["remote_unit"] for e in joined] == ["log-shipper/1"]


def test_a_global_relation_still_joins_every_pair_and_makes_no_unit() -> None:
    model = principal_and_shipper()
    model.applications["apache2"] = {"kind": "server:apache2", "endpoints": {}}
    model.units["apache2/0"] = {"app": "apache2", "machine": "host", "agent": "idle", "status": {}}
    agent = Agent(model)
    rid = agent.relate("wsgi-app", "website", "apache2", "balancer", "http")
    assert units.add_subordinates(agent, model, rid) == []
    assert "scope" not in model.relations[rid]
    assert model.relations[rid]["seen"]["apache2/0"] == ["wsgi-app/0", "wsgi-app/1"]


def test_a_principal_unit_added_later_gets_its_subordinate(monkeypatch: pytest.MonkeyPatch) -> None:
    model = principal_and_shipper()
    relate(model)
    model.queue.clear()

    def add_machine(model: Model, **_: Any) -> str:
        model.machines["2"] = {"name": "lj-unit-test-2", "dir": "/m/2", "image": "/i"}
        return "2"

    monkeypatch.setattr(units, "add_machine", add_machine)
    monkeypatch.setattr(units, "wheelhouse", lambda model, app: None)
    unit = units.add_charm_unit(model, "wsgi-app", Path("/charms/wsgi-app"))
    assert unit == "wsgi-app/2"
    assert model.units["log-shipper/2"] == {
        "app": "log-shipper",
        "machine": "2",
        "principal": "wsgi-app/2",
        "agent": "allocating",
        "ports": [],
        "status": {"status": "waiting", "message": "agent initialising"},
    }
    order = [(e["unit"], e["hook"]) for e in model.queue]
    assert order.index(("wsgi-app/2", "start")) < order.index(("log-shipper/2", "install"))
    assert model.relations["0"]["seen"]["wsgi-app/2"] == ["log-shipper/2"]
    assert [
        e.get("remote_unit") for e in model.queue if e["unit"] == "log-shipper/2" and "joined" in e["hook"]
    ] == ["wsgi-app/2"]


def test_removing_a_principal_removes_its_subordinate_first_and_the_machine_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = principal_and_shipper()
    agent, _ = relate(model)
    model.queue.clear()
    agent.remove_unit("wsgi-app/1")
    order = [(e["unit"], e["hook"]) for e in model.queue]
    assert [h for u, h in order if u == "log-shipper/1"] == [
        "logging-relation-departed",
        "logging-relation-broken",
        "stop",
        "remove",
        REMOVED,
    ]
    assert order.index(("log-shipper/1", REMOVED)) < order.index(("wsgi-app/1", "stop"))
    assert ("log-shipper/0", "logging-relation-departed") not in order  # it never saw wsgi-app/1
    removed: list[str] = []
    monkeypatch.setattr("localjuju.agent.remove_machine", lambda model, number: removed.append(number))
    agent.finish_removal("log-shipper/1")
    assert removed == []  # its principal is still on machine 1
    agent.finish_removal("wsgi-app/1")
    assert removed == ["1"]


def test_removing_the_relation_removes_the_subordinates_but_not_the_machines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = principal_and_shipper()
    agent, rid = relate(model)
    model.queue.clear()
    agent.unrelate(rid)
    assert hooks(model, "log-shipper/0") == [
        "logging-relation-departed",
        "logging-relation-broken",
        "stop",
        "remove",
        REMOVED,
    ]
    assert hooks(model, "wsgi-app/0") == ["logging-relation-departed", "logging-relation-broken"]
    removed: list[str] = []
    monkeypatch.setattr("localjuju.agent.remove_machine", lambda model, number: removed.append(number))
    monkeypatch.setattr(Agent, "dispatch", lambda self, event: None)
    agent.settle()
    agent.forget_broken()
    assert model.app_units("log-shipper") == [] and removed == []
    assert set(model.units) == {"wsgi-app/0", "wsgi-app/1"} and rid not in model.relations


def test_hooks_of_a_subordinate_see_its_principal() -> None:
    model = principal_and_shipper()
    relate(model)
    context = Agent(model).context("log-shipper/1")
    (relation,) = context["relations"].values()
    assert relation["units"] == ["wsgi-app/1"]
    assert context["address"] == "127.0.0.1"  # its principal's machine's address


def test_status_shows_subordinates_under_their_principal() -> None:
    model = principal_and_shipper()
    relate(model)
    data = status_view.status_data(model)
    principal = data["applications"]["wsgi-app"]["units"]["wsgi-app/1"]
    assert list(principal["subordinates"]) == ["log-shipper/1"]
    assert principal["subordinates"]["log-shipper/1"]["principal"] == "wsgi-app/1"
    assert data["applications"]["log-shipper"]["subordinate-to"] == ["wsgi-app"]


def test_unit_verbs_are_refused_on_a_subordinate() -> None:
    model = principal_and_shipper()
    with pytest.raises(SystemExit, match="subordinate application log-shipper"):
        refuse_unit_verbs(model, "log-shipper", "add")
    refuse_unit_verbs(model, "wsgi-app", "add")  # a principal: allowed


def test_killing_a_principals_machine_loses_its_subordinate_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALJUJU_HOME", str(tmp_path))
    model = principal_and_shipper()
    relate(model)
    model.applications["log-shipper"]["leader"] = "log-shipper/1"
    model.queue.clear()
    model.save()
    killed: list[str] = []

    class Dead:
        def __init__(self, number: str) -> None:
            self.number = number

        def kill(self) -> None:
            killed.append(self.number)

    monkeypatch.setattr(machine_events, "machine_of", lambda model, number: Dead(number))
    monkeypatch.setattr(Agent, "dispatch", lambda self, event: None)
    assert machine_events.kill_machine("wsgi-app/1", "unit-test") == "wsgi-app/0"
    after = Model.load("unit-test")
    assert killed == ["1"]
    assert {u: after.units[u]["agent"] for u in ("wsgi-app/1", "log-shipper/1", "log-shipper/0")} == {
        "wsgi-app/1": "lost",
        "log-shipper/1": "lost",
        "log-shipper/0": "allocating",  # on the other machine
    }
    assert after.applications["log-shipper"]["leader"] == "log-shipper/0"  # the lease moved


def test_a_subordinate_of_another_base_than_its_principal_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Its units would run on the principal's debian@13 machines with a wheelhouse built
    for debian@12's Python, and status would say debian@12: refused, as Juju refuses it."""
    from localjuju import relating

    monkeypatch.setenv("LOCALJUJU_HOME", str(tmp_path))
    model = principal_and_shipper()
    model.applications["wsgi-app"]["base"] = "debian@13"
    model.applications["log-shipper"]["base"] = "debian@12"
    model.save()
    with pytest.raises(SystemExit, match=r"one base.*--base debian@13"):
        relating.relate("wsgi-app:logging", "log-shipper:logging", "unit-test")
    after = Model.load("unit-test")
    assert not after.relations and not after.app_units("log-shipper")
    relating.refuse_other_bases(model, "wsgi-app", "wsgi-app")  # one base: nothing to refuse


def test_a_subordinates_wheels_join_its_offline_principals_wheelhouse(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The machine's wheelhouse is the only index its pip has (isolated, or deployed with
    --wheels): the subordinate's wheels are added to it, and the index lists both."""
    from localjuju import machines

    model = principal_and_shipper()
    shared = tmp_path / "m0" / "share" / "wheels"
    shared.mkdir(parents=True)
    (shared / "gunicorn-23.0.0-py3-none-any.whl").write_text("")
    machines.write_index(shared, ["gunicorn-23.0.0-py3-none-any.whl"])
    model.machines["0"].update(dir=str(tmp_path / "m0"), hook_env=machines.offline_pip_env())
    own = tmp_path / "shipper-wheels"
    own.mkdir()
    (own / "requests-2.32.3-py3-none-any.whl").write_text("")
    monkeypatch.setattr(units, "wheelhouse", lambda model, app: own if app == "log-shipper" else None)
    relate(model)
    assert sorted(p.name for p in shared.glob("*.whl")) == [
        "gunicorn-23.0.0-py3-none-any.whl",
        "requests-2.32.3-py3-none-any.whl",
    ]
    assert (shared / "simple" / "requests" / "index.html").is_file()
    assert (shared / "simple" / "gunicorn" / "index.html").is_file()
    assert not (tmp_path / "m1").exists()  # machine 1 is online (no hook_env): left alone
