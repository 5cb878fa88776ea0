"""Unit tests import the layer's code as the built charm does (lib/ on sys.path).

A seeded, empty charm config stands in for config-get, for the code under test that reads
the config through charmhelpers (the renderers take every value from the state instead).
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest
from charmhelpers.core import hookenv

from charms.layer import basic
from charms.layer.wsgi_app.config import parse_config
from charms.layer.wsgi_app.integrations import Database, HostPort, Integrations
from charms.layer.wsgi_app.render import render_all
from charms.layer.wsgi_app.state import Machine, WsgiState

os.environ.setdefault("CHARM_DIR", tempfile.mkdtemp(prefix="wsgi-app-unit-"))
basic.teach_charmhelpers_debian()
hookenv._cache_config = hookenv.Config({})

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-key-that-must-not-leak"


@pytest.fixture(autouse=True)
def fresh_hook_cache():
    """charmhelpers' per-hook cache (and the layer's leadership reads) start empty in each test,
    as in each hook process."""
    hookenv.cache.clear()
    yield
    hookenv.cache.clear()


@pytest.fixture
def machine() -> Machine:
    return Machine(cores=2, memory_bytes=4 * 1024**3)


@pytest.fixture
def demo_state(machine: Machine) -> WsgiState:
    return WsgiState(app_name="wsgi-app", config=parse_config({}), machine=machine, secret_key=SECRET)


@pytest.fixture
def django_state(machine: Machine) -> WsgiState:
    config = parse_config(
        {
            "app_repo": "https://git.example.org/shop/mysite.git",
            "wsgi_app": "mysite.wsgi:application",
            "environment": 'DJANGO_SETTINGS_MODULE=mysite.settings\nGREETING=hello "world" $HOME',
            "release_command": "python manage.py migrate --noinput",
            "workers": 3,
            "port": 8000,
        }
    )
    database = Database(
        primary=HostPort("10.0.0.5", 5432),
        name="shop",
        user="shop_rw",
        password="pa:ss@word",
        standbys=(HostPort("10.0.0.6", 5432),),
    )
    integrations = Integrations(database=database, caches=(HostPort("10.0.0.7", 11211),))
    return WsgiState(
        app_name="shop", config=config, machine=machine, secret_key=SECRET, integrations=integrations
    )


def write(root, files):
    """Write ``files`` ({relative path: text}) under ``root``; ``root``."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def exec_conf(state, tmp_path, settings=None, wsgi_app="app:app", static=None, environment=None):
    """Run the rendered gunicorn.conf.py as gunicorn does, in slot a of a release in
    ``tmp_path`` (with the rendered settings, or ``settings``, and the release's
    ``static`` mounts and ``environment`` pairs if given); its namespace."""
    files = render_all(state)
    settings_file, release = tmp_path / "settings.env", tmp_path / "releases" / "r1"
    settings_file.write_text(files.settings if settings is None else settings)
    release.mkdir(parents=True)
    (release / "release.json").write_text(
        json.dumps(
            {
                "wsgi_app": wsgi_app,
                **({"static": static} if static else {}),
                **({"environment": environment} if environment else {}),
            }
        )
    )
    (tmp_path / "slots").mkdir()
    (tmp_path / "slots" / "a").symlink_to(release)
    conf = files.gunicorn_conf.replace(repr(str(state.paths.settings_file)), repr(str(settings_file)))
    conf = conf.replace(repr(str(state.paths.slots)), repr(str(tmp_path / "slots")))
    namespace: dict = {}
    environment = {"WSGI_APP_SLOT": "a", "RUNTIME_DIRECTORY": f"/run/{state.app_name}/a"}
    saved = {key: os.environ.get(key) for key in (*environment, "WSGI_APP_SETTING_NAMES")}
    os.environ.update(environment)
    try:
        exec(compile(conf, "gunicorn.conf.py", "exec"), namespace)
        namespace["setting_names"] = os.environ.get("WSGI_APP_SETTING_NAMES", "")  # what the next load reads
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return namespace


def tiny_app(environ, start_response):
    """A WSGI app saying which path it was asked for (the charm's wrappers go around it)."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"app saw {environ['PATH_INFO']}".encode()]


def wsgi_get(app, path, environ=None, **headers):
    """(status, headers, body) of a GET of ``path`` through the WSGI ``app``, with
    ``environ``'s keys (``REQUEST_METHOD``...) and ``headers`` (``accept_encoding=...``)."""
    request = {"PATH_INFO": path, "REQUEST_METHOD": "GET", **(environ or {})}
    request.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    setup_testing_defaults(request)
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(response_headers)

    body = b"".join(app(request, start_response))
    return seen["status"], seen["headers"], body


def file_module(name, path):
    """The module in ``path`` (one of the charm's files/ the app's processes import), loaded as ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
