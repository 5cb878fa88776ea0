"""The Procfile's process types on two units: every unit runs its ``worker`` instances
(``process_counts``), the ``beat`` runs on the leader only and follows leadership
(``localjuju elect``); systemd brings back a killed instance; a new release restarts the
instances gracefully (SIGTERM reaches the code, which lets its pool child finish its task
and then stops) with the new code; a
count of 0 stops a type; the status says how many instances run.

The app is the standard library's only (no wheel to install on the isolated machines):
its ``worker.py`` rewrites a heartbeat file a second in the data directory, naming its
version, type, instance and PID, notes its SIGTERM in a ``.stopped`` file, and has a
pool child as Celery's (SIGTERM kills it) note the task it finished in a ``.task`` file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from localmodel import APP, LocalModel, UnitsRepo, leader, unit_names, wait_until

from bench.machine import isolated_wheels

DATA_DIR = f"/srv/{APP}/data"
APP_PY = """\
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\\n"]
"""
WORKER_PY = """\
import os
import signal
import sys
import time

VERSION = "v1"
NAME = os.environ["WSGI_APP_PROCESS"] + "-" + os.environ["WSGI_APP_INSTANCE"]
PATH = os.path.join(os.environ["APP_DATA_DIR"], "heartbeat-" + NAME)


# a pool child, as Celery's and RQ's: SIGTERM kills it (it resets the signal), and it
# finishes its task when its parent, told to stop, asks it to
finish_read, finish_write = os.pipe()
child = os.fork()
if child == 0:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.read(finish_read, 1)
    with open(PATH + ".task", "a") as log:
        log.write(f"{VERSION} finished\\n")
    os._exit(0)


def stop(signum, frame):
    try:
        os.write(finish_write, b"x")
    except OSError:  # the child is gone
        pass
    os.waitpid(child, 0)
    with open(PATH + ".stopped", "a") as log:
        log.write(f"{VERSION} {os.getpid()}\\n")
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
print(f"{NAME} {VERSION} started as {os.getpid()}", flush=True)
while True:
    with open(PATH + ".tmp", "w") as beat:
        beat.write(f"{VERSION} {os.getpid()} {time.time()}\\n")
    os.replace(PATH + ".tmp", PATH)
    time.sleep(1)
"""
PROCFILE = "web: gunicorn app:application\nworker: python worker.py\nbeat: python worker.py\n"


def app_files(version: str) -> dict[str, str]:
    return {"app.py": APP_PY, "worker.py": WORKER_PY.replace('"v1"', f'"{version}"'), "Procfile": PROCFILE}


@pytest.fixture(scope="module")
def processes(
    model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LocalModel, Callable[[str], str]]:
    model.deploy(charm, "-n", "2", "--isolated", *isolated_wheels(), process_counts="worker=2")
    repo = UnitsRepo(model, "procs", tmp_path_factory.mktemp("work"))

    def push(version: str) -> str:
        """Commit ``version`` and publish it at the same URL on every unit's machine."""
        return repo.commit(app_files(version), version)

    push("v1")
    model.config(app_repo=repo.url, app_ref="main")
    return model, push


def heartbeat(model: LocalModel, unit: str, name: str) -> list[str]:
    """``[version, pid, time]`` of instance ``name`` (``worker-1``) on ``unit``; [] when none."""
    return model.sh(f"cat {DATA_DIR}/heartbeat-{name} 2>/dev/null || true", unit).split()


def fresh(model: LocalModel, unit: str, name: str, age: float = 5) -> list[str]:
    """The heartbeat of ``name`` if it beat in the last ``age`` seconds, else []."""
    beat = heartbeat(model, unit, name)
    now = float(model.sh("date +%s.%N", unit))
    return beat if beat and now - float(beat[2]) < age else []


def active(model: LocalModel, unit: str, instance: str) -> bool:
    service = f"{APP}-{instance}.service"
    return model.sh(f"systemctl is-active {service} || true", unit).strip() == "active"


