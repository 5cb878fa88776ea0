"""Maintenance mode on the charm's side: the options, the flag file it writes (root's,
the page as UTF-8) and the status that says so."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import pytest

from charms.layer.wsgi_app import maintenance
from charms.layer.wsgi_app.config import ConfigError, parse_config
from charms.layer.wsgi_app.memory import Memory
from charms.layer.wsgi_app.paths import Paths
from charms.layer.wsgi_app.plan import Outcome
from charms.layer.wsgi_app.releases import Release
from charms.layer.wsgi_app.status import Status, status_of
from charms.layer.wsgi_app.validate import MAX_PAGE_BYTES, html_page

RELEASE = Release("20261124-abc1234", "abc1234" * 5, "demo", "abc1234", "demo:application", "/v", "s", 0.0)


def test_the_options_default_to_off_with_the_built_in_page():
    config = parse_config({})
    assert config.maintenance is False and config.maintenance_page == ""
    config = parse_config({"maintenance": True, "maintenance_page": "<h1>Back soon</h1>"})
    assert config.maintenance is True and config.maintenance_page == "<h1>Back soon</h1>"


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        ("x" * (MAX_PAGE_BYTES + 1), "at most 65536"),
        ("é" * (MAX_PAGE_BYTES // 2 + 1), "at most 65536"),  # counted in UTF-8 bytes
        ("<p>\x00</p>", "NUL"),
        ("<p>\udc80</p>", "not valid UTF-8"),
    ],
)
def test_a_page_the_wrapper_would_not_serve_is_refused(page, problem):
    with pytest.raises(ValueError, match=problem):
        html_page(page)
    with pytest.raises(ConfigError, match="maintenance_page"):
        parse_config({"maintenance_page": page})


def test_a_blank_page_is_the_built_in_one():
    assert html_page("  \n") == "" and html_page("é" * (MAX_PAGE_BYTES // 2)) == "é" * (MAX_PAGE_BYTES // 2)


def test_on_writes_the_page_as_utf8_root_only_and_off_removes_it(tmp_path):
    paths = Paths.for_app("root", root=tmp_path / "srv", etc=tmp_path / "etc")  # a group that exists
    paths.etc.mkdir(parents=True)
    assert not maintenance.is_on(paths)
    assert maintenance.apply(paths, True, "<p>Bientôt</p>")
    assert paths.maintenance_page.read_bytes() == "<p>Bientôt</p>".encode()
    assert stat.S_IMODE(paths.maintenance_page.stat().st_mode) == 0o640
    assert maintenance.is_on(paths)
    assert not maintenance.apply(paths, True, "<p>Bientôt</p>")  # unchanged: not written again
    assert maintenance.apply(paths, True, "")  # the built-in page: an empty file
    assert paths.maintenance_page.read_bytes() == b""
    assert maintenance.apply(paths, False, "<p>ignored</p>") and not maintenance.is_on(paths)
    assert not maintenance.apply(paths, False, "")


def test_the_status_says_maintenance_mode_first_and_keeps_what_serves():
    on = Outcome(release=RELEASE, port=8080, maintenance=True)
    assert status_of(on, Memory()) == Status("active", "maintenance mode; serving demo (abc1234) on :8080")
    waiting = Outcome(release=RELEASE, port=8080, maintenance=True, waiting_for=("db",))
    assert status_of(waiting, Memory()) == Status(
        "waiting", "maintenance mode; serving demo (abc1234) on :8080; waiting for db"
    )
    off = Outcome(release=RELEASE, port=8080)
    assert status_of(off, Memory()) == Status("active", "serving demo (abc1234) on :8080")


def test_the_mode_is_set_before_a_release_is_built(demo_state, monkeypatch):
    """maintenance=true given with a new app_ref: the page is up before the build and its
    release command (migrations) run."""
    from charms.layer.wsgi_app import deploy
    from charms.layer.wsgi_app.apply import Action, Applied

    steps = []
    on = replace(demo_state, config=parse_config({"maintenance": True, "maintenance_page": "<p>soon</p>"}))
    monkeypatch.setattr(deploy, "prepare", lambda paths: None)
    monkeypatch.setattr(maintenance, "apply", lambda paths, on, page: steps.append(("maintenance", on, page)))
    monkeypatch.setattr(deploy.releases, "current", lambda paths: RELEASE)
    monkeypatch.setattr(deploy, "build_release", lambda state, **kwargs: steps.append("build") or None)
    monkeypatch.setattr(deploy, "put_live", lambda state, live: Applied(Action.NONE))
    deploy.serve(on, demo_dir=Path("/demo"), publish=None, build=True, report=lambda message: None)
    assert steps == [("maintenance", True, "<p>soon</p>"), "build"]
