"""Real Flask, Django and FastAPI applications, written into git repositories by the tests.

The repositories are bare ones inside a machine's shared directory, so the charm clones
them over ``file://`` with no network; a host-side working copy pushes new commits.
"""

from __future__ import annotations

FLASK_APP = """\
import os

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return f"hello from flask {VERSION}; greeting={os.environ.get('GREETING', '')}\\n"


@app.route("/healthz")
def healthz():
    return "ok\\n"


VERSION = "v1"
"""

# an ASGI app: main.py binding app, as FastAPI's own tutorial lays it out
FASTAPI_APP = """\
import os

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index():
    return {"framework": "fastapi", "version": VERSION, "greeting": os.environ.get("GREETING", "")}


VERSION = "v1"
"""

DJANGO_FILES = {
    "requirements.txt": "Django>=4.2,<6\n",
    "manage.py": """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
""",
    "mysite/__init__.py": "",
    "mysite/settings.py": """\
import os
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.contenttypes", "notes"]
MIDDLEWARE = []
ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_url = os.environ["DATABASE_URL"]
if _url.startswith("sqlite:///"):
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _url[len("sqlite:///") :]}}
else:
    _parts = urlsplit(_url)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _parts.path.lstrip("/"),
            "USER": _parts.username,
            "PASSWORD": _parts.password,
            "HOST": _parts.hostname,
            "PORT": _parts.port or 5432,
        }
    }
""",
    "mysite/urls.py": """\
from django.urls import path

from notes import views

urlpatterns = [path("", views.index)]
""",
    "mysite/wsgi.py": """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
application = get_wsgi_application()
""",
    "notes/__init__.py": "",
    "notes/models.py": """\
from django.db import models


class Note(models.Model):
    text = models.CharField(max_length=200)
""",
    "notes/migrations/__init__.py": "",
    "notes/migrations/0001_initial.py": """\
from django.db import migrations, models


def first_note(apps, schema_editor):
    apps.get_model("notes", "Note").objects.create(text="written by the release command")


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Note",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("text", models.CharField(max_length=200)),
            ],
        ),
        migrations.RunPython(first_note, migrations.RunPython.noop),
    ]
""",
    "notes/views.py": """\
from django.conf import settings
from django.http import HttpResponse

from notes.models import Note


def index(request):
    texts = "; ".join(note.text for note in Note.objects.order_by("id"))
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return HttpResponse(f"django notes ({engine}): {texts}\\n", content_type="text/plain")
""",
}


def flask_files(version: str) -> dict[str, str]:
    return {"requirements.txt": "flask>=2.2\n", "app.py": FLASK_APP.replace('"v1"', f'"{version}"')}


def fastapi_files(version: str) -> dict[str, str]:
    return {"requirements.txt": "fastapi>=0.110,<1\n", "main.py": FASTAPI_APP.replace('"v1"', f'"{version}"')}
