"""WSGI or ASGI: the worker class an entry point gets (asgi.choose and refuse_mismatch),
gunicorn's name for it, and the look at the source that plans the venv."""

from __future__ import annotations

import pytest
from conftest import write

from charms.layer.wsgi_app.asgi import (
    WorkerClassError,
    choose,
    command_serves_asgi,
    gunicorn_pythonpath,
    gunicorn_worker_class,
    imports_asgi_framework,
    looks_asgi,
    module_file,
    refuse_mismatch,
    reported_asgi,
)

FASTAPI_MAIN = "import os\n\nfrom fastapi import FastAPI\n\napp = FastAPI()\n"
DJANGO_ASGI = (
    "import os\n\nfrom django.core.asgi import get_asgi_application\n\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n"
    "application = get_asgi_application()\n"
)
FLASK_APP = "from flask import Flask\n\napp = Flask(__name__)\n"


@pytest.mark.parametrize(
    ("configured", "asgi", "expected"),
    [
        ("auto", True, "uvicorn"),
        ("auto", False, "gthread"),
        ("uvicorn", False, "uvicorn"),  # an ASGI app the check did not recognise
        ("sync", False, "sync"),
        ("gevent", True, "gevent"),  # chosen as configured; refuse_mismatch says no
    ],
)
def test_auto_follows_the_interface_and_a_configured_class_wins(configured, asgi, expected):
    assert choose(configured, asgi) == expected


@pytest.mark.parametrize("worker_class", ["gthread", "sync", "gevent"])
def test_a_wsgi_worker_class_cannot_serve_an_asgi_app(worker_class):
    with pytest.raises(WorkerClassError) as caught:
        refuse_mismatch(worker_class, True, "main:app")
    assert str(caught.value) == (
        f"worker_class {worker_class} serves WSGI only, but main:app is an ASGI application: "
        "set worker_class to auto or uvicorn"
    )


@pytest.mark.parametrize(("worker_class", "asgi"), [("uvicorn", True), ("uvicorn", False), ("sync", False)])
def test_matching_or_uvicorn_worker_classes_pass(worker_class, asgi):
    refuse_mismatch(worker_class, asgi, "main:app")  # does not raise


def test_gunicorn_names_the_charms_uvicorn_worker_by_its_class_path():
    assert gunicorn_worker_class("uvicorn") == "wsgi_app_uvicorn.UvicornWorker"
    assert gunicorn_pythonpath("uvicorn") == "/usr/local/lib/wsgi-app/python"
    for builtin in ("gthread", "sync", "gevent"):
        assert gunicorn_worker_class(builtin) == builtin and gunicorn_pythonpath(builtin) == ""


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("wsgi-app: the entry point speaks ASGI\n", True),
        ("wsgi-app: the entry point speaks WSGI\n", False),
        ("app says hello\nwsgi-app: the entry point speaks ASGI\n", True),
        ("", False),  # nothing said: WSGI, as before the check said anything
        ("ASGI\n", False),
    ],
)
def test_the_import_checks_report(output, expected):
    assert reported_asgi(output) is expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("uvicorn main:app --host 0.0.0.0 --port $PORT", True),
        ("python -m uvicorn main:app", True),
        (".venv/bin/uvicorn main:app", True),
        ("gunicorn -k uvicorn.workers.UvicornWorker main:app", True),
        ("gunicorn --worker-class uvicorn_worker.UvicornWorker main:app", True),
        ("gunicorn --worker-class=uvicorn_worker.UvicornWorker main:app", True),
        ("gunicorn -kuvicorn_worker.UvicornWorker main:app", True),
        ("gunicorn -k gevent app:app", False),
        ("gunicorn uvicorn_app:app", False),  # a module named so is not uvicorn
        ("gunicorn -k", False),
        ("gunicorn 'unclosed", False),
    ],
)
def test_procfile_commands_that_serve_asgi(command, expected):
    assert command_serves_asgi(command) is expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (FASTAPI_MAIN, True),
        ("import starlette.applications\n", True),
        ("from starlette.applications import Starlette\n", True),
        (DJANGO_ASGI, True),
        ("from django.core import asgi\n", True),
        ("from quart import Quart\n", True),
        (FLASK_APP, False),
        ("from django.core.wsgi import get_wsgi_application\n", False),
        ("import fastapi_utils_clone\n", False),
        ("from .fastapi import app\n", False),  # a relative import of the app's own module
        ("def broken(:\n", False),
    ],
)
def test_imports_of_asgi_frameworks(code, expected):
    assert imports_asgi_framework(code) is expected


def test_module_file_of_an_entry_point(tmp_path):
    write(tmp_path, {"main.py": "", "shop/__init__.py": "", "shop/web.py": "", "pkg/__init__.py": ""})
    assert module_file(tmp_path, "main:app") == tmp_path / "main.py"
    assert module_file(tmp_path, "shop.web:create()") == tmp_path / "shop" / "web.py"
    assert module_file(tmp_path, "pkg:app") == tmp_path / "pkg" / "__init__.py"
    assert module_file(tmp_path, "installed.elsewhere:app") is None


def test_the_source_of_a_fastapi_or_django_asgi_app_looks_asgi(tmp_path):
    write(tmp_path, {"main.py": FASTAPI_MAIN, "mysite/asgi.py": DJANGO_ASGI, "app.py": FLASK_APP})
    assert looks_asgi(tmp_path, "main:app", None)
    assert looks_asgi(tmp_path, "mysite.asgi:application", None)
    assert not looks_asgi(tmp_path, "app:app", None)
    assert not looks_asgi(tmp_path, "missing:app", None)


def test_a_procfile_running_uvicorn_looks_asgi_whatever_the_module_imports(tmp_path):
    write(tmp_path, {"main.py": "from shop.web import app\n"})
    assert looks_asgi(tmp_path, "main:app", "uvicorn main:app")
    assert not looks_asgi(tmp_path, "main:app", "gunicorn main:app")
