"""What a model has on the host, found by name: its directories and a process run from
them, with its listening port (a real child process; no root, no machine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from localjuju import leftovers, procs

SERVE = (
    "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
    "print(s.getsockname()[1], flush=True); time.sleep(60)"
)


def test_a_destroyed_model_leaves_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCALJUJU_HOME", str(tmp_path))
    assert leftovers.find("unit-gone") == []


def test_directories_processes_and_ports_of_a_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCALJUJU_HOME", str(tmp_path))
    server_dir = tmp_path / "unit-left" / "servers" / "memcached-0"
    server_dir.mkdir(parents=True)
    (tmp_path / "unit-left" / "machines" / "0").mkdir(parents=True)
    (tmp_path / "unit-left-2").mkdir()  # another model, whose name starts the same
    child = subprocess.Popen([sys.executable, "-c", SERVE], cwd=server_dir, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        found = {(item.kind, item.what.split()[0]) for item in leftovers.find("unit-left")}
        assert found == {
            ("state", str(tmp_path / "unit-left")),
            ("machine", str(tmp_path / "unit-left" / "machines" / "0")),
            ("process", str(child.pid)),
            ("port", str(port)),
        }
    finally:
        procs.terminate([child.pid], timeout=5)
        child.wait(timeout=5)
    assert [item.kind for item in leftovers.find("unit-left")] == ["machine", "state"]
    assert str(leftovers.Leftover("namespace", "lj-unit-left-sw")) == "namespace: lj-unit-left-sw"
