"""Rolling releases (``rollout=rolling``) over three units behind the runner's apache2, all
on the model's own network (``deploy --isolated``).

Checked here: a new commit reaches the units one at a time, the leader first, then by
unit number, each building only once the one before it serves the new release, while a
load through apache2 loses no request; a release that fails its health check on the
second unit halts the rollout there (that unit keeps the old release, the third never
builds it, not even once leadership moves to it) and every unit's status says so; a
fixing commit resumes it, and so does the redeploy action on the unit where it halted; a
unit that leaves mid-rollout is skipped.

The app is the standard library's only (no wheel to install on the isolated machines).
Its health check fails where the test put a marker file, in the versions built to.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from localmodel import (
    APP,
    LocalModel,
    SteadyLoad,
    UnitsRepo,
    apache2_config,
    leader,
    proxy_errors,
    servers_netns,
    site,
    unit_names,
)

from bench.machine import isolated_wheels

MARKER = "/etc/rollout-test-sick"  # readable by the app (ProtectSystem=strict keeps /etc readable)
APP_PY = """\
import json
import os

VERSION = "v1"
SICK_WHEN_MARKED = False


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/healthz" and SICK_WHEN_MARKED and os.path.exists(MARKER):
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"sick\\n"]
    body = json.dumps({"unit": os.environ.get("APP_UNIT", ""), "version": VERSION}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
"""


def app_files(version: str, sick_when_marked: bool = False) -> dict[str, str]:
    code = APP_PY.replace('"v1"', f'"{version}"').replace("MARKER", repr(MARKER))
    procfile = "web: gunicorn app:application\n"
    return {"app.py": code.replace("= False", f"= {sick_when_marked}"), "Procfile": procfile}


Push = Callable[..., str]


@pytest.fixture(scope="module")
def stack(
    model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LocalModel, Push]:
    """Three units serving v1 through apache2, then switched to ``rollout=rolling``; and a
    function that commits a version and has the leader fetch it (its commit's short hash)."""
    model.cli("deploy", "apache2", "--isolated", *apache2_config())
    model.deploy(charm, "-n", "3", "--isolated", *isolated_wheels())
    model.cli("relate", "apache2:balancer", f"{APP}:website")
    repo = UnitsRepo(model, "rolling", tmp_path_factory.mktemp("work"))
    repo.commit(app_files("v1"), "v1")
    model.config(app_repo=repo.url, app_ref="main", health_check_path="/healthz")
    model.config(rollout="rolling")
    assert leader(model) == f"{APP}/0"

    def push(version: str, sick_when_marked: bool = False) -> str:
        commit = repo.commit(app_files(version, sick_when_marked), version)
        result = model.action("redeploy", leader(model))  # the leader resolves main again
        assert result["status"] == "completed", result
        return commit

    for unit in unit_names(model):
        info = model.unit(unit)
        assert info["workload-status"] == "active" and "rolling (" in info["message"], info
    return model, push


def serving(model: LocalModel, unit: str) -> dict[str, Any]:
    """The release ``unit`` serves (its release.json) and when ``current`` last switched."""
    script = (
        f"import json, os; r = json.load(open('/srv/{APP}/current/release.json')); "
        f"r['switched'] = os.lstat('/srv/{APP}/current').st_mtime; print(json.dumps(r))"
    )
    release: dict[str, Any] = json.loads(model.sh(f'python3 -c "{script}"', unit))
    return release


def all_serve(model: LocalModel, version: str) -> None:
    """Every unit serves ``version`` and its status says no rollout is under way."""
    for unit in unit_names(model):
        assert serving(model, unit)["version"] == version, unit
        info = model.unit(unit)
        assert info["workload-status"] == "active", info
        assert "rollout" not in info["message"] and f"({version})" in info["message"], info


class Watch:
    """What the model showed while a rollout ran: every change of the units' rollout
    reports in peer data and of their status messages, read from the model's state file
    (written once per hook, atomically) a few times a second. Bounded in time."""

    def __init__(self, model: LocalModel, max_seconds: float = 900):
        self.model = model
        self.deadline = time.monotonic() + max_seconds
        self.reports: list[dict[str, str]] = []  # unit -> rollout-spec, at each change
        self.messages: list[tuple[str, str]] = []  # (unit, status message), at each change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            with contextlib.suppress(OSError, ValueError):  # being replaced: look again
                self._look(self.model.record())
            self._stop.wait(0.25)

    def _look(self, record: dict[str, Any]) -> None:
        cluster = next(r for r in record["relations"].values() if r["apps"] == {APP: "cluster"})
        reports = {
            unit: data.get("rollout-spec", "") for unit, data in cluster["data"].items() if "/" in unit
        }
        if not self.reports or reports != self.reports[-1]:
            self.reports.append(reports)
        for unit, info in record["units"].items():
            seen = (unit, info["status"]["message"])
            if unit.startswith(f"{APP}/") and seen not in self.messages:
                self.messages.append(seen)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def test_a_rolling_release_switches_one_unit_at_a_time_in_order_under_load(
    stack: tuple[LocalModel, Push],
) -> None:
    model, push = stack
    units = unit_names(model)
    load = SteadyLoad(
        f"{site(model)}/", threads=3, netns=servers_netns(model), count="version", max_seconds=900
    )
    with load, Watch(model) as watch:
        version = push("v2")
    assert load.failures == [], (load.failures[:10], proxy_errors(model))
    assert load.seen["v1"] > 0 and load.seen["v2"] > 0, load.seen  # both served during the rollout
    releases = {unit: serving(model, unit) for unit in units}
    assert {r["version"] for r in releases.values()} == {version}, releases
    # at every moment, the units that reported the new release healthy were the first of
    # the order (the leader, then by number), and they came one at a time (the state file
    # is written after each hook, not after the redeploy action: the leader alone may not show)
    new = str(releases[units[0]]["spec"])
    switched = [[unit for unit in units if seen.get(unit) == new] for seen in watch.reports]
    assert [units[: len(now)] for now in switched] == switched, watch.reports
    counts = [len(now) for now in switched if now]
    assert counts[-1] == 3 and len(counts) >= 2, watch.reports
    assert all(later == earlier + 1 for earlier, later in itertools.pairwise(counts)), watch.reports
    shown = [message for _, message in watch.messages]
    for number, waiting_for in enumerate(units[1:], start=1):
        progress = f"rollout of {version}: {number}/3 switched, waiting for {waiting_for}"
        assert any(message.endswith(progress) for message in shown), watch.messages
    # the leader (wsgi-app/0) first, then by number; each unit made its release only
    # once the one before it had switched to its own. localjuju runs one hook at a time,
    # so these timings (and the reports' order above) would hold with rollout=all too;
    # that a unit waits for the one before it is proven by the halt below (the third unit
    # never builds what the second gave up, even as the leader)
    for before, after in itertools.pairwise(units):
        assert releases[before]["switched"] < releases[after]["created"], (before, after, releases)
        assert releases[before]["switched"] < releases[after]["switched"], (before, after, releases)
    all_serve(model, version)


def test_a_release_failing_its_health_check_on_the_second_unit_halts_there(
    stack: tuple[LocalModel, Push],
) -> None:
    model, push = stack
    first, second, third = unit_names(model)
    before = {unit: serving(model, unit)["version"] for unit in (first, second, third)}
    model.sh(f"touch {MARKER}", second)
    sick = push("v3", sick_when_marked=True)
    halted = f"rollout of {sick} halted at {second}: health check failed"
    statuses = {unit: model.unit(unit) for unit in (first, second, third)}
    assert serving(model, first)["version"] == sick
    assert serving(model, second)["version"] == before[second]
    assert serving(model, third)["version"] == before[third]
    assert sick not in model.sh(f"ls /srv/{APP}/releases", third)  # it never built it
    assert statuses[first]["workload-status"] == "active", statuses
    assert statuses[second]["workload-status"] == "blocked", statuses
    assert "failed health check" in statuses[second]["message"], statuses
    assert statuses[third]["workload-status"] == "waiting", statuses
    for unit, info in statuses.items():
        assert halted in info["message"], (unit, info)
    held = model.action("redeploy", third)  # not its turn: it says where the rollout halted
    assert held["status"] == "failed" and halted in held.get("message", ""), held
    model.config(environment="GREETING=while halted")  # settings still reach every unit
    assert {model.settings(unit).get("GREETING") for unit in (first, second, third)} == {"while halted"}
    assert serving(model, third)["version"] == before[third] and halted in model.unit(third)["message"]
    # leadership moving to the third unit does not let it switch past the halt (as the
    # leader it would build and switch at once); back to the first for the tests that follow
    model.cli("elect", third)
    assert serving(model, third)["version"] == before[third], model.unit(third)
    assert sick not in model.sh(f"ls /srv/{APP}/releases", third)
    assert halted in model.unit(third)["message"], model.unit(third)
    model.cli("elect", first)
    assert leader(model) == first and serving(model, third)["version"] == before[third]


def test_a_fixing_commit_resumes_the_rollout(stack: tuple[LocalModel, Push]) -> None:
    model, push = stack
    all_serve(model, push("v4"))  # its health check does not look at the marker


def test_redeploy_on_the_unit_where_it_halted_resumes_the_rollout(stack: tuple[LocalModel, Push]) -> None:
    model, push = stack
    _, second, third = unit_names(model)
    sick = push("v5", sick_when_marked=True)  # the marker is still on the second unit
    assert serving(model, third)["version"] != sick
    retried = model.action("redeploy", second)  # the same release, tried again: it fails again
    assert retried["status"] == "failed" and "failed health check" in retried.get("message", ""), retried
    assert f"halted at {second}" in model.unit(third)["message"]
    model.sh(f"rm {MARKER}", second)
    assert model.action("redeploy", second)["status"] == "completed"
    all_serve(model, sick)


def test_a_unit_that_leaves_mid_rollout_is_skipped(stack: tuple[LocalModel, Push]) -> None:
    model, push = stack
    first, second, third = unit_names(model)
    model.sh(f"touch {MARKER}", second)
    sick = push("v6", sick_when_marked=True)
    assert f"halted at {second}" in model.unit(third)["message"]
    assert serving(model, third)["version"] != sick
    model.cli("remove-unit", second)
    assert unit_names(model) == [first, third]
    all_serve(model, sick)  # the third unit's turn came once the second had gone
