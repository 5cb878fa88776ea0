"""Heroku's Procfile (procfile.parse, load), the procfile option, and the effective release
command: the option, else the Procfile's release:, else Django's migrations."""

from __future__ import annotations

import os

import pytest

from charms.layer.wsgi_app import procfile
from charms.layer.wsgi_app.config import ConfigError, parse_config
from charms.layer.wsgi_app.procfile import Process, Procfile, ProcfileError

WEB = "gunicorn -b :$PORT shop.wsgi:application"


@pytest.mark.parametrize(
    ("text", "table"),
    [
        ("", ()),
        ("# nothing to run\n\n", ()),
        (f"web: {WEB}\n", (("web", WEB),)),
        (f"web: {WEB}", (("web", WEB),)),  # no final newline
        (f"web:{WEB}\n", (("web", WEB),)),  # no space after the colon
        (f"web:   {WEB}   \n", (("web", WEB),)),
        (
            f"web: {WEB}\r\nrelease: python manage.py migrate\r\n",
            (("web", WEB), ("release", "python manage.py migrate")),
        ),
        (f"\ufeffweb: {WEB}\n", (("web", WEB),)),  # a byte-order mark
        (f"  # indented comment\n   web: {WEB}\n\n\t\n", (("web", WEB),)),
        (
            "release: ./bin/init && echo 'a: b' # not a comment\nworker_2: celery -A shop worker -c 2\n",
            (
                ("release", "./bin/init && echo 'a: b' # not a comment"),
                ("worker_2", "celery -A shop worker -c 2"),
            ),
        ),
        ("Web-1: run\n", (("Web-1", "run"),)),
        ("web: echo\ttabbed\n", (("web", "echo\ttabbed"),)),
        ("web: python -c 'print(\"héllo ✓\")'\n", (("web", "python -c 'print(\"héllo ✓\")'"),)),
    ],
    ids=[
        "empty",
        "comments-only",
        "web",
        "no-final-newline",
        "no-space",
        "padded",
        "crlf",
        "bom",
        "indented",
        "colons-and-hashes-in-commands",
        "name-chars",
        "tab",
        "unicode",
    ],
)
def test_parse(text, table):
    assert procfile.parse(text).table() == table


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("web gunicorn app:app\n", "Procfile line 1 is not 'name: command'"),
        ("\n\nweb : gunicorn app:app\n", "Procfile line 3 is not 'name: command'"),
        ("w.e.b: run\n", "is not 'name: command'"),
        ("$(id): run\n", "is not 'name: command'"),
        (": run\n", "is not 'name: command'"),
        ("x" * 64 + ": run\n", "is not 'name: command'"),
        ("web:\n", "Procfile line 1: process type 'web' has no command"),
        ("web:    \r\n", "has no command"),
        (
            "web: a\nrelease: b\nweb: c\n",
            "Procfile line 3: process type 'web' is declared again (first on line 1)",
        ),
        ("web: a\x00b\n", "Procfile line 1 contains a control character"),
        ("web: a\rrelease: b\n", "contains a control character"),  # a lone CR is no line end
        ("web: a\x1b[2Jb\n", "contains a control character"),
        ("web: a\x0bb\n", "contains a control character"),
        ("# big\n" + "x" * (64 << 10), "larger than 64 KiB"),
        ("".join(f"p{n}: run\n" for n in range(65)), "more than 64 process types"),
    ],
)
def test_parse_refuses(text, fragment):
    with pytest.raises(ProcfileError) as raised:
        procfile.parse(text)
    assert fragment in str(raised.value)
    assert "\x00" not in str(raised.value) and "\x1b" not in str(raised.value)


def test_lookups():
    parsed = procfile.parse(f"release: python initdb.py\nweb: {WEB}\nworker: celery\n")
    assert parsed.web == WEB and parsed.release == "python initdb.py" and parsed.command("worker") == "celery"
    assert parsed.command("clock") == "" and Procfile().web == "" and Procfile().release == ""
    assert parsed.processes[0] == Process("release", "python initdb.py")


