"""Releases: broken code and failing release commands never replace the serving release,
a release that fails its health check is rolled back, the rollback action, and no request
fails while config and code change under load."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from apps import FLASK_APP, flask_files
from localmodel import APP, SOAK, LocalModel, SteadyLoad, http_get

from localjuju.driver import ShareRepo

URL = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def app(
    model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LocalModel, ShareRepo]:
    model.cli("deploy", str(charm))
    repo = ShareRepo(model.machine_share(), "flaskapp", tmp_path_factory.mktemp("work"))
    repo.commit(flask_files("v1"), "v1")
    model.config(app_repo=repo.url, health_check_path="/healthz")
    assert http_get(f"{URL}/").body.startswith("hello from flask v1;")
    return model, repo


def serving(model: LocalModel) -> str:
    return http_get(f"{URL}/").body.split(";")[0]


def test_no_request_fails_across_config_and_code_changes(app: tuple[LocalModel, ShareRepo]) -> None:
    model, repo = app
    with SteadyLoad(f"{URL}/") as load:
        model.config(environment="GREETING=under load")
        model.config(timeout="45")
        version = repo.commit(flask_files("v2"), "v2")
        assert model.action("redeploy")["status"] == "completed"
    assert serving(model) == "hello from flask v2"
    assert model.version() == version
    assert load.failures == [], load.failures[:5]
    assert load.ok > 50, load.ok
    print(f"steady load: {load.ok} requests, {len(load.failures)} failed")


def test_code_that_does_not_import_never_serves(app: tuple[LocalModel, ShareRepo]) -> None:
    model, repo = app
    before = model.version()
    repo.commit({"app.py": FLASK_APP + "\nimport no_such_module\n"}, "broken import")
    with SteadyLoad(f"{URL}/") as load:
        result = model.action("redeploy")
    assert result["status"] == "failed"
    unit = model.unit()
    assert unit["workload-status"] == "blocked" and "does not import" in unit["message"], unit
    assert "no_such_module" in unit["message"]
    assert model.version() == before and serving(model) == "hello from flask v2"
    assert load.failures == []


def test_failing_release_command_keeps_the_old_release(app: tuple[LocalModel, ShareRepo]) -> None:
    model, repo = app
    repo.commit(flask_files("v3"), "v3")
    model.config(release_command="python -c 'import sys; print(\"migration 0042 exploded\"); sys.exit(3)'")
    unit = model.unit()
    assert unit["workload-status"] == "blocked", unit
    assert "release_command failed" in unit["message"] and "migration 0042 exploded" in unit["message"], unit
    assert serving(model) == "hello from flask v2"
    model.config(release_command="python -c 'print(\"migrated\")'")
    assert serving(model) == "hello from flask v3"
    assert model.unit()["workload-status"] == "active"


def test_failed_health_check_rolls_back(app: tuple[LocalModel, ShareRepo]) -> None:
    model, repo = app
    before = model.version()
    sick = FLASK_APP.replace('return "ok\\n"', 'return "sick\\n", 500')
    assert sick != FLASK_APP
    repo.commit({"app.py": sick.replace('"v1"', '"v4"')}, "v4 fails its health check")
    with SteadyLoad(f"{URL}/") as load:
        model.action("redeploy")
    unit = model.unit()
    assert unit["workload-status"] == "blocked", unit
    assert "failed health check" in unit["message"] and f"rolled back to {before}" in unit["message"], unit
    assert serving(model) == "hello from flask v3" and model.version() == before
    assert load.failures == [], load.failures[:5]


def test_rollback_action(app: tuple[LocalModel, ShareRepo]) -> None:
    model, repo = app
    repo.commit(flask_files("v5"), "v5")
    assert model.action("redeploy")["status"] == "completed"
    v5 = model.version()
    assert serving(model) == "hello from flask v5"
    result = model.action("rollback")
    assert result["status"] == "completed", result
    assert serving(model) == "hello from flask v3"
    assert model.version() != v5 and result["results"]["version"] == model.version()


ROUNDS = 10 if SOAK else 5  # make test: five rounds of each kind of change; make soak: ten


def upgraded_charm(charm: Path, directory: Path) -> Path:
    """A copy of the built charm whose service unit differs (one comment line more), as a
    new charm revision's would: upgrading to it is a unit change."""
    copy = directory / "wsgi-app"
    shutil.copytree(charm, copy, symlinks=True)
    template = copy / "templates" / "gunicorn.service.j2"
    template.write_text(template.read_text() + "# a newer revision of the charm\n")
    return copy


def test_every_kind_of_change_five_times_cuts_no_request(
    app: tuple[LocalModel, ShareRepo], charm: Path, tmp_path: Path
) -> None:
    """Reload, new release, new virtualenv, unit change, rollback to another virtualenv,
    health-check rollback and charm upgrade, five rounds each (ten in make soak), under load from clients
    that open a connection per request and from clients that keep theirs."""
    model, repo = app
    newer = upgraded_charm(charm, tmp_path)
    sick = FLASK_APP.replace('return "ok\\n"', 'return "sick\\n", 500')
    pids = set()
    fresh = SteadyLoad(f"{URL}/", threads=3, max_seconds=1200)
    kept = SteadyLoad(f"{URL}/", threads=3, max_seconds=1200, keep_alive=True)
    counts = [(0, 0)]
    with fresh, kept:
        for number in range(ROUNDS):
            model.config(environment=f"GREETING=round {number}")  # reload
            repo.commit(flask_files(f"r{number}"), f"round {number}")
            assert model.action("redeploy")["status"] == "completed"  # a release, same venv
            model.config(python_packages="six" if number % 2 == 0 else "")  # another venv
            model.config(statsd_host="127.0.0.1:8125" if number % 2 == 0 else "")  # unit change
            assert model.action("rollback")["status"] == "completed"  # back to the other venv
            assert serving(model) == f"hello from flask r{number}"
            repo.commit({"app.py": sick.replace('"v1"', f'"sick{number}"')}, f"sick {number}")
            model.action("redeploy")  # fails its health check: the serving slot stays
            assert "failed health check" in model.unit()["message"]
            model.cli("upgrade", APP, "--path", str(newer if number % 2 == 0 else charm))
            assert serving(model) == f"hello from flask r{number}"
            pids.add(model.main_pid())
            counts.append((fresh.ok, kept.ok))
            print(f"round {number}: {fresh.ok} + {kept.ok} requests, {fresh.failures + kept.failures}")
    assert fresh.failures == [] and kept.failures == [], (fresh.failures[:5], kept.failures[:5])
    # both loads ran through every round (they stop by themselves at their time bound)
    grew = [now[0] > then[0] + 100 and now[1] > then[1] + 100 for then, now in itertools.pairwise(counts)]
    assert all(grew), counts
    assert len(pids) == ROUNDS  # every round ended on a gunicorn started by a handover
    print(f"{ROUNDS} rounds: {fresh.ok} new-connection and {kept.ok} keep-alive requests, 0 failed")


def test_port_change_hands_over_to_the_new_port(app: tuple[LocalModel, ShareRepo]) -> None:
    model, _ = app
    model.config(port="8081")
    assert http_get("http://127.0.0.1:8081/").body.startswith("hello from flask")
    with pytest.raises(OSError):
        http_get(f"{URL}/", timeout=2)
    model.config(port="8080")
    assert http_get(f"{URL}/").body.startswith("hello from flask")
