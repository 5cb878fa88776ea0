"""django.py: finding a Django project from its files, the settings a release adds for the
overlay, what the settings probe reports (run on a real startproject site), where
collectstatic may write, and the collectstatic step driven through a recording sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT, write

from charms.layer.wsgi_app import django
from charms.layer.wsgi_app.commands import CommandFailed, RunAs
from charms.layer.wsgi_app.paths import Paths

MANAGE = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
"""
WSGI = """\
import os
from django.core.wsgi import get_wsgi_application
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
application = get_wsgi_application()
"""
FORCED_WSGI = WSGI.replace(
    'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")',
    "os.environ['DJANGO_SETTINGS_MODULE'] = 'mysite.settings'",
)
SITE = {
    "manage.py": MANAGE,
    "mysite/__init__.py": "",
    "mysite/settings.py": "DEBUG = True\n",
    "mysite/wsgi.py": WSGI,
}


@pytest.mark.parametrize(
    ("files", "configured", "found"),
    [
        (SITE, "", django.Project("mysite.settings", forces_settings=False)),
        (  # a settings package (settings/__init__.py), as cookiecutter layouts have
            {**SITE, "mysite/settings.py": None, "mysite/settings/__init__.py": ""},
            "",
            django.Project("mysite.settings", forces_settings=False),
        ),
        (
            {**SITE, "mysite/wsgi.py": FORCED_WSGI},
            "",
            django.Project("mysite.settings", forces_settings=True),
        ),
        (
            {**SITE, "manage.py": MANAGE.replace('"DJANGO_SETTINGS_MODULE", "mysite.settings"', '"X", "y"')},
            "",
            None,  # manage.py names no settings module, and the operator none either
        ),
        ({**SITE, "mysite/prod.py": ""}, "mysite.prod", django.Project("mysite.prod", forces_settings=False)),
        ({**SITE, "manage.py": None}, "", None),  # no manage.py: not a Django project
        ({**SITE, "mysite/settings.py": None}, "", None),  # the settings module is not there
        ({"app.py": "app = None\n", "requirements.txt": "flask\n"}, "", None),
    ],
    ids=[
        "startproject",
        "settings-package",
        "forced",
        "no-default",
        "configured",
        "no-manage",
        "no-settings",
        "flask",
    ],
)
def test_a_django_project_is_found_from_its_files(tmp_path, files, configured, found):
    write(tmp_path, {name: text for name, text in files.items() if text is not None})
    entry = tmp_path / "mysite" / "wsgi.py"
    assert django.find_project(tmp_path, entry if entry.is_file() else None, configured) == found


@pytest.mark.parametrize(
    "configured", ["/tmp/evil/settings", "..mysite.settings", "mysite..settings", "my-site.x"]
)
def test_a_settings_module_that_is_no_dotted_name_is_no_project(tmp_path, configured):
    """DJANGO_SETTINGS_MODULE names a module, never a path: nothing outside the source is looked at."""
    write(tmp_path, SITE)
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "settings.py").write_text("")
    assert django.find_project(tmp_path, None, configured.replace("/tmp", str(tmp_path))) is None


def test_a_manage_py_linking_out_of_the_repository_is_not_read(tmp_path):
    """Root reads the repository's files: a ``manage.py`` that is a link to a file outside
    it (or a huge one) is read as empty, never followed."""
    outside = tmp_path / "outside.py"
    outside.write_text(MANAGE)
    source = tmp_path / "repo"
    write(source, {name: text for name, text in SITE.items() if name != "manage.py"})
    (source / "manage.py").symlink_to(outside)
    assert django.manage_settings_module(source) is None
    (source / "manage.py").unlink()
    (source / "manage.py").write_text(MANAGE + "#" * (1 << 20))
    assert django.manage_settings_module(source) is None


def test_manage_py_forcing_the_settings_module_is_seen_too(tmp_path):
    write(tmp_path, SITE)
    forced = MANAGE + 'os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"\n'
    write(tmp_path, {"manage.py": forced})
    assert django.find_project(tmp_path, None) == django.Project("mysite.settings", forces_settings=True)


def test_the_release_selects_the_overlay_only_when_it_is_on_and_can_apply():
    release_dir = Path("/srv/shop/releases/20261205000000-abc1234")
    project = django.Project("mysite.settings", forces_settings=False)
    assert django.release_environment(project, release_dir, overlay=True) == {
        "DJANGO_SETTINGS_MODULE": "wsgi_app_django_settings",
        "WSGI_APP_DJANGO_SETTINGS": "mysite.settings",
        "WSGI_APP_STATIC_ROOT": f"{release_dir}/staticfiles",
    }
    assert django.release_environment(project, release_dir, overlay=False) == {}
    assert django.release_environment(None, release_dir, overlay=True) == {}
    forced = django.Project("mysite.settings", forces_settings=True)
    assert django.release_environment(forced, release_dir, overlay=True) == {}