def test_the_option_parses_into_the_config():
    config = parse_config({"procfile": "release: python initdb.py\r\nweb: gunicorn app:app\r\n"})
    assert config.procfile == Procfile(
        (Process("release", "python initdb.py"), Process("web", "gunicorn app:app"))
    )
    assert parse_config({}).procfile is None
    assert parse_config({"procfile": "  \n"}).procfile is None
    assert parse_config({"procfile": "# none\n"}).procfile == Procfile()  # an empty one, overriding


def test_a_bad_option_blocks_with_the_line_named():
    with pytest.raises(ConfigError) as raised:
        parse_config({"procfile": "web: ok\nweb: again\n"})
    assert raised.value.problems == [
        ("procfile", "procfile line 2: process type 'web' is declared again (first on line 1)")
    ]


def test_load_reads_the_repositorys_procfile(tmp_path):
    assert procfile.load(tmp_path, None) == Procfile()
    (tmp_path / "Procfile").write_text("release: python initdb.py\n")
    assert procfile.load(tmp_path, None).release == "python initdb.py"


def test_the_option_replaces_the_repositorys_procfile(tmp_path):
    (tmp_path / "Procfile").write_text("release: python initdb.py\nweb: gunicorn a:b\n")
    given = procfile.parse("web: gunicorn c:d\n")
    assert procfile.load(tmp_path, given) == given
    assert procfile.load(tmp_path, Procfile()) == Procfile()
    # a broken Procfile in the repository is not read at all when the option replaces it
    (tmp_path / "Procfile").write_bytes(b"\xff\xfe")
    assert procfile.load(tmp_path, given) == given


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p.symlink_to("gone"), "No such file"),
        (lambda p: p.symlink_to("/etc/shadow"), "Procfile links outside the repository"),
        (lambda p: p.mkdir(), "not a regular file"),
        (lambda p: os.mkfifo(p), "not a regular file"),
        (lambda p: p.write_bytes(b"web: caf\xe9\n"), "not UTF-8 text"),
        (lambda p: p.write_text("web\n"), "Procfile line 1 is not 'name: command'"),
        (lambda p: p.write_text("x" * (1 << 20)), "larger than 64 KiB"),
    ],
    ids=["dangling-link", "link-out", "directory", "fifo", "latin-1", "malformed", "huge"],
)
def test_load_refuses_what_is_no_procfile(tmp_path, make, fragment):
    (tmp_path / "elsewhere").write_text("web: gunicorn a:b\n")
    make(tmp_path / "Procfile")
    with pytest.raises(ProcfileError, match=fragment):
        procfile.load(tmp_path, None)


def test_a_procfile_linked_inside_the_repository_is_read(tmp_path):
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "Procfile").write_text("web: gunicorn a:b\n")
    (tmp_path / "Procfile").symlink_to("deploy/Procfile")
    assert procfile.load(tmp_path, None).web == "gunicorn a:b"


RELEASE_LINE = procfile.parse("release: python initdb.py\n")
MIGRATE = "python manage.py migrate --noinput"


@pytest.mark.parametrize(
    ("option", "parsed", "django", "command"),
    [
        ("", Procfile(), False, ""),  # nothing says what to run
        ("", Procfile(), True, MIGRATE),  # a Django project migrates
        ("", RELEASE_LINE, False, "python initdb.py"),  # the Procfile's release:
        ("", RELEASE_LINE, True, "python initdb.py"),  # ... wins over Django's default
        ("./bin/setup", RELEASE_LINE, True, "./bin/setup"),  # the option wins over both
        ("./bin/setup", Procfile(), False, "./bin/setup"),
        ("none", RELEASE_LINE, True, ""),  # none: no release command at all
        ("None", Procfile(), True, ""),
        ("NONE", Procfile(), False, ""),
    ],
)
def test_the_effective_release_command(option, parsed, django, command):
    assert procfile.release_command(option, parsed, django) == command
