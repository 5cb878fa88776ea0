"""tools/run_e2e.py: which module runs in which lane, and what it reports."""

from __future__ import annotations

import subprocess

from tools import run_e2e


def test_every_module_runs_in_exactly_one_lane_and_isolated_ones_beside_the_rest():
    lanes = run_e2e.lanes()
    every = sorted(path.name for path in run_e2e.E2E.glob("test_*.py"))
    assert sorted(lanes["loopback"] + lanes["own-network"]) == every
    assert set(lanes["own-network"]) == set(run_e2e.OWN_NETWORK)
    assert "test_demo.py" in lanes["loopback"]  # port 8080, shared by the loopback lane


def test_summary_keeps_failures_durations_and_the_closing_line(tmp_path):
    log = tmp_path / "e2e.log"
    log.write_text(
        "tests/e2e/test_a.py ..F\n"
        "FAILED tests/e2e/test_a.py::test_x - AssertionError\n"
        "e2e module tests/e2e/test_a.py: 120s\n"
        "================ 2 passed, 1 failed in 130.00s ================\n"
    )
    lines = run_e2e.summary(log)
    assert lines == [
        "FAILED tests/e2e/test_a.py::test_x - AssertionError",
        "e2e module tests/e2e/test_a.py: 120s",
        "================ 2 passed, 1 failed in 130.00s ================",
    ]
    assert run_e2e.count(lines[-1], "passed") == 2 and run_e2e.count(lines[-1], "failed") == 1
    assert run_e2e.count(lines[-1], "error") == 0


def test_the_images_of_every_base_are_built_before_the_lanes_start(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(run_e2e.os, "geteuid", lambda: 0)
    monkeypatch.setattr(
        run_e2e.subprocess,
        "run",
        lambda argv, **kwargs: calls.append(argv) or subprocess.CompletedProcess(argv, 0),
    )
    run_e2e.prepare()
    assert [argv[1:] for argv in calls] == [["-m", "localjuju.cli", "images"]]
    assert capsys.readouterr().out.startswith("machine images ready in ")
