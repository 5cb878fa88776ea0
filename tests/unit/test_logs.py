"""The logs action's journal query and its redaction of secrets."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest
from conftest import SECRET

from charms.layer.wsgi_app.environment import app_settings
from charms.layer.wsgi_app.logs import (
    MAX_OUTPUT,
    journal_argv,
    redact_text,
    secret_values,
    tail,
)
from charms.layer.wsgi_app.render import render_all
from charms.layer.wsgi_app.settings_file import decode

JOURNAL = f"""\
2026-11-25T17:00:01+00:00 unit-shop-0[812]: method=GET path="/login" query="next=/&key={SECRET}" status=302
2026-11-25T17:00:02+00:00 unit-shop-0[812]: connecting to postgresql://shop_rw:pa%3Ass%40word@10.0.0.5:5432/shop
2026-11-25T17:00:03+00:00 unit-shop-0[812]: PGPASSWORD is pa:ss@word
2026-11-25T17:00:04+00:00 unit-shop-0[812]: cache at redis://:hunter2hunter2@10.0.0.8:6379/0 ok
2026-11-25T17:00:05+00:00 unit-shop-0[812]: remote=10.0.0.1 method=GET path="/" status=200
"""


def test_journal_argv_reads_the_identifier_and_bounds_the_lines():
    assert journal_argv("unit-shop-0", 100) == [
        "journalctl",
        "--no-pager",
        "--quiet",
        "-o",
        "short-iso",
        "-t",
        "unit-shop-0",
        "-n",
        "100",
    ]
    for bad in (0, -5, 5001):
        with pytest.raises(ValueError, match="lines must be 1-5000"):
            journal_argv("unit-shop-0", bad)


def test_redaction_removes_secret_key_database_password_and_url_passwords(django_state):
    """Arrange: the settings the charm computes and the file it wrote; act: redact a journal
    excerpt; assert: no form of any secret is left, everything else is."""
    on_disk = decode(render_all(django_state).settings)
    assert on_disk == app_settings(django_state)
    shown = redact_text(JOURNAL, secret_values(app_settings(django_state), on_disk))
    for leaked in (SECRET, "pa:ss@word", "pa%3Ass%40word", "hunter2hunter2"):
        assert leaked not in shown
    assert 'query="next=/&key=<redacted>"' in shown
    assert "postgresql://shop_rw:<redacted>@10.0.0.5:5432/shop" in shown
    assert "PGPASSWORD is <redacted>" in shown
    assert "redis://:<redacted>@10.0.0.8:6379/0" in shown
    assert shown.count("\n") == JOURNAL.count("\n")
    assert 'path="/" status=200' in shown


def test_an_older_secret_from_the_settings_file_is_redacted_too(django_state):
    on_disk = {"SECRET_KEY": "the-key-before-rotation", "API_TOKEN": "tok-123456"}
    shown = redact_text(
        "old the-key-before-rotation and tok-123456", secret_values(app_settings(django_state), on_disk)
    )
    assert shown == "old <redacted> and <redacted>"


def test_a_secret_printed_as_json_or_as_a_python_literal_is_redacted():
    """What a one-off command or the app prints of its settings: ``json.dumps`` escapes
    quotes, backslashes and every non-ASCII character; ``repr`` (``print(os.environ)``,
    ``manage.py diffsettings``) backslashes and, when both quotes are in, quotes."""
    import json

    password = "pa\"ss\\wörd's"
    settings = {"API_PASSWORD": password, "DATABASE_URL": 'postgresql://u:k\\ey"é@db/x'}
    for printed in (json.dumps(settings), repr(settings), str(settings), "\n".join(settings.values())):
        shown = redact_text(printed, secret_values(settings))
        assert "ss" not in shown and "ey" not in shown, shown


def test_short_values_are_not_treated_as_secrets():
    assert secret_values({"PGPASSWORD": "ab", "SECRET_KEY": "long-enough"}) == ["long-enough"]


def test_tail_keeps_whole_lines_from_the_end():
    text = "".join(f"line {n}\n" for n in range(1000))
    kept = tail(text, 100)
    assert len(kept) <= 100 and kept.endswith("line 999\n") and kept.startswith("line ")
    assert tail("short\n") == "short\n"


@pytest.mark.parametrize(
    "text",
    [
        "é" * 120_000,  # two bytes a character
        "\ufffd" * 100_000,  # what every byte of output that is not UTF-8 decodes to
        "".join(f"ligne {n} — 日本語\n" for n in range(20_000)),
        "found\x00twice\x00\n",  # find -print0, a binary file
    ],
)
def test_tail_fits_one_argument_of_action_set(text):
    """An action's result is one argument of ``action-set``: the kernel takes at most
    128 KiB in one (E2BIG beyond) and no NUL (ValueError before exec); the action would
    fail with neither its exit code nor its output."""
    kept = tail(text)
    assert len(kept.encode()) <= MAX_OUTPUT and "\x00" not in kept
    subprocess.run(["true", f"output={kept}"], check=True)
    assert kept.endswith(text[-5:].replace("\x00", "\ufffd"))


def test_the_logs_of_web_or_of_a_process_type_the_serving_release_declares(django_state, monkeypatch):
    """``process`` names web or one of the serving release's process types; anything else
    (another application's identifier, the release command) is refused."""
    from charms.layer.wsgi_app import actions, releases
    from charms.layer.wsgi_app.releases import Release

    serving = Release(
        "20261205-1a2b3c4", "1a2b3c4" * 5, "shop", "1a2b3c4", "app:app", "/v", "s", 0.0,
        processes=(("web", "gunicorn"), ("worker", "celery worker"), ("release", "migrate")),
    )  # fmt: skip
    monkeypatch.setattr(releases, "current", lambda paths: serving)
    assert actions._log_identifier(replace(django_state, unit_name="shop/0"), "web") == "unit-shop-0"
    assert actions._log_identifier(django_state, "worker") == "shop-worker"
    for refused in ("release", "beat", "metrics"):
        with pytest.raises(ValueError, match="is not one of this release's: web, worker"):
            actions._log_identifier(django_state, refused)
    monkeypatch.setattr(releases, "current", lambda paths: None)
    with pytest.raises(ValueError, match=r"not one of this release's: web$"):
        actions._log_identifier(django_state, "worker")


def test_the_logs_of_a_scheduled_job_by_its_journal_name(django_state, monkeypatch):
    """A job is ``cron-<name>``, whether a Procfile entry or the option's; its journal
    identifier is its units' (``<app>-cron-<name>``). A job the release and the option do not
    have is refused, as is a job's own name written without ``cron-``."""
    from charms.layer.wsgi_app import actions, releases
    from charms.layer.wsgi_app.config import parse_config
    from charms.layer.wsgi_app.releases import Release

    serving = Release(
        "20261205-1a2b3c4", "1a2b3c4" * 5, "shop", "1a2b3c4", "app:app", "/v", "s", 0.0,
        processes=(("web", "gunicorn"), ("worker", "celery worker"), ("cron-cleanup", "@daily ./clean")),
    )  # fmt: skip
    monkeypatch.setattr(releases, "current", lambda paths: serving)
    state = replace(django_state, config=parse_config({"scheduled_jobs": "report: @hourly ./report"}))
    assert actions._log_identifier(state, "cron-cleanup") == "shop-cron-cleanup"
    assert actions._log_identifier(state, "cron-report") == state.paths.job_service("report").removesuffix(
        ".service"
    )
    for refused in ("report", "cleanup", "cron-other", "cron"):
        with pytest.raises(
            ValueError, match=r"not one of this release's: web, worker, cron-cleanup, cron-report$"
        ):
            actions._log_identifier(state, refused)
    monkeypatch.setattr(releases, "current", lambda paths: None)
    with pytest.raises(ValueError, match=r"not one of this release's: web$"):
        actions._log_identifier(state, "cron-cleanup")
