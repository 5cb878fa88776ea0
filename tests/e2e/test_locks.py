"""Lock files honoured: one unit taken through a uv.lock app, a poetry.lock app and a
hashed requirements.txt app (each pinning versions older than the newest, so only the
lock can have chosen them), then a repository that needs a newer Python than the machine's.

The apps are committed under ``lock_apps/`` (their locks made with uv 0.13 and Poetry 2.5).
What each venv holds is read in the machine from the serving release's venv.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from localmodel import APP, LocalModel, http_get

from localjuju.driver import ShareRepo

URL = "http://127.0.0.1:8080"
LOCK_APPS = Path(__file__).resolve().parent / "lock_apps"
INSTALLED = (
    "import importlib.metadata as m, json, re\n"
    "names = {re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(): d.version for d in m.distributions()}\n"
    "print(json.dumps(names))\n"
)


def files_of(name: str) -> dict[str, str]:
    return {path.name: path.read_text() for path in (LOCK_APPS / name).iterdir() if path.is_file()}


def deploy_repo(model: LocalModel, work: Path, name: str, files: dict[str, str]) -> str:
    repo = ShareRepo(model.machine_share(), name, work)
    version = repo.commit(files, name)
    model.config(app_repo=repo.url)
    return version


def installed(model: LocalModel) -> dict[str, str]:
    """Distribution name -> version in the serving release's venv, as its Python sees them."""
    python = f"/srv/{APP}/current/venv/bin/python"
    return dict(json.loads(model.sh(f"{python} -c {shlex.quote(INSTALLED)}")))


def uv_main_packages(lock: dict) -> dict[str, str]:
    """The uv.lock packages the project's main dependencies need (dev groups left out)."""
    packages = {package["name"]: package for package in lock["package"]}
    root = next(p for p in packages.values() if p.get("source", {}).get("virtual") == ".")
    wanted, queue = {}, [d["name"] for d in root.get("dependencies", [])]
    while queue:
        name = queue.pop()
        if name not in wanted:
            wanted[name] = packages[name]["version"]
            queue += [d["name"] for d in packages[name].get("dependencies", [])]
    return wanted


def assert_serving(model: LocalModel, version: str) -> None:
    unit = model.unit()
    assert unit["workload-status"] == "active" and version in unit["message"], unit


def assert_blocked(model: LocalModel, *words: str) -> str:
    unit = model.unit()
    assert unit["workload-status"] == "blocked" and unit["agent-status"] == "idle", unit
    for word in words:
        assert word in unit["message"], unit
    return str(unit["message"])


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("work")


def test_a_uv_lock_app_gets_exactly_the_locked_versions(deployed: LocalModel, work: Path) -> None:
    version = deploy_repo(deployed, work, "uvapp", files_of("uvapp"))
    assert_serving(deployed, version)
    lock = tomllib.loads((LOCK_APPS / "uvapp" / "uv.lock").read_text())
    locked = uv_main_packages(lock)
    assert locked == {"six": "1.16.0", "idna": "3.3"}  # both older than their newest releases
    venv = installed(deployed)
    assert {name: venv.get(name) for name in locked} == locked
    assert "iniconfig" not in venv  # the dev group is not installed
    assert venv["gunicorn"].startswith("27.")  # the charm's own package, beside the lock
    assert http_get(f"{URL}/").body == "locked app: six==1.16.0 idna==3.3\n"
    owner = deployed.sh(f"stat -c %U /srv/{APP}/tools/uv-*/bin/uv").split()
    assert owner == ["root"]  # the installer is root's: the app user cannot change it


def test_a_package_the_lock_forbids_is_a_clear_conflict(deployed: LocalModel) -> None:
    before = deployed.version()
    deployed.config(python_packages="six>=1.17")
    message = assert_blocked(deployed, "six>=1.17", "six==1.16.0")
    assert "locked versions" in message
    assert http_get(f"{URL}/").body == "locked app: six==1.16.0 idna==3.3\n"
    assert deployed.version() == before
    # the failed build is not tried again, and stays shown until its inputs change: after an
    # idle hook, a config-changed that changes nothing, and one that changes a setting only
    # (new settings applied to the release still serving)
    for hook in ("update-status", "config-changed"):
        deployed.cli("run-hook", deployed.default_unit, hook)
        assert assert_blocked(deployed) == message, hook
    deployed.config(timeout="45")
    assert assert_blocked(deployed) == message
    assert http_get(f"{URL}/").body == "locked app: six==1.16.0 idna==3.3\n"
    assert deployed.version() == before
    assert "timeout = 45\n" in deployed.sh(f"cat /etc/{APP}/gunicorn.conf.py")  # the setting was applied
    deployed.config(python_packages="", timeout="30")
    assert_serving(deployed, before)


def test_a_poetry_lock_app_gets_its_main_group(deployed: LocalModel, work: Path) -> None:
    version = deploy_repo(deployed, work, "poetryapp", files_of("poetryapp"))
    assert_serving(deployed, version)
    lock = tomllib.loads((LOCK_APPS / "poetryapp" / "poetry.lock").read_text())
    main = {p["name"]: p["version"] for p in lock["package"] if "main" in p.get("groups", [])}
    assert main == {"six": "1.15.0", "idna": "3.2"}
    venv = installed(deployed)
    assert {name: venv.get(name) for name in main} == main
    assert "iniconfig" not in venv
    assert http_get(f"{URL}/").body == "locked app: six==1.15.0 idna==3.2\n"


def test_hashed_requirements_are_checked_and_a_tampered_hash_keeps_the_serving_release(
    deployed: LocalModel, work: Path
) -> None:
    files = files_of("hashedapp")
    repo = ShareRepo(deployed.machine_share(), "hashedapp", work)
    version = repo.commit(files, "hashed")
    deployed.config(app_repo=repo.url)
    assert_serving(deployed, version)
    assert http_get(f"{URL}/").body == "locked app: six==1.14.0 idna==3.1\n"
    six = re.compile(r"six==1\.14\.0 \\\n(?:\s+--hash=sha256:\w+ ?\\?\n?)+")
    tampered = six.sub(f"six==1.14.0 --hash=sha256:{'0' * 64}\n", files["requirements.txt"])
    assert tampered.count("--hash") == 3 and "0" * 64 in tampered
    repo.commit({"requirements.txt": tampered}, "a hash that is not six's")
    result = deployed.action("redeploy")
    assert result["status"] == "failed", result
    assert_blocked(deployed, "Hash mismatch", "six==1.14.0")
    assert http_get(f"{URL}/").body == "locked app: six==1.14.0 idna==3.1\n"
    assert deployed.version() == version


def test_a_python_newer_than_the_machines_is_a_blocked_message(deployed: LocalModel, work: Path) -> None:
    machine = deployed.sh("python3 -c 'import platform; print(platform.python_version())'").strip()
    assert machine.startswith("3.11.")  # Debian bookworm's; the app below needs 3.12
    files = {
        **files_of("hashedapp"),
        "pyproject.toml": '[project]\nname = "newer"\nversion = "1"\nrequires-python = ">=3.12"\n',
    }
    deploy_repo(deployed, work, "newerapp", files)
    message = assert_blocked(deployed)
    assert message == f"app requires Python >=3.12 (pyproject.toml); this machine has {machine}"
    assert http_get(f"{URL}/").body == "locked app: six==1.14.0 idna==3.1\n"
