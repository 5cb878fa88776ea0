"""Several units on isolated machines: leadership, the shared SECRET_KEY, release_command
on the leader only, and each unit serving on its own address (checked from its peers).

The machines sit on the model's own network (``deploy --isolated``: 10.231.0.x, no way
out), so they install the app's requirements from the offline wheelhouse localjuju
gives them; the host never talks to those addresses, every request comes from a peer.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from localmodel import APP, LocalModel, leader, publish_copies, unit_names

from bench.machine import isolated_wheels
from localjuju.driver import ShareRepo

MARKER = "release-command-ran"
RELEASE_COMMAND = f'hostname >> "$APP_DATA_DIR/{MARKER}"'
DATA_DIR = f"/srv/{APP}/data"
# the remote side of an HTTP check: prints the body of sys.argv[1] as seen from a unit's machine
FETCH = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())"


@pytest.fixture(scope="module")
def units(model: LocalModel, charm: Path) -> LocalModel:
    model.deploy(charm, "-n", "2", "--isolated", *isolated_wheels(), release_command=RELEASE_COMMAND)
    return model


def address(model: LocalModel, unit: str) -> str:
    return str(model.unit(unit)["address"])


def fetch(model: LocalModel, from_unit: str, url: str) -> Any:
    """GET ``url`` from ``from_unit``'s machine; the JSON it answered."""
    return json.loads(model.cli("exec", from_unit, "--", "python3", "-c", FETCH, url).stdout)


def fetch_until(model: LocalModel, from_unit: str, url: str, wanted: Any, timeout: float = 60) -> Any:
    end = time.monotonic() + timeout
    answer: Any = None
    while time.monotonic() < end:
        result = model.cli("exec", from_unit, "--", "python3", "-c", FETCH, url, check=False)
        if result.returncode == 0:
            answer = json.loads(result.stdout)
            if wanted(answer):
                return answer
        time.sleep(1)
    raise AssertionError(f"{url} from {from_unit}: {answer}")


def marker(model: LocalModel, unit: str) -> list[str]:
    """The hostnames release_command wrote into ``unit``'s data dir (none: no file)."""
    return model.sh(f"cat {DATA_DIR}/{MARKER} 2>/dev/null || true", unit).split()


def secret_digest(model: LocalModel, unit: str) -> str:
    """A digest of the unit's SECRET_KEY (the key itself never leaves the machine)."""
    value = f"sed -n 's/^SECRET_KEY=//p' /etc/{APP}/settings.env | tr -d '\"\\n'"
    length = model.sh(f"{value} | wc -c", unit).strip()
    assert int(length) >= 32, f"{unit}: SECRET_KEY of {length} characters"
    digest = f"{value} | sha256sum"
    return model.sh(digest, unit).split()[0]


def peers_seen(model: LocalModel) -> dict[str, list[str]]:
    """Which units each unit sees on the peer relation ``cluster`` (as relation-list does)."""
    data = model.record()
    cluster = [rel for rel in data["relations"].values() if rel["apps"] == {APP: "cluster"}]
    assert len(cluster) == 1, data["relations"]
    return {unit: sorted(seen) for unit, seen in cluster[0]["seen"].items()}


def test_units_are_active_each_on_its_own_address(units: LocalModel) -> None:
    names = unit_names(units)
    assert names == [f"{APP}/0", f"{APP}/1"]
    for unit in names:
        info = units.unit(unit)
        assert info["workload-status"] == "active", info
        assert info["open-ports"] == ["8080/tcp"]
    assert [address(units, u) for u in names] == ["10.231.0.10", "10.231.0.11"]
    assert leader(units) in names
    for unit in names:  # the machine has that address, and no way out
        routes = units.sh("ip -4 route", unit)
        assert "default" not in routes and "10.231.0.0/24" in routes, routes
        assert f"inet {address(units, unit)}/24" in units.sh("ip -4 addr show eth0", unit)


def test_release_command_ran_on_the_leader_only(units: LocalModel) -> None:
    chief = leader(units)
    hostname = units.sh("hostname", chief).strip()
    assert marker(units, chief) == [hostname]
    for unit in unit_names(units):
        if unit != chief:
            assert marker(units, unit) == [], unit


def test_units_share_the_secret_key(units: LocalModel) -> None:
    digests = {unit: secret_digest(units, unit) for unit in unit_names(units)}
    assert len(set(digests.values())) == 1, digests


def test_each_unit_serves_on_its_address_as_its_peer_sees_it(units: LocalModel) -> None:
    first, second = unit_names(units)
    for unit, peer in ((first, second), (second, first)):
        health = fetch(units, peer, f"http://{address(units, unit)}:8080/healthz")
        assert health["status"] == "ok", health
        assert health["backends"]["database"]["ok"] is True, health


def test_peer_relation_lists_the_other_unit(units: LocalModel) -> None:
    first, second = unit_names(units)
    assert peers_seen(units) == {first: [second], second: [first]}


