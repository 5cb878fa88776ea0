"""The Procfile and the health-check rule on one Pyramid deployment: the Procfile's
``release:`` line initialises the app's database (its page answers 200 only because it ran,
once per release); with ``health_check_path`` left empty an app whose ``/`` answers 404
serves; a path the operator sets that answers 404 fails the release, which is rolled back;
``release_command=none`` runs no release command at all; ``hostnames`` and the machine's
addresses reach ALLOWED_HOSTS, DJANGO_ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from localmodel import APP, LocalModel, http_get

from localjuju.driver import ShareRepo

URL = "http://127.0.0.1:8080"

# a real Pyramid app (Pyramid from PyPI) whose one page reads what the release line wrote;
# without the tables it raises, and gunicorn answers 500
PYRAMID_APP = """\
import os
import sqlite3

from pyramid.config import Configurator
from pyramid.response import Response

VERSION = "v1"
ROUTE = "/"


def greeting(request):
    db = sqlite3.connect(os.environ["DATABASE_URL"].removeprefix("sqlite:///"))
    try:
        (text,) = db.execute("SELECT text FROM greeting").fetchone()
        (runs,) = db.execute("SELECT count(*) FROM runs").fetchone()
    finally:
        db.close()
    return Response(f"{VERSION}: {text}; release runs: {runs}\\n", content_type="text/plain")


with Configurator() as config:
    config.add_route("greeting", ROUTE)
    config.add_view(greeting, route_name="greeting")
    application = config.make_wsgi_app()
"""
INITDB = """\
import os
import sqlite3

db = sqlite3.connect(os.environ["DATABASE_URL"].removeprefix("sqlite:///"))
with db:
    db.execute("CREATE TABLE IF NOT EXISTS greeting (text TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS runs (at TEXT)")
    db.execute("DELETE FROM greeting")
    db.execute("INSERT INTO greeting VALUES ('initialised by the Procfile release line')")
    db.execute("INSERT INTO runs VALUES (datetime('now'))")
db.close()
print("database initialised")
"""
PROCFILE = "# Heroku's format\r\nrelease: python initdb.py\r\nweb: gunicorn app:application\r\n"


def pyramid_files(version: str, route: str) -> dict[str, str]:
    app = PYRAMID_APP.replace('"v1"', f'"{version}"').replace('ROUTE = "/"', f'ROUTE = "{route}"')
    return {"requirements.txt": "pyramid>=2,<3\n", "Procfile": PROCFILE, "initdb.py": INITDB, "app.py": app}


@pytest.fixture(scope="module")
def pyramid(
    model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LocalModel, ShareRepo]:
    model.cli("deploy", str(charm))
    repo = ShareRepo(model.machine_share(), "pyramidapp", tmp_path_factory.mktemp("work"))
    repo.commit(pyramid_files("v1", "/"), "v1")
    model.config(app_repo=repo.url)
    return model, repo


def current_release(model: LocalModel) -> dict[str, object]:
    return json.loads(model.sh(f"cat /srv/{APP}/current/release.json"))


def test_the_procfile_release_line_initialises_the_database(pyramid: tuple[LocalModel, ShareRepo]) -> None:
    model, _ = pyramid
    unit = model.unit()
    assert unit["workload-status"] == "active", unit
    answer = http_get(f"{URL}/")
    assert (answer.status, answer.body) == (
        200,
        "v1: initialised by the Procfile release line; release runs: 1\n",
    )
    release = current_release(model)
    assert release["release_command"] == "python initdb.py"
    assert release["processes"] == [["release", "python initdb.py"], ["web", "gunicorn app:application"]]


def test_the_default_health_check_passes_an_app_whose_root_answers_404(
    pyramid: tuple[LocalModel, ShareRepo],
) -> None:
    model, repo = pyramid
    v2 = repo.commit(pyramid_files("v2", "/greeting"), "v2: the page moves, / answers 404")
    result = model.action("redeploy")
    assert result["status"] == "completed", result
    assert model.version() == v2 and model.unit()["workload-status"] == "active", model.unit()
    assert http_get(f"{URL}/").status == 404
    # the release line ran once more, for the new release
    assert (
        http_get(f"{URL}/greeting").body == "v2: initialised by the Procfile release line; release runs: 2\n"
    )


def test_a_set_health_check_path_answering_404_fails_the_release_and_it_is_rolled_back(
    pyramid: tuple[LocalModel, ShareRepo],
) -> None:
    model, repo = pyramid
    before = model.version()
    model.config(health_check_path="/greeting")  # answers 200 in the serving release
    assert model.unit()["workload-status"] == "active", model.unit()
    repo.commit(pyramid_files("v3", "/hello"), "v3: /greeting answers 404")
    model.action("redeploy")
    unit = model.unit()
    assert unit["workload-status"] == "blocked", unit
    assert "failed health check (GET /greeting answered 404, not 2xx or 3xx)" in unit["message"], unit
    assert f"rolled back to {before}" in unit["message"], unit
    assert model.version() == before
    assert http_get(f"{URL}/greeting").body.startswith("v2: initialised by the Procfile release line;")


def release_runs(page: str) -> int:
    """How many times the release line ran, as the page says."""
    return int(page.rsplit("release runs: ", 1)[1])


def test_release_command_none_runs_no_release_command(pyramid: tuple[LocalModel, ShareRepo]) -> None:
    model, repo = pyramid
    # the rolled-back release ran its release line too (it runs before the health check)
    runs = release_runs(http_get(f"{URL}/greeting").body)
    assert runs == 3
    v4 = repo.commit(pyramid_files("v4", "/greeting"), "v4")
    model.config(health_check_path="", release_command="none")  # a new release: the command changed
    assert model.version() == v4 and model.unit()["workload-status"] == "active", model.unit()
    page = http_get(f"{URL}/greeting").body
    assert page.startswith("v4: initialised by the Procfile release line;") and release_runs(page) == runs
    assert current_release(model)["release_command"] == ""


def test_hostnames_and_the_machines_addresses_reach_the_settings(
    pyramid: tuple[LocalModel, ShareRepo],
) -> None:
    model, _ = pyramid
    model.config(hostnames="Shop.Example.com, .example.org")
    assert model.unit()["workload-status"] == "active", model.unit()
    settings = model.settings()
    allowed = settings["DJANGO_ALLOWED_HOSTS"].split(",")
    assert settings["ALLOWED_HOSTS"] == settings["DJANGO_ALLOWED_HOSTS"]
    assert allowed[:5] == ["shop.example.com", ".example.org", "localhost", "127.0.0.1", "[::1]"]
    # every global address of the machine, as a Host header names it
    found = [ipaddress.ip_address(a) for a in model.sh("hostname -I").split()]
    usable = [a for a in found if not (a.is_loopback or a.is_link_local)]
    assert usable, found
    assert all((f"[{a}]" if a.version == 6 else str(a)) in allowed for a in usable), (usable, allowed)
    assert settings["CSRF_TRUSTED_ORIGINS"] == (
        "https://shop.example.com,http://shop.example.com,https://*.example.org,http://*.example.org"
    )
    model.config(hostnames="shop.example.com evil.example.com:80")
    unit = model.unit()
    assert unit["workload-status"] == "blocked" and "invalid config hostnames" in unit["message"], unit
    assert "evil.example.com:80" in unit["message"], unit
    assert http_get(f"{URL}/greeting").status == 200  # refused config changes nothing
    model.config(hostnames="")
    assert "CSRF_TRUSTED_ORIGINS" not in model.settings()
