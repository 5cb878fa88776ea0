"""localjuju's agent on a model in memory (no machine is booted): the hooks relating,
publishing, removing a relation or a unit queue, in Juju's order; how the queue settles;
who leads; and the config a hook sees."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from localjuju import juju_secrets, units
from localjuju.agent import REMOVED, TOOLS, Agent, tag
from localjuju.model import Model
from localjuju.toolserver import PYTHON_CLIENT


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
    units.start_and_join(Agent(model), model, "wsgi-app", "wsgi-app/3")
    website, cluster = model.relations["1"]["seen"], model.relations["0"]["seen"]
    assert website["wsgi-app/3"] == ["apache2/0"]  # not the other wsgi-app units
    assert "wsgi-app/3" in website["apache2/0"] and "wsgi-app/3" not in website["wsgi-app/0"]
    assert sorted(cluster["wsgi-app/3"]) == ["wsgi-app/0", "wsgi-app/1", "wsgi-app/2"]
    assert "wsgi-app/3" in cluster["wsgi-app/0"]


def test_a_new_unit_gets_relation_created_for_each_relation_its_app_has() -> None:
    """Juju runs <endpoint>-relation-created on a unit added to an application that is
    already related, after install and before leader-elected (peers are queued apart)."""
    model = two_apps()
    agent = Agent(model)
    units.queue_created(agent, model, "wsgi-app", "wsgi-app/3")
    assert model.queue == [
        {
            "unit": "wsgi-app/3",
            "hook": "website-relation-created",
            "relation_id": "1",
            "remote_app": "apache2",
        }
    ]


def test_goal_state_lists_units_and_remote_units_without_peers() -> None:
    model = two_apps()
    model.units["apache2/0"]["status"] = {"status": "active", "message": ""}
    Agent(model).remove_unit("wsgi-app/2")
    goal = Agent(model).goal_state("wsgi-app")
    assert set(goal["units"]) == {"wsgi-app/0", "wsgi-app/1", "wsgi-app/2"}
    assert goal["units"]["wsgi-app/2"]["status"] == "dying"
    assert set(goal["relations"]) == {"website"}  # the peer relation is left out
    assert goal["relations"]["website"]["apache2"]["status"] == "joined"
    assert goal["relations"]["website"]["apache2/0"]["status"] == "active"


def test_secrets_are_seen_by_their_owner_and_the_granted_only() -> None:
    model = two_apps()
    agent = Agent(model)
    uri = agent.add_secret("apache2", {"password": "s3"}, grants={"wsgi-app": "1"})
    seen = juju_secrets.visible(model, "wsgi-app/0")
    assert seen[uri]["revisions"] == {"1": {"password": "czM="}} and seen[uri]["latest"] == 1  # base64
    model.units["other/0"] = {"app": "other", "machine": "host", "agent": "idle", "status": {}}
    assert juju_secrets.visible(model, "other/0") == {}
    Agent(model).forget_broken()
    model.relations["1"]["removing"] = True
    Agent(model).forget_broken()  # the relation goes, and its grant with it
    assert juju_secrets.visible(model, "wsgi-app/0") == {}


class FakeMachine:
    def __init__(self) -> None:
        self.reboots = 0

    def reboot(self) -> None:
        self.reboots += 1


def test_juju_reboot_now_reruns_the_hook_then_start() -> None:
    """juju-reboot --now: the interrupted hook is queued again first, then start."""
    model = two_apps()
    model.units["wsgi-app/0"].update(agent="error", error={"hook": "config-changed"})
    agent = Agent(model)
    machine = FakeMachine()
    agent.machine = lambda unit: machine  # type: ignore[method-assign,assignment,return-value]
    agent.reboot("wsgi-app/0", {"unit": "wsgi-app/0", "hook": "config-changed"})
    assert machine.reboots == 1
    assert model.units["wsgi-app/0"]["agent"] == "idle" and "error" not in model.units["wsgi-app/0"]
    assert [(e["unit"], e["hook"]) for e in model.queue][:2] == [
        ("wsgi-app/0", "config-changed"),
        ("wsgi-app/0", "start"),
    ]
    # every unit of that machine starts again (here: all of them share the host)
    assert {e["unit"] for e in model.queue if e["hook"] == "start"} == set(model.units)


class HostMachine:
    """A machine whose root and share are directories of the host: its hooks run here."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.root = directory / "root"

    def run(
        self, argv: list[str], env: dict[str, str], cwd: str, **_: Any
    ) -> subprocess.CompletedProcess[str]:
        share = str(self.directory / "share")
        env = {k: v.replace("/var/lib/localjuju", share) for k, v in env.items()}
        env["PATH"] = f"{self.root}/tools:/usr/bin:/bin"
        hook = str(self.root / argv[0].lstrip("/"))
        return subprocess.run([hook], env=env, capture_output=True, text=True, check=False)


