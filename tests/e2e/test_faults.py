"""Faults: the gunicorn master killed, a release that crashes only once served, the
database stopped, the git remote gone. Each asserts the outcome, and no hook fails."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from localmodel import SERVING, LocalModel, http_get

from localjuju.driver import ShareRepo, wait_for

URL = "http://127.0.0.1:8080"


def plain_app(version: str, crash_when_served: bool = False) -> dict[str, str]:
    """A dependency-free WSGI app; optionally one that imports fine but dies under gunicorn."""
    crash = 'import sys\nif "gunicorn.app.base" in sys.modules:\n    raise RuntimeError("boom")\n'
    return {
        "requirements.txt": "",
        "app.py": (crash if crash_when_served else "")
        + "def application(environ, start_response):\n"
        + '    start_response("200 OK", [("Content-Type", "text/plain")])\n'
        + f'    return [b"plain {version}\\n"]\n',
    }


@pytest.fixture(scope="module")
def app(
    model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LocalModel, ShareRepo]:
    model.cli("deploy", str(charm))
    repo = ShareRepo(model.machine_share(), "plain", tmp_path_factory.mktemp("work"))
    repo.commit(plain_app("v1"), "v1")
    model.config(app_repo=repo.url)
    assert http_get(f"{URL}/").body == "plain v1\n"
    return model, repo


def test_killed_master_is_restarted_by_systemd(app: tuple[LocalModel, ShareRepo]) -> None:
    model, _ = app
    pid = model.main_pid()
    model.sh(f"kill -9 {pid}")
    assert wait_for(lambda: model.main_pid() not in (0, pid), timeout=60)
    assert model.wait_serving(f"{URL}/").body == "plain v1\n"


def test_release_that_crashes_when_served_is_rolled_back(app: tuple[LocalModel, ShareRepo]) -> None:
    model, repo = app
    before = model.version()
    repo.commit(plain_app("v2", crash_when_served=True), "v2 dies under gunicorn")
    model.action("redeploy")
    unit = model.unit()
    assert unit["workload-status"] == "blocked" and unit["agent-status"] == "idle", unit
    assert f"rolled back to {before}" in unit["message"], unit
    assert http_get(f"{URL}/").body == "plain v1\n" and model.version() == before


def test_unreachable_remote_keeps_serving_and_is_retried(app: tuple[LocalModel, ShareRepo]) -> None:
    model, repo = app
    hidden = repo.bare.with_name("moved-away.git")
    shutil.move(repo.bare, hidden)
    try:
        result = model.action("redeploy")
        assert result["status"] == "failed"
        unit = model.unit()
        assert unit["workload-status"] == "blocked" and "cannot fetch" in unit["message"], unit
        assert http_get(f"{URL}/").body == "plain v1\n"
    finally:
        shutil.move(hidden, repo.bare)
    repo.commit(plain_app("v3"), "v3")
    model.cli("tick")  # update-status retries the fetch
    assert model.unit()["workload-status"] == "active"
    assert http_get(f"{URL}/").body == "plain v3\n"


def test_database_stopped_waits_and_recovers(app: tuple[LocalModel, ShareRepo]) -> None:
    model, _ = app
    model.cli("deploy", "postgresql")
    model.cli("relate", "wsgi-app:db", "postgresql:db")
    assert model.unit()["workload-status"] == "active"
    port = model.settings()["PGPORT"]
    cluster = next(
        line.split()
        for line in subprocess.run(
            ["pg_lsclusters", "-h"], capture_output=True, text=True
        ).stdout.splitlines()
        if line.split()[2] == port
    )
    version, name = cluster[0], cluster[1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "stop"], check=True)
    try:
        model.cli("run-hook", "wsgi-app/0", "update-status")  # only ours: `tick` would restart the server
        unit = model.unit()
        assert unit["workload-status"] == "waiting" and unit["agent-status"] == "idle", unit
        assert f"database at 127.0.0.1:{port} (not answering)" in unit["message"], unit
        assert http_get(f"{URL}/").body == "plain v3\n"  # the app itself still answers
    finally:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"], check=True)
    model.cli("run-hook", "wsgi-app/0", "update-status")
    assert model.unit()["workload-status"] == "active"


def test_disk_full_during_a_release_keeps_the_old_one(app: tuple[LocalModel, ShareRepo]) -> None:
    model, repo = app
    # move the app's tree onto a small filesystem of its own, then fill it
    model.sh(
        "systemctl stop 'wsgi-app@*.service' wsgi-app.socket && cp -a /srv/wsgi-app /srv/.copy && "
        "mount -t tmpfs -o size=400m,mode=0750 tmpfs /srv/wsgi-app && cp -a /srv/.copy/. /srv/wsgi-app/ && "
        "rm -rf /srv/.copy && systemctl start wsgi-app.socket " + SERVING
    )
    assert model.wait_serving(f"{URL}/").body == "plain v3\n"
    before = model.version()
    try:
        model.sh("dd if=/dev/zero of=/srv/wsgi-app/filler bs=1M 2>/dev/null; sync; true")
        repo.commit(plain_app("v4"), "v4")
        assert model.action("redeploy")["status"] == "failed"
        unit = model.unit()
        assert unit["workload-status"] == "blocked" and unit["agent-status"] == "idle", unit
        assert "No space left on device" in unit["message"], unit
        assert http_get(f"{URL}/").body == "plain v3\n" and model.version() == before
        model.sh("rm /srv/wsgi-app/filler")
        model.cli("run-hook", "wsgi-app/0", "update-status")  # retried once there is room
        assert model.unit()["workload-status"] == "active"
        assert http_get(f"{URL}/").body == "plain v4\n"
    finally:
        model.sh("rm -f /srv/wsgi-app/filler")
