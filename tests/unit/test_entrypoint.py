from __future__ import annotations

import pytest

from charms.layer.wsgi_app.entrypoint import EntryPointError, detect, gunicorn_app_argument


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_procfile_web_line_wins(tmp_path):
    write(
        tmp_path,
        {
            "Procfile": "release: python manage.py migrate\n"
            "web: gunicorn --workers 3 -b :$PORT shop.web:create()\n",
            "app.py": "app = object()\n",
        },
    )
    assert detect(tmp_path) == "shop.web:create()"


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


@pytest.mark.parametrize(
    ("name", "code", "expected"),
    [
        ("app.py", "from flask import Flask\napp = Flask(__name__)\n", "app:app"),
        ("wsgi.py", "def application(environ, start_response):\n    pass\n", "wsgi:application"),
        ("app.py", "import bottle\napplication = bottle.default_app()\n", "app:application"),
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