def test_a_hooks_tools_are_served_and_what_they_change_is_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook calls its tools through the one client; the agent commits the relation data
    it set (queueing relation-changed on the other side) and logs the calls it made."""
    monkeypatch.setenv("LOCALJUJU_HOME", str(tmp_path / "home"))
    model = two_apps()
    model.machines["host"] = {}
    model.dir.mkdir(parents=True)
    agent = Agent(model)
    machine = HostMachine(tmp_path)
    agent.machine = lambda unit: machine  # type: ignore[method-assign,assignment,return-value]
    (machine.root / "tools").mkdir(parents=True)
    for tool in TOOLS:
        (machine.root / "tools" / tool).symlink_to(PYTHON_CLIENT)  # as install_charm links them
    hooks = machine.root / agent.charm_dir("wsgi-app/0").lstrip("/") / "hooks"
    hooks.mkdir(parents=True)
    (hooks / "update-status").write_text(
        "#!/bin/sh\nset -e\nrelation-set -r website:1 port=8080\nis-leader\nstatus-set active serving\n"
    )
    (hooks / "update-status").chmod(0o755)
    result = agent.run_hook("wsgi-app/0", "update-status")
    assert (result.ok, result.output) == (True, "True\n")
    assert model.relations["1"]["data"]["wsgi-app/0"] == {"port": "8080"}
    assert model.units["wsgi-app/0"]["status"]["message"] == "serving"
    assert {"unit": "apache2/0", "hook": "balancer-relation-changed"}.items() <= model.queue[-1].items()
    assert "3 hook-tool calls" in (model.dir / "debug.log").read_text()
    assert not (tmp_path / "share" / "context" / f"{tag('wsgi-app/0')}.sock").exists()


WSGI = ("wsgi-app/0", "wsgi-app/1", "wsgi-app/2")
UNIT = WSGI[0]


def hooks(model: Model) -> list[tuple[str, str]]:
    return [(event["unit"], event["hook"]) for event in model.queue]


def test_relating_queues_created_on_every_unit_then_each_side_joins_the_other() -> None:
    model = two_apps()
    model.relations.clear()
    model.data["next_relation_id"] = 5
    rid = Agent(model).relate("wsgi-app", "website", "apache2", "balancer", "http")
    assert rid == "5" and model.relations["5"]["apps"] == {"wsgi-app": "website", "apache2": "balancer"}
    created = [h for h in hooks(model) if h[1].endswith("-relation-created")]
    assert created == [(u, "website-relation-created") for u in WSGI] + [
        ("apache2/0", "balancer-relation-created")
    ]
    assert hooks(model)[len(created) :][:4] == [
        ("wsgi-app/0", "website-relation-joined"),
        ("wsgi-app/0", "website-relation-changed"),
        ("apache2/0", "balancer-relation-joined"),
        ("apache2/0", "balancer-relation-changed"),
    ]
    assert sorted(model.relations["5"]["seen"]["apache2/0"]) == ["wsgi-app/0", "wsgi-app/1", "wsgi-app/2"]
    assert model.relations["5"]["seen"]["wsgi-app/1"] == ["apache2/0"]


def test_published_data_changes_the_other_side_only_and_only_when_it_changed() -> None:
    model = two_apps()
    agent = Agent(model)
    agent.publish("1", "apache2/0", {"port": "80"})
    assert model.relations["1"]["data"]["apache2/0"] == {"port": "80"}
    assert hooks(model) == [(u, "website-relation-changed") for u in WSGI]
    assert model.queue[0]["remote_unit"] == "apache2/0" and model.queue[0]["relation_id"] == "1"
    model.queue.clear()
    agent.publish("1", "apache2/0", {"port": "80"})
    assert model.queue == []  # the same data: no hook
    agent.publish("1", "wsgi-app", {"name": "shop"})  # application data: every remote unit, no remote unit
    assert model.queue == [
        {
            "unit": "apache2/0",
            "hook": "balancer-relation-changed",
            "relation_id": "1",
            "remote_app": "wsgi-app",
            "remote_unit": "",
        }
    ]


def test_removing_a_relation_departs_every_unit_then_breaks_it_and_it_goes_when_done() -> None:
    model = two_apps()
    agent = Agent(model)
    agent.unrelate("1")
    departed = [h for h in hooks(model) if h[1].endswith("-departed")]
    assert len(departed) == 6 and all(
        model.relations["1"]["seen"][u] == [] for u in model.relations["1"]["seen"]
    )
    broken = [h for h in hooks(model) if h[1].endswith("-broken")]
    assert broken == [(u, "website-relation-broken") for u in WSGI] + [
        ("apache2/0", "balancer-relation-broken")
    ]
    assert hooks(model).index(departed[-1]) < hooks(model).index(broken[0])
    agent.forget_broken()
    assert "1" in model.relations  # its hooks are still queued
    model.queue.clear()
    agent.forget_broken()
    assert "1" not in model.relations and "0" in model.relations


def test_settle_runs_the_queue_in_order_and_holds_back_units_in_error_and_lost_ones() -> None:
    model = two_apps()
    model.units["wsgi-app/1"]["agent"] = "error"
    model.units["wsgi-app/2"]["agent"] = "lost"
    for unit in ("wsgi-app/1", "wsgi-app/0", "wsgi-app/2", "wsgi-app/0"):
        model.queue.append({"unit": unit, "hook": "update-status" if unit != "wsgi-app/0" else "start"})
    model.queue[3]["hook"] = "config-changed"
    agent = Agent(model)
    ran: list[tuple[str, str]] = []

    def dispatch(event: dict[str, str]) -> None:
        ran.append((event["unit"], event["hook"]))
        if event["hook"] == "start":
            agent.enqueue("wsgi-app/0", "leader-elected")  # a hook's consequences run in the same settle

    agent.dispatch = dispatch  # type: ignore[assignment,method-assign]
    assert agent.settle() == []
    assert ran == [
        ("wsgi-app/0", "start"),
        ("wsgi-app/0", "config-changed"),
        ("wsgi-app/0", "leader-elected"),
    ]
    assert hooks(model) == [("wsgi-app/1", "update-status")]  # kept for `resolved`; the lost unit's dropped


def test_effective_config_is_the_defaults_overlaid_with_what_was_set() -> None:
    model = two_apps()
    model.applications["wsgi-app"]["options"] = {
        "port": {"type": "int", "default": 8080},
        "app_repo": {"type": "string"},
    }
    model.applications["wsgi-app"]["config"] = {"app_repo": "https://example.org/shop.git"}
    assert Agent(model).effective_config("wsgi-app") == {
        "port": 8080,
        "app_repo": "https://example.org/shop.git",
    }
