"""Django without configuration: a site made at test time by the real ``django-admin
startproject`` (Django 5.2), whose settings were changed only to read ``DATABASE_URL``
(dj-database-url) and ``DJANGO_ALLOWED_HOSTS``, deployed on two units with nothing but
``app_repo`` and ``hostnames`` set, behind the runner's real apache2, with real
PostgreSQL 15, all on the model's own network (``deploy --isolated``).

Checked: the migrations ran once, on the leader, and the admin's tables exist; the admin
login page answers through apache2 for the public name, with DEBUG off; its stylesheet
(a content-hashed name collected at build time on every unit) answers with a year of
caching and gzip when asked; a login POST with the page's CSRF token gets past CSRF.
"""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from localmodel import APP, LocalModel, apache2_config, leader, unit_names

from bench.machine import isolated_wheels
from charms.layer.wsgi_app.python_env import STATIC_PACKAGES
from localjuju import network
from localjuju.driver import ShareRepo

HOSTNAME = "django.example.com"
REQUIREMENTS = "Django>=5.2,<5.3\ndj-database-url\npsycopg[binary]\n"
# the two lines the README shows, in place of startproject's ALLOWED_HOSTS and DATABASES
ALLOWED_HOSTS = 'ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")\n'
DATABASES = 'DATABASES = {"default": dj_database_url.config()}\n'
TABLES = (  # the admin's and auth's tables, and how many migrations were recorded
    "set -a; . /etc/{app}/settings.env; /srv/{app}/current/venv/bin/python -c "
    "\"import os, psycopg; k = psycopg.connect(os.environ['DATABASE_URL']).cursor(); "
    "k.execute(\\\"SELECT to_regclass('auth_user') IS NOT NULL, to_regclass('django_admin_log') IS NOT NULL, "
    '(SELECT count(*) FROM django_migrations)\\"); print(*k.fetchone())"'
)


def startproject(directory: Path) -> dict[str, str]:
    """The files of a stock startproject site, settings edited only to read the two settings."""
    subprocess.run([sys.executable, "-m", "django", "startproject", "mysite", str(directory)], check=True)
    settings = (directory / "mysite" / "settings.py").read_text()
    stock_databases = re.search(r"DATABASES = \{\n.*?\n\}\n", settings, re.S)
    assert "ALLOWED_HOSTS = []\n" in settings and stock_databases, settings
    settings = settings.replace("ALLOWED_HOSTS = []\n", ALLOWED_HOSTS).replace(
        stock_databases.group(0), DATABASES
    )
    settings = settings.replace(
        "from pathlib import Path\n", "import os\nfrom pathlib import Path\n\nimport dj_database_url\n"
    )
    files = {
        str(path.relative_to(directory)): path.read_text()
        for path in directory.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    return {**files, "mysite/settings.py": settings, "requirements.txt": REQUIREMENTS}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names; Set-Cookie values joined by "\n"
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


@dataclass
class Browser:
    """Requests from the model's server namespace (never the host's network), keeping
    cookies as a browser does, sending ``Host`` for the public name."""

    netns: str
    base: str  # http://10.231.0.x:port
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, body: str = "", **headers: str) -> Answer:
        parts = urllib.parse.urlsplit(self.base)
        assert (parts.hostname or "").startswith("10.231.0.") and parts.port, self.base
        sent = {"Host": HOSTNAME, **headers}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        answers: list[Answer] = []

        def call() -> None:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            try:
                connection.request(method, path, body=body.encode() or None, headers=sent)
                response = connection.getresponse()
                cookies = response.msg.get_all("Set-Cookie") or []
                found = {name.lower(): value for name, value in response.getheaders()}
                found["set-cookie"] = "\n".join(cookies)
                answers.append(Answer(response.status, found, response.read()))
            finally:
                connection.close()

        network.call_in(self.netns, call)
        for cookie in filter(None, answers[0].headers["set-cookie"].split("\n")):
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value
        return answers[0]