def test_every_unit_runs_its_workers_and_the_leader_alone_the_beat(processes) -> None:
    model, _ = processes
    chief = leader(model)
    for unit in unit_names(model):
        info = model.unit(unit)
        assert info["workload-status"] == "active", info
        expected = "; worker 2/2; beat 1/1" if unit == chief else "; worker 2/2"
        assert info["message"].endswith(expected), info
        for name in ("worker-1", "worker-2"):
            wait_until(f"{unit}: {name} beating", lambda u=unit, n=name: fresh(model, u, n), 30)
        assert active(model, unit, "worker@1") and active(model, unit, "worker@2")
        assert not active(model, unit, "worker@3")
        assert active(model, unit, "beat@1") is (unit == chief)
    follower = next(u for u in unit_names(model) if u != chief)
    assert heartbeat(model, follower, "beat-1") == []
    # the command itself is the instance's main process (bash execs it: SIGTERM reaches it),
    # run as the app user, its output in the journal under <app>-<type>
    main_pid = model.sh(f"systemctl show -P MainPID {APP}-worker@1.service", chief).strip()
    assert main_pid == heartbeat(model, chief, "worker-1")[1]
    assert model.sh(f"ps -o user= -p {main_pid}", chief).strip() == APP
    result = model.action("logs", unit=chief, process="worker")
    assert result["status"] == "completed", result
    assert f"worker-1 v1 started as {main_pid}" in result["results"]["output"], result
    refused = model.action("logs", unit=chief, process="no-such-type")
    assert refused["status"] == "failed" and "is not one of this release's" in refused.get("message", ""), (
        refused
    )


def test_systemd_brings_back_a_killed_worker(processes) -> None:
    model, _ = processes
    unit = unit_names(model)[0]
    pid = model.sh(f"systemctl show -P MainPID {APP}-worker@1.service", unit).strip()
    model.sh(f"kill -9 {pid}", unit)
    back = lambda: (b := fresh(model, unit, "worker-1", 3)) and b[1] != pid  # noqa: E731
    wait_until(f"worker-1 back after kill -9 {pid}", back, 30)
    assert active(model, unit, "worker@1")


def test_a_new_release_restarts_the_workers_gracefully_with_the_new_code(processes) -> None:
    model, push = processes
    push("v2")
    result = model.action("redeploy", unit=leader(model))
    assert result["status"] == "completed", result
    for unit in unit_names(model):
        for name in ("worker-1", "worker-2"):
            try:
                on_v2 = lambda u=unit, n=name: (b := fresh(model, u, n)) and b[0] == "v2"  # noqa: E731
                wait_until(f"{unit}: {name} on v2", on_v2, 60)
            except AssertionError as error:
                raise AssertionError(f"{error}; it runs {heartbeat(model, unit, name)}") from None
            stopped = model.sh(f"cat {DATA_DIR}/heartbeat-{name}.stopped", unit)
            assert "v1 " in stopped, f"{unit}: {name} was not stopped by SIGTERM: {stopped!r}"
            task = model.sh(f"cat {DATA_DIR}/heartbeat-{name}.task 2>/dev/null || true", unit)
            assert "v1 finished" in task, f"{unit}: {name}'s pool child did not finish its task"


def test_leadership_moves_the_beat(processes) -> None:
    model, _ = processes
    old = leader(model)
    new = next(u for u in unit_names(model) if u != old)
    model.cli("elect", new)
    assert leader(model) == new
    wait_until(f"{new}: the beat started", lambda: fresh(model, new, "beat-1"), 30)
    wait_until(f"{old}: the beat stopped", lambda: not active(model, old, "beat@1"), 30)
    assert model.unit(new)["message"].endswith("; worker 2/2; beat 1/1"), model.unit(new)
    assert model.unit(old)["message"].endswith("; worker 2/2"), model.unit(old)


def test_a_count_of_zero_stops_a_type(processes) -> None:
    model, _ = processes
    model.config(process_counts="worker=0")
    for unit in unit_names(model):
        wait_until(
            f"{unit}: the workers stopped",
            lambda u=unit: not active(model, u, "worker@1") and not active(model, u, "worker@2"),
            30,
        )
        assert "worker" not in model.unit(unit)["message"], model.unit(unit)
        assert (
            model.sh(f"ls /etc/systemd/system/{APP}-worker@.service 2>/dev/null || true", unit).strip() == ""
        )
