"""Unit tests import the layer's code as the built charm does (lib/ on sys.path).

charms.templating.jinja2's render() reads the charm config through config-get; a
seeded, empty config stands in for it, since the renderers take all values from the
state they are given.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from charmhelpers.core import hookenv

from charms.layer import basic
from charms.layer.wsgi_app.config import parse_config
from charms.layer.wsgi_app.integrations import Database, HostPort, Integrations
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