@pytest.fixture(scope="module")
def site(model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory) -> LocalModel:
    files = startproject(tmp_path_factory.mktemp("startproject"))
    requirements = tmp_path_factory.mktemp("wheels") / "requirements.txt"
    requirements.write_text(REQUIREMENTS)
    model.cli("deploy", "postgresql", "--isolated")
    model.cli("deploy", "apache2", "--isolated", *apache2_config())
    wheels = ["--wheels", str(requirements), *(arg for spec in STATIC_PACKAGES for arg in ("--wheel", spec))]
    model.deploy(charm, "-n", "2", "--isolated", *isolated_wheels(), *wheels)
    model.cli("relate", f"{APP}:db", "postgresql:db")
    model.cli("relate", "apache2:balancer", f"{APP}:website")
    chief = leader(model)
    repo = ShareRepo(model.machine_share(chief), "stocksite", tmp_path_factory.mktemp("work"))
    repo.commit(files, "django-admin startproject mysite, reading DATABASE_URL and DJANGO_ALLOWED_HOSTS")
    for unit in unit_names(model):  # the same URL on every unit's machine
        if unit != chief:
            copy = model.machine_share(unit) / "repos" / "stocksite.git"
            subprocess.run(["git", "clone", "--quiet", "--mirror", str(repo.bare), str(copy)], check=True)
    model.config(app_repo=repo.url, hostnames=HOSTNAME)
    return model


def browser(model: LocalModel, address: str = "") -> Browser:
    if not address:
        port = model.unit("apache2/0")["open-ports"][0].split("/")[0]
        address = f"10.231.0.2:{port}"
    return Browser(f"lj-{model.name}-srv", f"http://{address}")


def test_both_units_serve_the_site_and_only_app_repo_and_hostnames_were_set(site: LocalModel) -> None:
    for unit in unit_names(site):
        info = site.unit(unit)
        assert info["workload-status"] == "active" and "stocksite" in info["message"], info
    changed = {k: v for k, v in site.record()["applications"][APP]["config"].items() if v not in ("", None)}
    assert changed == {"app_repo": changed["app_repo"], "hostnames": HOSTNAME}, changed


def test_the_migrations_ran_once_on_the_leader_and_the_tables_exist(site: LocalModel) -> None:
    chief = leader(site)
    for unit in unit_names(site):
        log = site.cli("debug-log", "--replay", "--include", unit).stdout
        runs = log.count("running release_command for ")
        assert runs == (1 if unit == chief else 0), (unit, runs)
    auth_user, admin_log, migrations = site.sh(TABLES.format(app=APP), chief).split()
    assert (auth_user, admin_log) == ("True", "True")
    assert int(migrations) >= 18, migrations  # admin, auth, contenttypes, sessions: 18 in Django 5.2


def test_the_admin_login_page_answers_through_apache2_with_debug_off(site: LocalModel) -> None:
    page = browser(site).request("GET", "/admin/login/")
    assert page.status == 200, page
    assert "csrfmiddlewaretoken" in page.text
    missing = browser(site).request("GET", "/no-such-page/")
    assert missing.status == 404 and "URLconf" not in missing.text  # DEBUG's technical 404 would name it


def stylesheet(site: LocalModel) -> str:
    page = browser(site).request("GET", "/admin/login/").text
    links = re.findall(r'<link rel="stylesheet" href="(/static/admin/css/base[^"]*\.css)"', page)
    assert links, page
    return links[0]


def test_the_stylesheet_has_a_hashed_name_a_year_of_caching_and_gzip(site: LocalModel) -> None:
    css = stylesheet(site)
    assert re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", css), css
    plain = browser(site).request("GET", css)
    assert plain.status == 200 and "content-encoding" not in plain.headers, plain.headers
    assert "max-age=31536000" in plain.headers["cache-control"], plain.headers
    assert plain.headers["content-type"].startswith("text/css")
    zipped = browser(site).request("GET", css, **{"Accept-Encoding": "gzip"})
    assert zipped.status == 200 and zipped.headers.get("content-encoding") == "gzip", zipped.headers
    assert len(zipped.body) < len(plain.body)
    for unit in unit_names(site):  # collected on every unit, not copied from the leader
        direct = browser(site, f"{site.unit(unit)['address']}:8080").request("GET", css)
        assert direct.status == 200 and direct.body == plain.body, (unit, direct.status)


def test_a_login_post_with_the_pages_csrf_token_gets_past_csrf(site: LocalModel) -> None:
    visitor = browser(site)
    page = visitor.request("GET", "/admin/login/?next=/admin/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token and "csrftoken" in visitor.cookies, (page.headers, visitor.cookies)
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1), "username": "nobody", "password": "wrong", "next": "/admin/"}
    )
    answer = visitor.request(
        "POST",
        "/admin/login/?next=/admin/",
        form,
        **{
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"http://{HOSTNAME}",
            "Referer": f"http://{HOSTNAME}/admin/login/?next=/admin/",
        },
    )
    assert answer.status == 200, (answer.status, answer.text[:500])
    assert "Please enter the correct username and password" in answer.text
    forged = browser(site).request(
        "POST", "/admin/login/", form, **{"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert forged.status == 403  # without the cookie, CSRF protection is on: the check above means something