def test_the_overlay_the_release_names_is_the_one_the_charm_ships():
    assert (ROOT / "files" / django.OVERLAY_FILE).is_file()
    assert django.OVERLAY_FILE == django.OVERLAY_MODULE + ".py"


RELEASE = Path("/srv/shop/releases/1")


@pytest.mark.parametrize(
    ("root", "inside"),
    [
        ("/srv/shop/releases/1/staticfiles", RELEASE / "staticfiles"),
        ("/srv/shop/releases/1/app/collected", RELEASE / "app" / "collected"),
        ("collected", RELEASE / "app" / "collected"),  # relative: to the code, where it runs
        ("/srv/shop/releases/1/app/../staticfiles/css", RELEASE / "staticfiles" / "css"),
        ("/srv/shop/releases/1/app", None),  # the code itself
        ("/srv/shop/releases/1", None),
        ("/srv/shop/releases/1/venv", None),  # the release's own entries
        ("/srv/shop/releases/1/app/../../2/staticfiles", None),  # another release
        ("/var/www/static", None),
        ("/srv/shop/data/static", None),
    ],
)
def test_static_root_must_be_a_directory_of_the_release(root, inside):
    static = django.StaticFiles(staticfiles=True, static_root=root, static_url="/static/")
    if inside is None:
        with pytest.raises(
            django.DjangoError, match=r"not a directory of the release.*django_collectstatic=false"
        ):
            django.static_root_in(static, RELEASE)
    else:
        assert django.static_root_in(static, RELEASE) == inside


@pytest.mark.parametrize(
    ("url", "mounted"),
    [
        ("/static/", "/static/"),
        ("/assets/v1/", "/assets/v1/"),
        ("/static", "/static/"),
        ("https://cdn.example.com/static/", None),
        ("//cdn.example.com/static/", None),
    ],
)
def test_the_unit_serves_static_url_unless_it_is_a_full_url(url, mounted):
    static = django.StaticFiles(staticfiles=True, static_root="/r/staticfiles", static_url=url)
    expected = None if mounted is None else (mounted, "/r/staticfiles")
    assert django.mount(static, Path("/r/staticfiles")) == expected


@pytest.mark.parametrize(
    ("output", "found"),
    [
        (
            "noise\n"
            + django.PROBE_PREFIX
            + '{"staticfiles": true, "static_root": "/r/s", "static_url": "/static/"}',
            django.StaticFiles(True, "/r/s", "/static/"),
        ),
        (
            'wsgi-app: django {"staticfiles": false, "static_root": "", "static_url": "/static/"}\n',
            django.StaticFiles(False, "", "/static/"),
        ),
    ],
)
def test_the_probe_report_is_its_last_line(output, found):
    assert django.parse_probe(output) == found


@pytest.mark.parametrize(
    "output", ["", "wsgi-app: django {", 'wsgi-app: django {"staticfiles": true}', "[1]"]
)
def test_a_probe_without_a_report_is_an_error(output):
    with pytest.raises(django.DjangoError, match="no report"):
        django.parse_probe(output)


def test_collectstatic_runs_only_with_the_app_installed_and_a_static_root():
    assert django.collects(django.StaticFiles(True, "/r/s", "/static/"))
    assert not django.collects(django.StaticFiles(True, "", "/static/"))
    assert not django.collects(django.StaticFiles(False, "/r/s", "/static/"))


