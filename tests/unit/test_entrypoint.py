from __future__ import annotations

import pytest
from conftest import write

from charms.layer.wsgi_app import procfile
from charms.layer.wsgi_app.entrypoint import (
    EntryPointError,
    detect,
    gunicorn_app_argument,
    uvicorn_app_argument,
)


def detect_with_procfile(source):
    """What a build detects: the source's Procfile read first, its web: command given."""
    return detect(source, procfile.load(source, None).web)


def test_procfile_web_line_wins(tmp_path):
    write(
        tmp_path,
        {
            "Procfile": "release: python manage.py migrate\n"
            "web: gunicorn --workers 3 -b :$PORT shop.web:create()\n",
            "app.py": "app = object()\n",
        },
    )
    assert detect_with_procfile(tmp_path) == "shop.web:create()"
    assert detect(tmp_path) == "app:app"  # without the Procfile's command


def test_django_project_wsgi_module(tmp_path):
    write(
        tmp_path,
        {
            "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n",
            "mysite/__init__.py": "",
            "mysite/settings.py": "",
            "mysite/wsgi.py": "application = get_wsgi_application()\n",
            "other/wsgi.py": "application = None\n",
        },
    )
    assert detect(tmp_path) == "mysite.wsgi:application"


def test_django_project_with_both_modules_keeps_wsgi(tmp_path):
    write(
        tmp_path,
        {
            "mysite/wsgi.py": "application = get_wsgi_application()\n",
            "mysite/asgi.py": "application = get_asgi_application()\n",
        },
    )
    assert detect(tmp_path) == "mysite.wsgi:application"


def test_django_project_with_only_asgi(tmp_path):
    write(
        tmp_path,
        {
            "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n",
            "mysite/asgi.py": "application = get_asgi_application()\n",
        },
    )
    assert detect(tmp_path) == "mysite.asgi:application"


def test_procfile_running_uvicorn(tmp_path):
    write(
        tmp_path,
        {"Procfile": "web: uvicorn --host 0.0.0.0 --port $PORT shop.api:app\n", "app.py": "app = 1\n"},
    )
    assert detect_with_procfile(tmp_path) == "shop.api:app"


def test_a_web_command_that_names_no_entry_point_falls_back_to_the_files(tmp_path):
    write(
        tmp_path, {"Procfile": "web: ./run-server.sh\nworker: celery -A shop worker\n", "app.py": "app = 1\n"}
    )
    assert detect_with_procfile(tmp_path) == "app:app"


@pytest.mark.parametrize(
    ("name", "code", "expected"),
    [
        ("app.py", "from flask import Flask\napp = Flask(__name__)\n", "app:app"),
        ("wsgi.py", "def application(environ, start_response):\n    pass\n", "wsgi:application"),
        ("app.py", "import bottle\napplication = bottle.default_app()\n", "app:application"),
        ("main.py", "from fastapi import FastAPI\napp = FastAPI()\n", "main:app"),
        ("asgi.py", "from starlette.applications import Starlette\napp = Starlette()\n", "asgi:app"),
    ],
)
def test_module_files(tmp_path, name, code, expected):
    write(tmp_path, {name: code})
    assert detect(tmp_path) == expected


def test_nothing_found_says_what_to_set(tmp_path):
    write(tmp_path, {"README": "hi", "app.py": "print('no app here')\n"})
    with pytest.raises(EntryPointError, match="set wsgi_app"):
        detect(tmp_path)


def test_broken_python_is_not_fatal(tmp_path):
    write(tmp_path, {"app.py": "def (:\n", "wsgi.py": "app = 1\n"})
    assert detect(tmp_path) == "wsgi:app"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("gunicorn app:app", "app:app"),
        ("/venv/bin/gunicorn --bind 0.0.0.0:$PORT --preload pkg.mod:application", "pkg.mod:application"),
        ("gunicorn -c conf.py --reload wsgi", "wsgi"),
        ("python server.py", None),
        ("gunicorn 'unbalanced", None),
    ],
)
def test_gunicorn_arguments(command, expected):
    assert gunicorn_app_argument(command) == expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("uvicorn main:app", "main:app"),
        ("python -m uvicorn --proxy-headers --port $PORT main:app", "main:app"),
        ("uvicorn --no-access-log --workers=2 --factory shop.api:create_app", "shop.api:create_app()"),
        ("uvicorn --host 0.0.0.0 --reload pkg.asgi:application", "pkg.asgi:application"),
        ("gunicorn -k uvicorn_worker.UvicornWorker main:app", None),  # gunicorn's, not uvicorn's
        ("uvicorn", None),
    ],
)
def test_uvicorn_arguments(command, expected):
    assert uvicorn_app_argument(command) == expected
