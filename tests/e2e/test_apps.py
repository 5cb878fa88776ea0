"""Real Flask and Django apps from git: deploy, new commits, pinned refs, bad repositories."""

from __future__ import annotations

import pytest
from apps import DJANGO_FILES, flask_files
from localmodel import APP, LocalModel, http_get

from localjuju.driver import ShareRepo

URL = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def flask_repo(deployed: LocalModel, tmp_path_factory: pytest.TempPathFactory) -> ShareRepo:
    return ShareRepo(deployed.machine_share(), "flaskapp", tmp_path_factory.mktemp("work"))


def assert_active(model: LocalModel, serving: str) -> None:
    unit = model.unit()
    assert unit["agent-status"] == "idle" and unit["workload-status"] == "active", unit
    assert unit["message"] == f"serving {serving} on :8080", unit


def test_flask_app_from_git(deployed: LocalModel, flask_repo: ShareRepo) -> None:
    v1 = flask_repo.commit(flask_files("v1"), "flask v1")
    flask_repo.tag("release-1")
    deployed.config(app_repo=flask_repo.url, environment="GREETING=hi")
    assert http_get(f"{URL}/").body == "hello from flask v1; greeting=hi\n"
    assert deployed.version() == v1
    assert deployed.unit()["workload-status"] == "active"
    assert v1 in deployed.unit()["message"]


def test_new_commit_is_served_after_redeploy(deployed: LocalModel, flask_repo: ShareRepo) -> None:
    v2 = flask_repo.commit(flask_files("v2"), "flask v2")
    assert deployed.cli("run-hook", "wsgi-app/0", "update-status") and http_get(f"{URL}/").body.startswith(
        "hello from flask v1"
    )  # a moving branch is only followed on request
    result = deployed.action("redeploy")
    assert result["status"] == "completed", result
    assert http_get(f"{URL}/").body == "hello from flask v2; greeting=hi\n"
    assert deployed.version() == v2


def test_app_ref_pins_a_tag(deployed: LocalModel, flask_repo: ShareRepo) -> None:
    deployed.config(app_ref="release-1")
    assert http_get(f"{URL}/").body.startswith("hello from flask v1;")
    deployed.config(app_ref="main")
    assert http_get(f"{URL}/").body.startswith("hello from flask v2;")


@pytest.mark.parametrize(
    ("repo", "words"),
    [
        ("file:///var/lib/localjuju/repos/missing.git", "app_repo"),
        ("file:///etc", "app_repo"),
        ("https://example.invalid/--upload-pack=touch", "app_repo"),
    ],
    ids=["unreachable", "not-a-repo", "option-injection"],
)
def test_bad_repo_blocks_and_keeps_serving(
    deployed: LocalModel, flask_repo: ShareRepo, repo: str, words: str
) -> None:
    before = deployed.version()
    deployed.config(app_repo=repo)
    unit = deployed.unit()
    assert unit["workload-status"] == "blocked" and unit["agent-status"] == "idle", unit
    assert words in unit["message"], unit
    assert http_get(f"{URL}/").body.startswith("hello from flask v2;")
    assert deployed.version() == before
    deployed.config(app_repo=flask_repo.url)
    assert deployed.unit()["workload-status"] == "active"


def test_django_project_migrates_through_release_command(
    deployed: LocalModel, tmp_path_factory: pytest.TempPathFactory
) -> None:
    repo = ShareRepo(deployed.machine_share(), "djangoapp", tmp_path_factory.mktemp("work"))
    version = repo.commit(DJANGO_FILES, "a django project")
    deployed.config(
        app_repo=repo.url, app_ref="", release_command="python manage.py migrate --noinput", environment=""
    )
    assert_active(deployed, f"{repo.url.rsplit('/', 1)[-1].removesuffix('.git')} ({version})")
    assert http_get(f"{URL}/").body == "django notes (sqlite3): written by the release command\n"
    database = deployed.sh(f"ls /srv/{APP}/data").split()
    assert any(name.endswith((".sqlite3", ".db", ".sqlite")) for name in database), database
