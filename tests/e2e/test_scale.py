"""Scale-out on several machines: three units of the charm, each on a machine of its own
with its own address, behind the runner's real apache2 (configured as the apache2 charm's
``balancer`` relation does), with real PostgreSQL and memcached, all on the model's own
network (``deploy --isolated``: machines at 10.231.0.1x, servers at 10.231.0.2).

Every request comes from the model's server namespace, never from the host's network.
Checked here: apache2 spreads requests over every unit and each unit publishes its own
address; release_command runs once, on the leader, while the other units wait for it;
a fourth unit added under load costs no request; the leader's machine dies and another
unit leads while the site keeps serving; removing the leader under load costs no request.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest
from localmodel import (
    APP,
    LocalModel,
    SteadyLoad,
    apache2_config,
    leader,
    netns_get,
    proxy_errors,
    servers_netns,
    site,
    unit_names,
)
from localmodel import answering_units as units_answering

from bench.machine import isolated_wheels

# one row per run of release_command, in the application's PostgreSQL database
RELEASE_COMMAND = (
    "python -c \"import os, socket, psycopg2; c = psycopg2.connect(os.environ['DATABASE_URL']); "
    "c.autocommit = True; k = c.cursor(); "
    "k.execute('CREATE TABLE IF NOT EXISTS release_runs (host text, at timestamptz DEFAULT now())'); "
    "k.execute('INSERT INTO release_runs (host) VALUES (%s)', (socket.gethostname(),))\""
)
RUN_HOSTS = (  # the hostname of every run of release_command, one per line
    "set -a; . /etc/{app}/settings.env; /srv/{app}/current/venv/bin/python -c "
    "\"import os, psycopg2; k = psycopg2.connect(os.environ['DATABASE_URL']).cursor(); "
    "k.execute('SELECT host FROM release_runs ORDER BY at'); "
    'print(*[r[0] for r in k.fetchall()], sep=chr(10))"'
)


def answering_units(model: LocalModel, requests: int = 60) -> Counter[str]:
    """Which units answered ``requests`` GETs through apache2 (each must succeed)."""
    return units_answering(model, f"{site(model)}/request", requests)


def balancer_members(model: LocalModel) -> list[str]:
    data = model.record()
    conf = Path(model.directory) / "servers" / "apache2-0" / "apache2.conf"
    assert data["units"]["apache2/0"]
    return sorted(
        line.split()[1].removeprefix("http://")
        for line in conf.read_text().splitlines()
        if line.strip().startswith("BalancerMember")
    )


def addresses(model: LocalModel) -> dict[str, str]:
    return {unit: model.unit(unit)["address"] for unit in unit_names(model)}


def release_runs(model: LocalModel, unit: str) -> list[str]:
    """Where release_command ran (hostnames), as recorded in PostgreSQL, read from ``unit``."""
    return model.sh(RUN_HOSTS.format(app=APP), unit).split()


def release_specs(model: LocalModel) -> dict[str, str]:
    """What each unit serves: its current release's spec (the same source and config give
    the same spec on every unit; release ids are per unit)."""
    return {
        unit: json.loads(model.sh(f"cat /srv/{APP}/current/release.json", unit))["spec"]
        for unit in unit_names(model)
    }


@pytest.fixture(scope="module")
def stack(model: LocalModel, charm: Path) -> LocalModel:
    for server in ("postgresql", "memcached"):
        model.cli("deploy", server, "--isolated")
    model.cli("deploy", "apache2", "--isolated", *apache2_config())
    model.deploy(charm, "-n", "3", "--isolated", *isolated_wheels())
    model.cli("relate", f"{APP}:db", "postgresql:db")
    model.cli("relate", f"{APP}:cache", "memcached")
    model.cli("relate", "apache2:balancer", f"{APP}:website")
    return model


def test_three_units_on_three_machines_each_publishing_its_own_address(stack: LocalModel) -> None:
    units = unit_names(stack)
    assert units == [f"{APP}/0", f"{APP}/1", f"{APP}/2"]
    for unit in units:
        info = stack.unit(unit)
        assert info["workload-status"] == "active", info
    own = addresses(stack)
    assert sorted(own.values()) == ["10.231.0.10", "10.231.0.11", "10.231.0.12"]
    website = next(rel for rel in stack.record()["relations"].values() if rel["apps"].get(APP) == "website")
    for unit, address in own.items():
        data = website["data"][unit]
        assert (data["private-address"], data["hostname"], data["port"]) == (address, address, "8080")
    assert balancer_members(stack) == sorted(f"{a}:8080" for a in own.values())


def test_apache2_spreads_requests_over_every_unit(stack: LocalModel) -> None:
    seen = answering_units(stack, 60)
    assert set(seen) == set(unit_names(stack)), seen
    assert min(seen.values()) >= 10, seen  # byrequests: close to 20 each
    health = netns_get(servers_netns(stack), f"{site(stack)}/healthz").json()
    assert health["backends"]["database"]["ok"] is True, health
    assert health["backends"]["cache"]["ok"] is True, health


def test_release_command_runs_once_on_the_leader_and_the_others_wait(stack: LocalModel) -> None:
    # the last unit leads, so the others run config-changed first and must wait for it
    chief = unit_names(stack)[-1]
    stack.cli("elect", chief)
    assert leader(stack) == chief
    before = release_specs(stack)
    stack.config(release_command=RELEASE_COMMAND)
    after = release_specs(stack)
    assert len(set(after.values())) == 1, after  # every unit serves the same new release
    assert set(after.values()).isdisjoint(before.values()), (before, after)
    assert release_runs(stack, chief) == [stack.sh("hostname", chief).strip()]
    log = stack.cli("debug-log", "--replay").stdout
    for unit in unit_names(stack)[:-1]:
        assert f"{unit}: " in log and "waiting for the leader to run release_command" in log, unit
        assert stack.unit(unit)["workload-status"] == "active"
    released = stack.record()["applications"][APP]["leader_data"]["released_spec"]
    spec = json.loads(stack.sh(f"cat /srv/{APP}/current/release.json", chief))["spec"]
    assert released == spec


def test_a_fourth_unit_added_under_load_costs_no_request_nor_a_release_command(stack: LocalModel) -> None:
    first = unit_names(stack)[0]
    with SteadyLoad(
        f"{site(stack)}/request", threads=4, netns=servers_netns(stack), count="unit", max_seconds=900
    ) as load:
        new = stack.cli("add-unit", APP).stdout.strip()
        time.sleep(5)
    assert new == f"{APP}/3"
    assert load.failures == [], (load.failures[:10], proxy_errors(stack))
    assert new in load.seen, load.seen  # apache2 sends it requests as soon as it serves
    assert stack.unit(new)["workload-status"] == "active"
    assert len(set(release_specs(stack).values())) == 1  # the current release, as published
    assert len(release_runs(stack, new)) == 1  # and the migration did not run again
    key = f"sed -n 's/^SECRET_KEY=//p' /etc/{APP}/settings.env | sha256sum"
    assert stack.sh(key, new) == stack.sh(key, first)
    assert len(balancer_members(stack)) == 4


def test_the_leaders_machine_dies_and_another_unit_leads_while_the_site_serves(stack: LocalModel) -> None:
    chief = leader(stack)
    with SteadyLoad(
        f"{site(stack)}/request", threads=4, netns=servers_netns(stack), count="unit", max_seconds=900
    ) as load:
        time.sleep(3)
        killed = time.monotonic()
        stack.cli("kill-machine", chief)
        time.sleep(8)
    assert load.ok > 100, load.ok
    # what was in flight to the dead unit, and apache2's pooled connections to it, fail;
    # once apache2 has put the unit in error, every request goes to the others
    assert len(load.failures) <= 4 * load.threads, load.failures[:10]
    assert all(at - killed < 5 for at in load.failed_at), [round(at - killed, 1) for at in load.failed_at]
    new = leader(stack)
    assert new != chief and stack.unit(new)["workload-status"] == "active"
    assert stack.unit(chief)["agent-status"] == "lost"
    log = stack.cli("debug-log", "--replay", "--include", new).stdout
    assert "leader-elected" in log
    survivors = set(unit_names(stack)) - {chief}
    assert set(answering_units(stack, 30)) <= survivors
    stack.cli("remove-unit", chief)  # Juju's remove-unit --force for a dead machine
    assert chief not in unit_names(stack)
    assert len(balancer_members(stack)) == 3


def test_removing_the_leader_under_load_costs_no_request(stack: LocalModel) -> None:
    chief = leader(stack)
    with SteadyLoad(
        f"{site(stack)}/request", threads=4, netns=servers_netns(stack), count="unit", max_seconds=900
    ) as load:
        time.sleep(2)
        stack.cli("remove-unit", chief)
        time.sleep(3)
    assert load.failures == [], (load.failures[:10], proxy_errors(stack))
    assert load.ok > 100
    remaining = unit_names(stack)
    assert chief not in remaining and len(remaining) == 2
    assert leader(stack) in remaining
    assert len(balancer_members(stack)) == 2
    cluster = next(rel for rel in stack.record()["relations"].values() if rel["apps"] == {APP: "cluster"})
    assert {u: sorted(s) for u, s in cluster["seen"].items()} == {
        remaining[0]: [remaining[1]],
        remaining[1]: [remaining[0]],
    }
    assert set(answering_units(stack, 20)) == set(remaining)
