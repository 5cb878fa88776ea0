"""localjuju's driver for tests and benchmarks: the command it runs (this localjuju, first
on the import path), where a model's files are, the repositories it puts in a machine's
share, polling; and the wsgi-app facts the e2e suite and the benchmarks pass it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import machine
from charms.layer.wsgi_app import build_tools, python_env
from localjuju import driver


@pytest.fixture(autouse=True)
def localjuju_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOCALJUJU_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_the_command_runs_this_localjuju_on_the_model() -> None:
    model = driver.LocalModel("mine", app="shop")
    assert model.command("status") == [sys.executable, "-m", "localjuju.cli", "-m", "mine", "status"]
    paths = model.environment()["PYTHONPATH"].split(os.pathsep)
    assert paths[0] == str(Path(driver.__file__).resolve().parents[1])
    answer = subprocess.run(
        [sys.executable, "-c", "import localjuju; print(localjuju.__file__)"],
        env=model.environment(),
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    assert answer.stdout.strip() == str(Path(driver.__file__).with_name("__init__.py"))


def test_a_failed_command_raises_with_its_output() -> None:
    model = driver.LocalModel("mine")
    with pytest.raises(driver.CliFailed, match="no-such-verb"):
        model.cli("no-such-verb")
    assert model.cli("no-such-verb", check=False).returncode == 2


def test_the_model_files_and_a_units_share(localjuju_home: Path) -> None:
    model = driver.LocalModel("mine", app="shop")
    assert model.directory == localjuju_home / "mine" and model.default_unit == "shop/0"
    assert model.share("2") == localjuju_home / "mine" / "machines" / "2" / "share"
    record = {"machines": {"4": {"dir": "/m/4"}}, "units": {"shop/0": {"machine": "4"}}}
    model.directory.mkdir(parents=True)
    (model.directory / "model.json").write_text(json.dumps(record))
    assert model.record() == record
    assert model.machine_share() == Path("/m/4/share")


def test_a_share_repository_is_cloned_by_the_url_the_machine_sees(tmp_path: Path) -> None:
    repo = driver.ShareRepo(tmp_path / "share", "app", tmp_path / "work")
    assert repo.url == "file:///var/lib/localjuju/repos/app.git"
    assert repo.bare == tmp_path / "share" / "repos" / "app.git"
    commit = repo.commit({"app.py": "VERSION = 1\n", "pkg/__init__.py": ""}, "v1")
    repo.tag("v1")
    assert driver.git(repo.bare, "rev-parse", "--short=7", "main") == commit
    assert driver.git(repo.bare, "show", "v1:app.py") == "VERSION = 1"
    temporary = driver.ShareRepo(tmp_path / "share", "other")
    assert temporary.work.is_dir() and not temporary.work.is_relative_to(tmp_path)


def test_wait_for_polls_until_true_or_the_timeout() -> None:
    calls: list[int] = []
    assert driver.wait_for(lambda: calls.append(1) or len(calls) == 3, timeout=5, interval=0.01)
    assert len(calls) == 3
    assert not driver.wait_for(lambda: False, timeout=0.05, interval=0.01)


def test_the_wheels_given_to_isolated_machines_are_what_the_charm_installs() -> None:
    assert machine.GUNICORN == python_env.GUNICORN
    assert build_tools.pinned_version("uv") == machine.UV
    assert machine.isolated_wheels() == [
        "--wheels",
        str(machine.DEMO_REQUIREMENTS),
        "--wheel",
        machine.GUNICORN,
        "--wheel",
        machine.UV,
    ]
    assert machine.DEMO_REQUIREMENTS.is_file()
