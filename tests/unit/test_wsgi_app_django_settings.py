"""files/wsgi_app_django_settings.py, the production settings overlay, imported in-process
over small fake settings modules: each completion applies only where the project kept
startproject's value, and Django itself reads the result."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types
from typing import Any

import pytest
from conftest import ROOT

OVERLAY = ROOT / "files" / "wsgi_app_django_settings.py"
MODULE = "wsgi_app_django_settings"
STOCK = {  # what django-admin startproject writes, as far as the overlay looks
    "DEBUG": True,
    "SECRET_KEY": "django-insecure-%=9l$-juwju)@@x=schy&ocdxd5a9*3c&-&f5!3v3!$nx#zo$(",
    "ALLOWED_HOSTS": [],
    "STATIC_URL": "static/",
    "INSTALLED_APPS": ["django.contrib.admin", "django.contrib.staticfiles"],
    "BASE_DIR": "/srv/app/releases/1/app",
    "lower_case": "not a setting",
}
ENVIRON = {
    "SECRET_KEY": "the-charms-key",
    "WSGI_APP_STATIC_ROOT": "/srv/app/releases/1/staticfiles",
    "DJANGO_ALLOWED_HOSTS": "shop.example.com,localhost,10.0.0.5",
    "CSRF_TRUSTED_ORIGINS": "https://shop.example.com,http://shop.example.com",
}
MANIFEST = f"{MODULE}.ManifestStaticFilesStorage"


def overlay(settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch, environ: dict[str, str] | None = None):
    """The overlay module as the charm runs it, over a project settings module holding ``settings``."""
    project = types.ModuleType("fakeproject.settings")
    vars(project).update(settings)
    monkeypatch.setitem(sys.modules, "fakeproject.settings", project)
    for key in (
        "SECRET_KEY",
        "WSGI_APP_STATIC_ROOT",
        "DJANGO_ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "DEBUG",
        "DJANGO_DEBUG",
    ):
        monkeypatch.delenv(key, raising=False)
    for key, value in {
        "WSGI_APP_DJANGO_SETTINGS": "fakeproject.settings",
        **(ENVIRON if environ is None else environ),
    }.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location(MODULE, OVERLAY)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, MODULE, module)
    spec.loader.exec_module(module)
    return module


def upper(module: types.ModuleType) -> dict[str, Any]:
    """What Django takes from a settings module: its upper-case names."""
    return {name: value for name, value in vars(module).items() if name.isupper()}


def test_a_stock_project_is_completed_for_production(monkeypatch):
    settings = upper(overlay(STOCK, monkeypatch))
    assert settings == {
        "DEBUG": False,
        "SECRET_KEY": "the-charms-key",
        "ALLOWED_HOSTS": ["shop.example.com", "localhost", "10.0.0.5"],
        "CSRF_TRUSTED_ORIGINS": ["https://shop.example.com", "http://shop.example.com"],
        "STATIC_URL": "static/",
        "STATIC_ROOT": "/srv/app/releases/1/staticfiles",
        "STORAGES": {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": MANIFEST},
        },
        "INSTALLED_APPS": STOCK["INSTALLED_APPS"],
        "BASE_DIR": STOCK["BASE_DIR"],
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", False),
        ("SECRET_KEY", "a-key-of-the-projects-own"),
        ("ALLOWED_HOSTS", ["www.example.org"]),
        ("CSRF_TRUSTED_ORIGINS", ["https://www.example.org"]),
        ("STATIC_ROOT", "/srv/app/releases/1/app/collected"),
    ],
)
def test_what_the_project_set_itself_is_kept(monkeypatch, name, value):
    assert getattr(overlay({**STOCK, name: value}, monkeypatch), name) == value


@pytest.mark.parametrize("variable", ["DEBUG", "DJANGO_DEBUG"])
def test_debug_the_operator_set_in_the_environment_is_the_projects_to_read(monkeypatch, variable):
    """A project reading DEBUG from the environment the operator set it in keeps it on."""
    assert overlay(STOCK, monkeypatch, {**ENVIRON, variable: "1"}).DEBUG is True


def test_debug_is_turned_off_only_from_true(monkeypatch):
    """A project reading DEBUG from somewhere and getting something else keeps it."""
    assert overlay({**STOCK, "DEBUG": 0}, monkeypatch).DEBUG == 0


@pytest.mark.parametrize(
    "storages",
    [
        {
            "STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },  # legacy: the project's
        {"STORAGES": {"staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}},
    ],
    ids=["legacy-setting", "own-backend"],
)
def test_a_storage_the_project_chose_is_kept(monkeypatch, storages):
    module = overlay({**STOCK, **storages}, monkeypatch)
    assert upper(module).get("STORAGES") == storages.get("STORAGES")


def test_the_default_backend_named_explicitly_is_switched_and_its_options_kept(monkeypatch):
    storages = {
        "default": {"BACKEND": "storages.backends.s3.S3Storage"},
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
            "OPTIONS": {"base_url": "/assets/"},
        },
    }
    module = overlay({**STOCK, "STORAGES": storages}, monkeypatch)
    assert module.STORAGES == {
        "default": {"BACKEND": "storages.backends.s3.S3Storage"},
        "staticfiles": {"BACKEND": MANIFEST, "OPTIONS": {"base_url": "/assets/"}},
    }
    assert storages["staticfiles"]["BACKEND"].endswith("StaticFilesStorage")  # the project's is not mutated


def test_without_the_charms_settings_nothing_is_invented(monkeypatch):
    """No SECRET_KEY shared yet, no STATIC_ROOT, no hostnames: only DEBUG changes, and
    without a STATIC_ROOT the storage stays (a manifest needs a place)."""
    settings = upper(overlay(STOCK, monkeypatch, environ={}))
    assert settings == {**{k: v for k, v in STOCK.items() if k.isupper()}, "DEBUG": False}


def test_names_that_are_not_settings_are_not_copied_and_the_overlays_own_are_private(monkeypatch):
    module = overlay(STOCK, monkeypatch)
    assert not hasattr(module, "lower_case")
    assert set(upper(module)) - set(STOCK) == {"STATIC_ROOT", "STORAGES", "CSRF_TRUSTED_ORIGINS"}


def test_django_reads_the_overlay_and_its_manifest_storage_is_not_strict(monkeypatch, tmp_path):
    from django.conf import Settings
    from django.utils.module_loading import import_string

    environ = {**ENVIRON, "WSGI_APP_STATIC_ROOT": str(tmp_path)}
    overlay(STOCK, monkeypatch, environ)
    settings = Settings(MODULE)
    assert settings.DEBUG is False and settings.SECRET_KEY == "the-charms-key"
    assert str(tmp_path) == settings.STATIC_ROOT
    storage_class = import_string(settings.STORAGES["staticfiles"]["BACKEND"])
    assert storage_class.manifest_strict is False
    assert "ManifestFilesMixin" in [base.__name__ for base in storage_class.__mro__]


def _static_urls(tmp_path, names: list[str], collected: dict[str, str]) -> list[str]:
    """What ``{% static %}`` gives each of ``names`` in a Django process running the overlay
    over a stock project whose STATIC_ROOT holds ``collected`` (no manifest: collectstatic
    did not run)."""
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "settings.py").write_text(
        "".join(f"{name} = {value!r}\n" for name, value in STOCK.items() if name.isupper())
        + "INSTALLED_APPS = ['django.contrib.staticfiles']\n"
    )
    root = tmp_path / "staticfiles"
    root.mkdir()
    for name, text in collected.items():
        (root / name).write_text(text)
    code = (
        "import django, sys\ndjango.setup()\nfrom django.templatetags.static import static\n"
        "print('\\n'.join(static(name) for name in sys.argv[1:]))\n"
    )
    environ = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{tmp_path}:{OVERLAY.parent}",
        "DJANGO_SETTINGS_MODULE": MODULE,
        "WSGI_APP_DJANGO_SETTINGS": "proj.settings",
        "WSGI_APP_STATIC_ROOT": str(root),
        "SECRET_KEY": "the-charms-key",
    }
    done = subprocess.run(
        [sys.executable, "-c", code, *names], env=environ, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_a_static_name_the_storage_cannot_hash_is_served_as_it_is_not_a_server_error(tmp_path):
    """Django's manifest storage raises for a file it cannot find even when not strict; the
    overlay's gives its name back (collectstatic turned off, a template's typo)."""
    urls = _static_urls(tmp_path, ["missing.css", "site.css"], {"site.css": "body {}\n"})
    assert urls[0] == "/static/missing.css"
    assert urls[1].startswith("/static/site.") and urls[1].endswith(".css") and urls[1] != "/static/site.css"
