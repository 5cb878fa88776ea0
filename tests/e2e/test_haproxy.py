"""haproxy for real: three units of the charm behind Debian's haproxy, configured from the
``reverseproxy`` relation as the haproxy charm configures itself (its default service:
``haproxy_service`` on port 80, ``balance leastconn``, one ``server ... check`` per unit),
all on the model's own network (``deploy --isolated``: units at 10.231.0.1x, haproxy at
10.231.0.2:80). Every request comes from the model's server namespace.

Checked here: each unit is a server of the default service and requests reach every unit;
removing a unit under load costs no request, because the proxy's ``-departed`` runs before
the unit's ``stop`` (the order Juju's uniter follows: the unit leaves the relation, then
stops; haproxy's reload keeps every connection); and when the order goes the other way
(Juju does not wait for the proxy's hook, so a unit may stop first), requests fail only
until haproxy's health checks (the charm's ``check``: every 2 s, down after 3 failures)
take the unit out, and the count is reported.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from localmodel import (
    APP,
    SERVERS,
    LocalModel,
    SteadyLoad,
    report,
    servers_netns,
    unit_names,
)
from localmodel import answering_units as units_answering

from bench.machine import isolated_wheels

SITE = f"http://{SERVERS}:80"
# haproxy's defaults for the charm's `check`: inter 2 s, fall 3; a refused connection is
# retried 3 times a second apart (`retries 3`, no `option redispatch`) before a 503
DOWN_WITHIN = 3 * 2 + 2 + 3 + 2  # seconds: three failed checks, one interval of phase, retries, margin


def server_lines(model: LocalModel) -> list[str]:
    conf = Path(model.directory) / "servers" / "haproxy-0" / "haproxy.cfg"
    return [line.strip() for line in conf.read_text().splitlines() if line.strip().startswith("server ")]


def answering_units(model: LocalModel, requests: int) -> Counter[str]:
    """Which units answered ``requests`` GETs through haproxy (each must succeed)."""
    return units_answering(model, f"{SITE}/request", requests)


@pytest.fixture(scope="module")
def stack(model: LocalModel, charm: Path) -> LocalModel:
    model.cli("deploy", "haproxy", "--isolated")
    model.deploy(charm, "-n", "3", "--isolated", *isolated_wheels())
    model.cli("relate", "haproxy:reverseproxy", f"{APP}:website")
    return model


def test_each_unit_is_a_server_of_the_charms_default_service(stack: LocalModel) -> None:
    proxy = stack.unit("haproxy/0")
    assert (proxy["workload-status"], proxy["message"]) == ("active", "Unit is ready"), proxy
    assert proxy["open-ports"] == ["80/tcp"]
    assert server_lines(stack) == [
        f"server {APP}-{n}-8080 10.231.0.1{n}:8080 maxconn 100 cookie S{n} check" for n in range(3)
    ]
    proxied = next(
        r for r in stack.record()["relations"].values() if r["apps"].get("haproxy") == "reverseproxy"
    )
    assert proxied["data"]["haproxy/0"]["public-address"] == SERVERS


def test_requests_through_haproxy_reach_every_unit(stack: LocalModel) -> None:
    seen = answering_units(stack, 45)
    assert set(seen) == set(unit_names(stack)), seen
    assert min(seen.values()) >= 5, seen  # leastconn over idle servers takes turns


def test_removing_a_unit_under_load_costs_no_request(stack: LocalModel) -> None:
    gone = f"{APP}/2"
    with SteadyLoad(
        f"{SITE}/request", threads=4, netns=servers_netns(stack), count="unit", max_seconds=120
    ) as load:
        time.sleep(2)
        removal = stack.cli("remove-unit", gone).stderr
        time.sleep(3)
    report(f"haproxy, remove-unit under load: {load.ok} requests, {len(load.failures)} failed")
    assert load.failures == [], load.failures[:10]
    assert load.ok > 50, load.ok
    assert gone in load.seen, load.seen  # it served during the load, until haproxy dropped it
    assert gone not in unit_names(stack)
    assert [line.split()[1] for line in server_lines(stack)] == [f"{APP}-0-8080", f"{APP}-1-8080"]
    # what removed it without a failure: haproxy reloaded without it before its stop hook ran
    assert removal.index("haproxy/0: reverseproxy-relation-departed") < removal.index(
        f"{gone}: running hook stop"
    )


def test_a_unit_stopping_before_haproxy_knows_fails_requests_only_until_the_checks_take_it_out(
    stack: LocalModel,
) -> None:
    stopping = f"{APP}/1"
    with SteadyLoad(
        f"{SITE}/request", threads=4, netns=servers_netns(stack), count="unit", max_seconds=120
    ) as load:
        time.sleep(2)
        stack.cli("run-hook", stopping, "stop")  # the charm's stop: gunicorn goes, haproxy still sends
        stopped = time.monotonic()
        time.sleep(DOWN_WITHIN + 4)
    late = [round(at - stopped, 1) for at in load.failed_at if at - stopped > DOWN_WITHIN]
    last = max((at - stopped for at in load.failed_at), default=0.0)
    report(
        f"haproxy, a unit stopped before haproxy's -departed: {load.ok} requests, "
        f"{len(load.failures)} failed, the last {last:.1f}s after its stop hook"
    )
    assert late == [], (late, load.failures[:10])
    assert set(load.failures) <= {"HTTP 503", "HTTP 502"}, load.failures[:10]  # haproxy's answers
    assert load.ok > 50, load.ok
    # the health checks have it down: every request goes to the unit left
    assert set(answering_units(stack, 20)) == {f"{APP}/0"}
