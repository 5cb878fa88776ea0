"""Releases: broken code and failing release commands never replace the serving release,
a release that fails its health check is rolled back, the rollback action, and no request
fails while config and code change under load."""

from __future__ import annotations

from pathlib import Path

import pytest
from apps import FLASK_APP, AppRepo, flask_files
from localmodel import LocalModel, SteadyLoad, http_get

URL = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def app(
    model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LocalModel, AppRepo]:
    model.cli("deploy", str(charm))
    repo = AppRepo(model.machine_share(), "flaskapp", tmp_path_factory.mktemp("work"))
    repo.commit(flask_files("v1"), "v1")
    model.config(app_repo=repo.url, health_check_path="/healthz")
    assert http_get(f"{URL}/").body.startswith("hello from flask v1;")
    return model, repo


def serving(model: LocalModel) -> str:
    return http_get(f"{URL}/").body.split(";")[0]


def test_no_request_fails_across_config_and_code_changes(app: tuple[LocalModel, AppRepo]) -> None:
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


def test_code_that_does_not_import_never_serves(app: tuple[LocalModel, AppRepo]) -> None:
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


def test_failing_release_command_keeps_the_old_release(app: tuple[LocalModel, AppRepo]) -> None:
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


def test_failed_health_check_rolls_back(app: tuple[LocalModel, AppRepo]) -> None:
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


def test_rollback_action(app: tuple[LocalModel, AppRepo]) -> None:
    model, repo = app
    repo.commit(flask_files("v5"), "v5")
    assert model.action("redeploy")["status"] == "completed"
    v5 = model.version()
    assert serving(model) == "hello from flask v5"
    result = model.action("rollback")
    assert result["status"] == "completed", result
    assert serving(model) == "hello from flask v3"
    assert model.version() != v5 and result["results"]["version"] == model.version()
