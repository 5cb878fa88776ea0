"""An ASGI application from git: a FastAPI app, deployed with nothing but app_repo, is
detected as ASGI, served by uvicorn workers, and reloaded under load without a failed
request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apps import fastapi_files
from localmodel import APP, LocalModel, SteadyLoad, http_get

from localjuju.driver import ShareRepo

URL = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def fastapi_app(
    model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LocalModel, str]:
    model.cli("deploy", str(charm))
    repo = ShareRepo(model.machine_share(), "fastapiapp", tmp_path_factory.mktemp("work"))
    version = repo.commit(fastapi_files("v1"), "fastapi v1")
    model.config(app_repo=repo.url)
    return model, version


def test_fastapi_app_runs_under_uvicorn_workers(fastapi_app: tuple[LocalModel, str]) -> None:
    model, version = fastapi_app
    unit = model.unit()
    assert unit["workload-status"] == "active", unit
    assert unit["message"] == f"serving fastapiapp ({version}) on :8080", unit
    answer = http_get(f"{URL}/")
    assert answer.status == 200 and answer.json() == {"framework": "fastapi", "version": "v1", "greeting": ""}
    release = json.loads(model.sh(f"cat /srv/{APP}/current/release.json"))
    assert (release["wsgi_app"], release["worker_class"]) == ("main:app", "uvicorn")
    conf = model.sh(f"cat /etc/{APP}/gunicorn.conf.py")
    assert "\nworker_class = 'wsgi_app_uvicorn.UvicornWorker'\n" in conf and "\nthreads = 1\n" in conf
    journal = model.sh(f"journalctl -u {model.serving_unit()} --no-pager -o cat")
    assert "Using worker: wsgi_app_uvicorn.UvicornWorker" in journal


def test_setting_changes_reload_without_a_failed_request(fastapi_app: tuple[LocalModel, str]) -> None:
    """Three reloads: stock uvicorn workers lost about one request per reload here."""
    model, _ = fastapi_app
    before = model.main_pid()
    with SteadyLoad(f"{URL}/") as load:
        for greeting in ("w", "v", "x"):
            model.config(environment=f"GREETING={greeting}")
    assert http_get(f"{URL}/").json()["greeting"] == "x"
    assert model.main_pid() == before  # reloads: the same gunicorn, new workers
    assert load.failures == [], load.failures[:5]
    assert load.ok > 50, load.ok
    print(f"steady load: {load.ok} requests, {len(load.failures)} failed")


def test_a_wsgi_worker_class_is_refused_and_the_release_keeps_serving(
    fastapi_app: tuple[LocalModel, str],
) -> None:
    model, version = fastapi_app
    model.config(worker_class="sync")
    unit = model.unit()
    assert unit["workload-status"] == "blocked", unit
    assert "worker_class sync serves WSGI only, but main:app is an ASGI application" in unit["message"], unit
    assert http_get(f"{URL}/").json()["greeting"] == "x" and model.version() == version
    model.config(worker_class="auto")
    assert model.unit()["workload-status"] == "active", model.unit()


def test_static_paths_on_an_asgi_app_are_refused_not_ignored(fastapi_app: tuple[LocalModel, str]) -> None:
    """WhiteNoise speaks WSGI only: the unit says so instead of leaving the mount unserved."""
    model, version = fastapi_app
    model.config(static_paths="/assets/=assets")
    unit = model.unit()
    assert unit["workload-status"] == "blocked", unit
    assert "static files (/assets/) are served for WSGI applications only" in unit["message"], unit
    assert model.version() == version and http_get(f"{URL}/").status == 200
    model.config(static_paths="")
    assert model.unit()["workload-status"] == "active", model.unit()
