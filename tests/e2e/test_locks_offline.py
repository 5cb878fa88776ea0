"""Lock files on a model whose machines reach no package index but their own wheelhouse
(localjuju's ``--isolated`` machines: ``PIP_NO_INDEX``, ``PIP_FIND_LINKS``): a uv.lock app
still gets exactly its locked versions. ``uv sync --frozen`` would fetch the URLs written
in uv.lock (files.pythonhosted.org), which such a machine cannot reach; the charm exports
the locked set with its hashes and installs it from the model's wheels.
"""

from __future__ import annotations

import json
import shlex
import tomllib
from pathlib import Path

import pytest
from localmodel import APP, LocalModel
from test_locks import INSTALLED, LOCK_APPS, files_of, uv_main_packages

from bench.machine import isolated_wheels
from localjuju.driver import ShareRepo

LOCKED = uv_main_packages(tomllib.loads((LOCK_APPS / "uvapp" / "uv.lock").read_text()))


@pytest.fixture(scope="module")
def offline(model: LocalModel, charm: Path) -> LocalModel:
    wheels = [arg for name, version in sorted(LOCKED.items()) for arg in ("--wheel", f"{name}=={version}")]
    model.deploy(charm, "--isolated", *isolated_wheels(), *wheels)
    return model


def test_a_uv_lock_app_is_installed_from_the_models_wheelhouse(offline: LocalModel, tmp_path: Path) -> None:
    repo = ShareRepo(offline.machine_share(), "uvapp", tmp_path)
    version = repo.commit(files_of("uvapp"), "uvapp")
    offline.config(app_repo=repo.url)
    unit = offline.unit()
    assert unit["workload-status"] == "active" and version in unit["message"], unit
    python = f"/srv/{APP}/current/venv/bin/python"
    venv = json.loads(offline.sh(f"{python} -c {shlex.quote(INSTALLED)}"))
    assert LOCKED == {"six": "1.16.0", "idna": "3.3"}  # older than their newest: only the lock chose them
    assert {name: venv.get(name) for name in LOCKED} == LOCKED
    assert "iniconfig" not in venv and venv["gunicorn"].startswith("27.")