@pytest.fixture(scope="module")
def startproject(tmp_path_factory):
    """A site made by the real django-admin startproject."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "django", "startproject", "mysite", str(site)], check=True)
    return site


def probe(site, **env):
    environ = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{site}:{ROOT / 'files'}", **env}
    result = subprocess.run(
        [sys.executable, "-c", django.PROBE],
        cwd=site,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return django.parse_probe(result.stdout)


def test_the_probe_asks_django_a_stock_site_through_the_overlay_and_without(startproject, tmp_path):
    overlay = {
        "DJANGO_SETTINGS_MODULE": django.OVERLAY_MODULE,
        django.PROJECT_SETTINGS: "mysite.settings",
        django.STATIC_ROOT_SETTING: str(tmp_path / "staticfiles"),
    }
    assert probe(startproject, **overlay) == django.StaticFiles(
        True, str(tmp_path / "staticfiles"), "/static/"
    )
    assert probe(startproject, DJANGO_SETTINGS_MODULE="mysite.settings") == django.StaticFiles(
        True, "", "/static/"
    )


@dataclass
class Recording:
    """A sandbox that records each step and answers the probe with ``static``."""

    paths: Paths
    account: RunAs
    static: dict
    fail: str = ""
    steps: list = field(default_factory=list)

    def run(self, what, argv, *, cwd, writable=(), env=None, timeout):
        self.steps.append((what, list(argv), cwd, tuple(writable), dict(env or {})))
        if what == self.fail:
            raise CommandFailed(f"{what} failed (exit 1)", "Traceback...\nValueError: missing file")
        if what == "django settings probe":
            return "django.setup()\n" + django.PROBE_PREFIX + json.dumps(self.static) + "\n"
        return "127 static files copied\n"


@pytest.fixture
def release_dir(tmp_path):
    directory = tmp_path / "releases" / "1"
    (directory / "app").mkdir(parents=True)
    return directory


def sandbox(tmp_path, static, fail=""):
    paths = Paths.for_app("shop", root=tmp_path, etc=tmp_path / "etc", systemd=tmp_path / "systemd")
    return Recording(paths, RunAs(user="root", home=tmp_path), static, fail)


def test_collectstatic_writes_only_static_root_and_freezes_it(tmp_path, release_dir):
    root = release_dir / "staticfiles"
    confined = sandbox(tmp_path, {"staticfiles": True, "static_root": str(root), "static_url": "/static/"})
    env = {"DJANGO_SETTINGS_MODULE": "wsgi_app_django_settings", "SECRET_KEY": "s"}
    mount = django.collect_static(confined, "/venv/bin/python", release_dir / "app", release_dir, env)
    assert mount == ("/static/", str(root))
    (probe_step, collect_step), data = confined.steps, (confined.paths.data,)
    python = "/venv/bin/python"
    assert probe_step == (
        "django settings probe",
        [python, "-c", django.PROBE],
        release_dir / "app",
        data,
        env,
    )
    assert collect_step[1] == ["/venv/bin/python", "-m", "django", "collectstatic", "--noinput"]
    assert collect_step[3] == (root, confined.paths.data) and collect_step[4] == env
    assert root.is_dir() and not root.is_symlink() and root.stat().st_uid == 0


def test_nothing_is_collected_without_staticfiles_or_a_static_root(tmp_path, release_dir):
    for static in (
        {"staticfiles": False, "static_root": str(release_dir / "staticfiles"), "static_url": "/static/"},
        {"staticfiles": True, "static_root": "", "static_url": "/static/"},
    ):
        confined = sandbox(tmp_path, static)
        assert (
            django.collect_static(confined, "/venv/bin/python", release_dir / "app", release_dir, {}) is None
        )
        assert [step[0] for step in confined.steps] == ["django settings probe"]
    assert not (release_dir / "staticfiles").exists()


def test_a_static_root_outside_the_release_runs_nothing(tmp_path, release_dir):
    confined = sandbox(tmp_path, {"staticfiles": True, "static_root": "/var/www/static", "static_url": "/s/"})
    with pytest.raises(django.DjangoError, match="'/var/www/static' is not a directory of the release"):
        django.collect_static(confined, "/venv/bin/python", release_dir / "app", release_dir, {})
    assert [step[0] for step in confined.steps] == ["django settings probe"]


def test_a_failed_collectstatic_still_leaves_the_directory_roots(tmp_path, release_dir):
    root = release_dir / "staticfiles"
    confined = sandbox(
        tmp_path, {"staticfiles": True, "static_root": str(root), "static_url": "/s/"}, "collectstatic"
    )
    with pytest.raises(CommandFailed, match="collectstatic failed"):
        django.collect_static(confined, "/venv/bin/python", release_dir / "app", release_dir, {})
    assert root.stat().st_uid == 0


def test_a_static_root_in_the_code_is_made_through_real_directories_only(tmp_path, release_dir):
    """Missing directories on the way are made root's; a link the repository holds on the
    way, or in STATIC_ROOT's place, is refused rather than followed."""
    app = release_dir / "app"
    django.prepare_static_root(app / "build" / "static", release_dir, 0, 0)
    assert (app / "build" / "static").is_dir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (app / "linked").symlink_to(outside)
    with pytest.raises(django.DjangoError, match="'app/linked/static': the repository holds a symlink"):
        django.prepare_static_root(app / "linked" / "static", release_dir, 0, 0)
    (app / "collected").symlink_to(outside)
    with pytest.raises(django.DjangoError, match="'app/collected': the repository holds a symlink"):
        django.prepare_static_root(app / "collected", release_dir, 0, 0)
    (app / "afile").write_text("")
    with pytest.raises(django.DjangoError, match="'app/afile/static'"):
        django.prepare_static_root(app / "afile" / "static", release_dir, 0, 0)
    assert list(outside.iterdir()) == []
