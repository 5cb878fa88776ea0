"""The ``logging`` relation end to end, through a subordinate: a log shipper built here
(tests/e2e/log_shipper.py) related to two units of the charm gets one unit on each
principal's machine, reads what the relation tells it, and forwards that unit's journal
lines to an rsyslog server in the model's server namespace, where its files are read.

The machines sit on the model's own network (``--isolated``: 10.231.0.x), rsyslog in its
server namespace (10.231.0.2); every request and every syslog line stays on it.
"""

from __future__ import annotations

import re
import time
import uuid
from functools import partial
from pathlib import Path

import pytest
from localmodel import APP, SERVERS, LocalModel, netns_get, servers_netns, wait_until
from log_shipper import write_charm

from bench.machine import isolated_wheels

UNITS = (f"{APP}/0", f"{APP}/1")
SHIPPER = "log-shipper"


@pytest.fixture(scope="module")
def shipping(model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory) -> LocalModel:
    model.deploy(charm, "-n", "2", "--isolated", *isolated_wheels())
    model.cli("deploy", "rsyslog", "--isolated")
    port = model.record()["units"]["rsyslog/0"]["server"]["port"]
    shipper = write_charm(tmp_path_factory.mktemp("charms"))
    model.cli("deploy", str(shipper), "--config", f"target={SERVERS}:{port}")
    model.cli("relate", f"{APP}:logging", f"{SHIPPER}:logging")
    return model


def identifier(unit: str) -> str:
    return "unit-" + unit.replace("/", "-")


def received(model: LocalModel, unit: str) -> str:
    """What rsyslog filed for ``unit``: its machine's hostname, its journal identifier."""
    hostname = model.sh("hostname", unit).strip()
    path = Path(model.directory) / "servers" / "rsyslog-0" / "log" / hostname / f"{identifier(unit)}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def shipped(model: LocalModel, unit: str, marker: str) -> bool:
    return marker in received(model, unit)


def request(model: LocalModel, unit: str) -> str:
    """GET the unit's app with a fresh marker in the query; the marker."""
    marker = uuid.uuid4().hex
    url = f"http://{model.unit(unit)['address']}:8080/?marker={marker}"
    assert netns_get(servers_netns(model), url).status == 200
    return marker


def test_deploying_a_subordinate_makes_no_unit_relating_makes_one_per_principal(shipping: LocalModel) -> None:
    status = shipping.status()
    assert status["applications"][SHIPPER]["subordinate-to"] == [APP]
    for unit in UNITS:
        principal = status["applications"][APP]["units"][unit]
        (sub,) = principal["subordinates"]
        info = principal["subordinates"][sub]
        assert info["machine"] == principal["machine"], info  # on the principal's machine
        assert info["agent-status"] == "idle", info
        # JUJU_PRINCIPAL_UNIT told it whose logs to ship, and the relation which lines
        assert info["message"].startswith(f"shipping {identifier(unit)} of {unit} to {SERVERS}:"), info
    assert len(shipping.record()["machines"]) == 2  # no machine of its own


def test_each_units_requests_and_app_output_reach_rsyslog_filed_under_that_unit(shipping: LocalModel) -> None:
    markers = {unit: request(shipping, unit) for unit in UNITS}
    for unit, marker in markers.items():
        wait_until(f"{unit}'s access-log line in rsyslog", partial(shipped, shipping, unit, marker), 30)
        line = next(line for line in received(shipping, unit).splitlines() if marker in line)
        # rsyslog's line: time, the machine's hostname, the tag, then the access-log line
        access = rf'remote=\S+ method=GET path="/" query="marker={marker}" status=200 '
        pattern = rf" {identifier(unit)}\[\d+\]:? {access}"
        assert re.search(pattern, line), line
        # the app's own output (its workers loading), shipped from the journal's start
        assert re.search(rf"wsgi-app demo: loaded in worker \d+ of {unit}", received(shipping, unit))
        other = next(u for u in UNITS if u != unit)
        assert marker not in received(shipping, other)  # each ships only its principal's lines


def test_removing_a_principal_unit_removes_its_subordinate_first(shipping: LocalModel) -> None:
    principal = shipping.status()["applications"][APP]["units"][UNITS[1]]
    (sub,) = principal["subordinates"]
    shipping.cli("remove-unit", UNITS[1])
    status = shipping.status()
    assert sub not in status["applications"][SHIPPER]["units"]
    assert len(status["applications"][SHIPPER]["units"]) == 1  # the other principal's stays
    log = shipping.debug_log()
    stops = [line.split(":")[0] for line in log.splitlines() if re.search(r" localjuju stop: ", line)]
    assert stops.index(sub) < stops.index(UNITS[1]), stops  # it stopped before its principal
    assert principal["machine"] not in shipping.record()["machines"]  # then the machine went


def test_removing_the_relation_removes_the_subordinates_and_stops_the_forwarding(
    shipping: LocalModel,
) -> None:
    shipping.cli("remove-relation", f"{APP}:logging", f"{SHIPPER}:logging")
    status = shipping.status()
    assert status["applications"][SHIPPER]["units"] == {}
    principal = status["applications"][APP]["units"][UNITS[0]]
    assert "subordinates" not in principal and principal["workload-status"] == "active"
    assert principal["machine"] in shipping.record()["machines"]  # the principal's machine stays
    forwarder = f"log-shipper-{identifier(UNITS[0])}"
    assert shipping.sh(f"systemctl is-active {forwarder} || true", UNITS[0]).strip() in (
        "inactive",
        "unknown",
    )
    marker = request(shipping, UNITS[0])
    journal = f"journalctl --no-pager -o cat -t {identifier(UNITS[0])}"
    wait_until("the request in the unit's journal", lambda: marker in shipping.sh(journal, UNITS[0]), 20)
    time.sleep(5)  # a forwarder still running delivers within a second or two (see above)
    assert marker not in received(shipping, UNITS[0])