def test_config_change_reaches_every_unit_and_release_command_stays_on_the_leader(units: LocalModel) -> None:
    first, second = unit_names(units)
    units.config(environment="GREETING=hello units")
    for unit, peer in ((first, second), (second, first)):
        url = f"http://{address(units, unit)}:8080/env?GREETING"
        answer = fetch_until(units, peer, url, lambda a: a.get("value") == "hello units")
        assert answer == {"name": "GREETING", "set": True, "value": "hello units"}
        assert units.unit(unit)["workload-status"] == "active"
    chief = leader(units)
    hostname = units.sh("hostname", chief).strip()
    assert set(marker(units, chief)) == {hostname}
    assert all(marker(units, u) == [] for u in unit_names(units) if u != chief)


def test_added_unit_gets_the_secret_key_and_serves(units: LocalModel) -> None:
    first, second = unit_names(units)
    new = units.cli("add-unit", APP).stdout.strip()
    assert new == f"{APP}/2"
    info = units.unit(new)
    assert info["workload-status"] == "active", info
    assert info["address"] == "10.231.0.12" and not info["leader"]
    assert secret_digest(units, new) == secret_digest(units, first)
    answer = fetch(units, first, f"http://{info['address']}:8080/env?GREETING")
    assert answer["value"] == "hello units"
    assert fetch(units, new, f"http://{address(units, second)}:8080/healthz")["status"] == "ok"
    assert marker(units, new) == []
    assert peers_seen(units) == {first: [second, new], second: [first, new], new: [first, second]}


def test_rotate_secret_key_reaches_every_unit_without_a_restart(units: LocalModel) -> None:
    names = unit_names(units)
    chief = leader(units)
    before = secret_digest(units, chief)
    pids = {unit: units.main_pid(unit) for unit in names}
    follower = next(unit for unit in names if unit != chief)
    refused = units.action("rotate-secret-key", unit=follower)
    assert refused["status"] == "failed" and "leader" in refused.get("message", ""), refused
    result = units.action("rotate-secret-key", unit=chief)
    assert result["status"] == "completed", result
    digests = {unit: secret_digest(units, unit) for unit in names}
    assert len(set(digests.values())) == 1 and before not in digests.values(), digests
    assert {unit: units.main_pid(unit) for unit in names} == pids  # reloaded, not restarted
    assert "SECRET_KEY" not in str(result["results"]).replace("SECRET_KEY rotated", "")


MOVING_APP = """import json, os


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"version": "VERSION", "slot": os.environ.get("WSGI_APP_SLOT")}).encode()]
"""


def test_units_deploy_the_commit_the_leader_resolved_when_the_branch_moves(
    units: LocalModel, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A branch that moves between two units' fetches must not split the application: a
    follower redeploying on its own keeps the leader's commit (and does not wait for a
    release_command the leader will never run); the leader's redeploy moves every unit."""
    names, chief = unit_names(units), leader(units)
    follower = next(unit for unit in names if unit != chief)
    repo = ShareRepo(units.machine_share(chief), "moving", tmp_path_factory.mktemp("work"))
    copies = [units.machine_share(u) / "repos" / "moving.git" for u in names if u != chief]

    def push(version: str) -> str:
        """Commit to main and publish it at the same URL on every unit's machine."""
        commit = repo.commit({"wsgi.py": MOVING_APP.replace("VERSION", version)}, version)
        publish_copies(repo.bare, copies)
        return commit

    first = push("v1")
    units.config(app_repo=repo.url, app_ref="main")

    def versions() -> dict[str, str]:
        pages = {
            u: units.cli("exec", chief, "--", "python3", "-c", FETCH, f"http://{address(units, u)}:8080/")
            for u in names
        }
        return {
            u: json.loads(p.stdout)["version"] if p.stdout.startswith("{") else "demo"
            for u, p in pages.items()
        }

    assert versions() == {u: "v1" for u in names}, [units.unit(u) for u in names]
    second = push("v2")
    result = units.action("redeploy", unit=follower)
    assert result["status"] == "completed", result
    assert result["results"]["version"] == first, result  # the leader's commit, not main's head
    assert units.unit(follower)["workload-status"] == "active", units.unit(follower)
    assert versions() == {u: "v1" for u in names}
    result = units.action("redeploy", unit=chief)
    assert result["status"] == "completed" and result["results"]["version"] == second, result
    for unit in names:  # the follower follows through leader settings, with no action of its own
        fetch_until(units, chief, f"http://{address(units, unit)}:8080/", lambda a: a["version"] == "v2")
        assert units.unit(unit)["workload-status"] == "active", units.unit(unit)
    assert marker(units, follower) == []  # release_command still ran on the leader only


def test_destroy_leaves_no_network_namespaces(units: LocalModel) -> None:
    units.cli("destroy")
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    left = [line.split()[0] for line in listing.splitlines() if line.startswith(f"lj-{units.name}-")]
    assert left == [], left
