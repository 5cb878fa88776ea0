"""The charm on Debian 13 (``deploy --base debian@13``: trixie, Python 3.13, systemd 257),
on a machine with no compiler and no network but the model's own (``--isolated``): its
only package index is the model's wheelhouse, fetched on the host for Python 3.13.

One model, one unit, whose app changes as an operator's would: the demo serves; then the
Django site of test_django.py, related to PostgreSQL 15, migrates and serves its admin
through apache2; then the Flask + Celery shop of test_celery.py, related to Redis, gets a
task computed by its worker, a systemd 257 unit that backs off its restarts
(``RestartSteps=``, which bookworm's systemd 252 lacks). add-unit with another base
than the application's is refused.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from localmodel import APP, LocalModel, UnitsRepo, apache2_config, netns_get, servers_netns, site
from test_celery import WHEELS as CELERY_WHEELS
from test_celery import active, computed, until, worker_pid
from test_celery import app_files as shop_files
from test_django import HOSTNAME, TABLES, browser, startproject
from test_django import REQUIREMENTS as DJANGO_REQUIREMENTS

from bench.machine import isolated_wheels
from charms.layer.wsgi_app.python_env import STATIC_PACKAGES

BASE = "debian@13"
VENV_PYTHON = f"/srv/{APP}/current/venv/bin/python"


@pytest.fixture(scope="module")
def trixie(model: LocalModel, charm: Path) -> LocalModel:
    """The demo on one debian@13 unit behind apache2; PostgreSQL and Redis deployed beside
    it, not related yet. The wheelhouse holds what all three apps install."""
    model.cli("deploy", "postgresql", "--isolated")
    model.cli("deploy", "redis", "--isolated")
    model.cli("deploy", "apache2", "--isolated", *apache2_config())
    requirements = [*DJANGO_REQUIREMENTS.split(), *STATIC_PACKAGES, *CELERY_WHEELS]
    wheels = [arg for requirement in requirements for arg in ("--wheel", requirement)]
    model.deploy(charm, "--base", BASE, "--isolated", *isolated_wheels(), *wheels)
    model.cli("relate", "apache2:balancer", f"{APP}:website")
    return model


def test_the_machine_runs_debian_13_with_python_3_13_and_systemd_257(trixie: LocalModel) -> None:
    status = trixie.status()
    machine = status["applications"][APP]["units"][f"{APP}/0"]["machine"]
    assert status["machines"][machine]["base"] == BASE and status["applications"][APP]["base"] == BASE
    release = trixie.sh(". /etc/os-release; echo $VERSION_ID $VERSION_CODENAME").split()
    assert release == ["13", "trixie"], release
    assert trixie.sh("python3 --version").startswith("Python 3.13."), trixie.sh("python3 --version")
    assert trixie.sh("systemctl --version").split()[:2] == ["systemd", "257"]
    compilers = trixie.sh("for c in cc gcc c++ clang; do command -v $c; done; true")
    assert compilers.strip() == "", compilers  # nothing on the machine could build a wheel


def test_the_demo_serves_from_a_python_3_13_venv(trixie: LocalModel) -> None:
    unit = trixie.unit()
    assert unit["workload-status"] == "active" and unit["message"].startswith("serving demo ("), unit
    page = netns_get(servers_netns(trixie), f"{site(trixie)}/")
    assert page.status == 200 and "wsgi-app" in page.body, page
    assert trixie.sh(f"{VENV_PYTHON} --version").startswith("Python 3.13."), trixie.sh(f"{VENV_PYTHON} -V")
    libraries = trixie.sh(f"ls /srv/{APP}/current/venv/lib")
    assert libraries.split() == ["python3.13"], libraries


def test_add_unit_with_another_base_than_the_applications_is_refused(trixie: LocalModel) -> None:
    refused = trixie.cli("add-unit", APP, "--base", "debian@12", check=False)
    assert refused.returncode != 0
    assert f"cannot add a unit of base debian@12 to {APP}: its units have base {BASE}" in refused.stderr
    assert list(trixie.status()["applications"][APP]["units"]) == [f"{APP}/0"]


@pytest.fixture(scope="module")
def django_site(trixie: LocalModel, tmp_path_factory: pytest.TempPathFactory) -> LocalModel:
    """The unit's app becomes test_django's startproject site, related to PostgreSQL."""
    trixie.cli("relate", f"{APP}:db", "postgresql:db")
    repo = UnitsRepo(trixie, "stocksite", tmp_path_factory.mktemp("django"))
    repo.commit(startproject(tmp_path_factory.mktemp("startproject")), "django-admin startproject mysite")
    trixie.config(app_repo=repo.url, hostnames=HOSTNAME)
    return trixie


def test_django_migrates_on_postgresql_and_serves_its_admin(django_site: LocalModel) -> None:
    unit = django_site.unit()
    assert unit["workload-status"] == "active" and "stocksite" in unit["message"], unit
    auth_user, admin_log, migrations = django_site.sh(TABLES.format(app=APP)).split()
    assert (auth_user, admin_log) == ("True", "True") and int(migrations) >= 18, migrations
    page = browser(django_site).request("GET", "/admin/login/")
    assert page.status == 200 and "csrfmiddlewaretoken" in page.text, page.status
    css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text)
    assert css, page.text[:500]
    zipped = browser(django_site).request("GET", css.group(1), **{"Accept-Encoding": "br"})
    assert zipped.status == 200 and zipped.headers.get("content-encoding") == "br", (
        zipped.headers
    )  # Brotli's cp313


@pytest.fixture(scope="module")
def shop(django_site: LocalModel, tmp_path_factory: pytest.TempPathFactory) -> LocalModel:
    """The unit's app becomes test_celery's shop (web, worker, beat), with Redis as broker."""
    django_site.cli("relate", f"{APP}:redis", "redis:db")
    repo = UnitsRepo(django_site, "shop", tmp_path_factory.mktemp("shop"))
    repo.commit(shop_files("v1"), "v1")
    django_site.config(app_repo=repo.url, hostnames="")
    return django_site


def test_a_celery_worker_computes_a_task_sent_through_apache2(shop: LocalModel) -> None:
    unit = shop.unit()
    assert unit["workload-status"] == "active" and "shop (" in unit["message"], unit
    answer = until("a task computed", lambda: computed(shop, 20, 22, f"{APP}/0"), timeout=60)
    assert (answer["result"], answer["broker"], answer["unit"]) == (42, "redis", f"{APP}/0"), answer
    assert answer["ppid"] == int(worker_pid(shop, f"{APP}/0")), answer  # the worker's prefork child
    assert active(shop, f"{APP}/0", "worker@1")


def test_the_worker_backs_off_its_restarts_as_systemd_257_can(shop: LocalModel) -> None:
    shown = shop.sh(f"systemctl show -p RestartSteps -p RestartMaxDelayUSec {APP}-worker@1.service")
    properties = dict(line.partition("=")[::2] for line in shown.splitlines())
    assert properties == {"RestartSteps": "6", "RestartMaxDelayUSec": "1min"}, shown
