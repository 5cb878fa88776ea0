"""The charm's bootstrap: a pure wheelhouse goes into a venv without pip, and the
layer-basic config flags are set after the handler modules' own start callbacks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from charmhelpers.core import hookenv
from test_wheelhouse import make_wheel

from charms.layer import basic


def test_a_pure_wheelhouse_is_unpacked_into_a_venv_without_pip(tmp_path: Path, capsys) -> None:
    wheelhouse = tmp_path / "charm" / "wheelhouse"
    wheelhouse.mkdir(parents=True)
    make_wheel(wheelhouse, "first", "1.0", {"first.py": "A = 1\n"})
    make_wheel(wheelhouse, "second", "2.0", {"second/__init__.py": "B = 2\n"})
    venv = tmp_path / ".venv"
    basic._install_wheelhouse(venv, wheelhouse)
    assert "bootstrap: 2 of 2 archives unpacked in" in capsys.readouterr().out
    assert not list(venv.glob("bin/pip*"))
    code = "import first, second; print(first.A + second.B)"
    assert (
        subprocess.run([venv / "bin" / "python3", "-c", code], capture_output=True, text=True).stdout == "3\n"
    )
    basic._install_wheelhouse(venv, wheelhouse)  # an upgrade-charm with the same wheelhouse
    assert "bootstrap: 0 of 2 archives unpacked in" in capsys.readouterr().out


def test_config_flags_are_set_after_the_handler_modules_start_callbacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[str] = []
    monkeypatch.setattr(hookenv, "_atstart", [])
    monkeypatch.setattr(hookenv, "_atexit", [])
    monkeypatch.setattr(basic, "init_config_states", lambda: ran.append("config flags"))
    basic.register_config_states()
    hookenv.atstart(ran.append, "tracer choice")  # as a handler module does when it is discovered
    hookenv._run_atstart()
    assert ran == ["tracer choice", "config flags"]
