"""Scheduled jobs on two units: a Procfile ``cron-*`` job running every minute writes a line
naming its unit into that unit's data directory; all lines come from the leader, and after
``localjuju elect`` of the other unit the next ones come from it (the old leader's timer
stops). A job started again while it runs is not started twice; one that times out or
fails shows in the leader's status, which stays active, and its output in the logs action.

Its command holds ``%`` and ``$`` (both escaped in the unit file): the lines it writes
prove they reach the shell intact.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from localmodel import APP, LocalModel, leader, unit_names, wait_until

from bench.machine import isolated_wheels

DATA_DIR = f"/srv/{APP}/data"
RUNS = "cron-runs"
STAMP = f'echo "$APP_UNIT $(date +%s)" >> "$APP_DATA_DIR/{RUNS}"'
PROCFILE = f"web: gunicorn demo:application\ncron-stamp: * * * * * {STAMP}\n"
TIMER = f"{APP}-cron-stamp.timer"


@pytest.fixture(scope="module")
def units(model: LocalModel, charm: Path) -> LocalModel:
    model.deploy(charm, "-n", "2", "--isolated", *isolated_wheels(), procfile=PROCFILE)
    return model


def runs(model: LocalModel, unit: str) -> list[str]:
    """The unit names the job's lines on ``unit`` hold, one per run (none yet: [])."""
    lines = model.sh(f"cat {DATA_DIR}/{RUNS} 2>/dev/null || true", unit).splitlines()
    pairs = [line.split(" ") for line in lines]
    for line, (_, stamp) in zip(lines, pairs, strict=True):
        assert stamp.isdigit() and abs(int(stamp) - time.time()) < 3600, line  # date +%s ran
    return [name for name, _ in pairs]


def timer_state(model: LocalModel, unit: str) -> str:
    return model.sh(f"systemctl is-active {TIMER} || true", unit).strip()


def test_the_job_runs_on_the_leader_only(units: LocalModel) -> None:
    first, other = leader(units), next(u for u in unit_names(units) if u != leader(units))
    for unit in (first, other):
        info = units.unit(unit)
        assert info["workload-status"] == "active", info
    assert timer_state(units, first) == "active" and timer_state(units, other) == "inactive"
    wait_until("a run on the leader", lambda: len(runs(units, first)) >= 1, timeout=150, interval=5)
    assert set(runs(units, first)) == {first}
    assert runs(units, other) == []


def test_the_job_moves_with_leadership(units: LocalModel) -> None:
    old = leader(units)
    new = next(u for u in unit_names(units) if u != old)
    units.cli("elect", new)
    assert leader(units) == new
    assert timer_state(units, new) == "active" and timer_state(units, old) == "inactive"
    before = len(runs(units, old))
    wait_until("a run on the new leader", lambda: len(runs(units, new)) >= 1, timeout=150, interval=5)
    assert set(runs(units, new)) == {new}
    assert len(runs(units, old)) == before  # no run on the old leader since the election


def test_a_running_job_is_not_started_again_and_a_timeout_fails_it(units: LocalModel) -> None:
    """A start while a run goes on joins it (same main PID); a run over the timeout is stopped."""
    boss = leader(units)
    units.config(scheduled_jobs="slow: 0 0 1 1 * sleep 40", scheduled_job_timeout=15)
    service = f"{APP}-cron-slow.service"
    units.sh(f"systemctl start --no-block {service}", boss)
    time.sleep(2)
    pid = units.sh(f"systemctl show -P MainPID {service}", boss).strip()
    units.sh(f"systemctl start --no-block {service}", boss)
    time.sleep(2)
    assert pid != "0" and units.sh(f"systemctl show -P MainPID {service}", boss).strip() == pid
    assert units.sh("pgrep -cx sleep || true", boss).strip() == "1"
    wait_until(
        "the slow job stopped by its timeout",
        lambda: units.sh(f"systemctl show -P Result {service}", boss).strip() == "timeout",
        timeout=40,
        interval=5,
    )


def test_a_failed_job_shows_in_status_without_blocking(units: LocalModel) -> None:
    boss = leader(units)
    units.config(scheduled_jobs="broken: * * * * * echo broken-job-ran; exit 3", scheduled_job_timeout=3600)
    units.sh(f"systemctl start --no-block {APP}-cron-broken.service", boss)  # its timer is tested above
    wait_until(
        "the broken job ran",
        lambda: units.sh(f"systemctl show -P Result {APP}-cron-broken.service", boss).strip() == "exit-code",
        timeout=90,
        interval=5,
    )
    units.cli("tick")
    status = units.unit(boss)
    assert status["workload-status"] == "active", status
    assert status["message"].endswith("; last run failed: broken (see the journal)"), status
    # its output is in the journal under its own identifier
    assert "broken-job-ran" in units.sh(f"journalctl -t {APP}-cron-broken --no-pager -q", boss)
    result = units.action("logs", unit=boss, process="cron-broken")  # the job's journal, by its name
    assert result["status"] == "completed" and "broken-job-ran" in result["results"]["output"], result
