from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from charms.layer.wsgi_app import python_env, releases
from charms.layer.wsgi_app.paths import Paths
from charms.layer.wsgi_app.releases import Release

BASE = Release(
    id="",
    commit="c" * 40,
    label="app",
    version="ccccccc",
    wsgi_app="app:app",
    venv="/v/1",
    spec="s",
    created=0.0,
)


def make(paths: Paths, release_id: str) -> Release:
    release = replace(BASE, id=release_id)
    (paths.releases / release_id / "app").mkdir(parents=True)
    releases.write(paths.releases / release_id, release)
    return release


def test_switch_previous_and_prune(tmp_path):
    paths = Paths.for_app("app", root=tmp_path)
    for n in range(1, 6):
        make(paths, f"2026010{n}000000-ccccccc")
    releases.switch(paths, "20260105000000-ccccccc")
    assert releases.current(paths).id == "20260105000000-ccccccc"
    assert releases.previous(paths).id == "20260104000000-ccccccc"
    assert Path(paths.current.readlink()) == Path("releases/20260105000000-ccccccc")  # relative
    kept = releases.prune(paths, keep=3)
    assert [r.id[:8] for r in kept] == ["20260103", "20260104", "20260105"]
    assert sorted(p.name[:8] for p in paths.releases.iterdir()) == ["20260103", "20260104", "20260105"]


def test_prune_never_removes_current(tmp_path):
    paths = Paths.for_app("app", root=tmp_path)
    for n in range(1, 4):
        make(paths, f"2026010{n}000000-ccccccc")
    releases.switch(paths, "20260101000000-ccccccc")  # rolled back to the oldest
    kept = {r.id for r in releases.prune(paths, keep=1)}
    assert kept == {"20260103000000-ccccccc", "20260101000000-ccccccc"}


def test_new_id_is_time_then_short_commit():
    assert releases.new_id("0123456789abcdef", now=0) == "19700101000000-0123456"
    assert releases.new_id("demo-aaaaaaaaaaaa", now=0) == "19700101000000-aaaaaaa"


def test_the_worker_class_is_kept_and_older_releases_still_read(tmp_path):
    paths = Paths.for_app("app", root=tmp_path)
    release = replace(make(paths, "20260101000000-ccccccc"), worker_class="uvicorn")
    releases.write(paths.releases / release.id, release)
    assert releases.read(paths.releases / release.id) == release
    older = json.loads((paths.releases / release.id / releases.RELEASE_FILE).read_text())
    del older["worker_class"]  # release.json as charms before the ASGI support wrote it
    (paths.releases / release.id / releases.RELEASE_FILE).write_text(json.dumps(older))
    assert releases.read(paths.releases / release.id) == replace(release, worker_class="")


def test_static_mounts_round_trip_and_older_releases_have_none(tmp_path):
    paths = Paths.for_app("app", root=tmp_path)
    directory = paths.releases / "20260101000000-ccccccc"
    mounts = (("/assets/", str(directory / "static" / "0")), ("/static/", str(directory / "static" / "1")))
    release = replace(make(paths, directory.name), static=mounts)
    releases.write(directory, release)
    assert releases.read(directory) == release
    older = json.loads((directory / releases.RELEASE_FILE).read_text())
    del older["static"]  # release.json as charms before static files wrote it
    (directory / releases.RELEASE_FILE).write_text(json.dumps(older))
    assert releases.read(directory) == replace(release, static=())


@pytest.mark.parametrize("static", [[["/a/"]], [["/a/", 1]], [["/a/", "/d", "/e"]], 7, [None], {"a": "b"}])
def test_a_damaged_static_list_is_a_damaged_release(tmp_path, static):
    paths = Paths.for_app("app", root=tmp_path)
    release = make(paths, "20260101000000-ccccccc")
    data = json.loads((paths.releases / release.id / releases.RELEASE_FILE).read_text())
    (paths.releases / release.id / releases.RELEASE_FILE).write_text(json.dumps({**data, "static": static}))
    assert releases.read(paths.releases / release.id) is None


def test_static_packages_join_the_venv_only_of_apps_with_static_files(tmp_path):
    (tmp_path / "requirements.txt").write_text("flask==3.0\n")
    plain = python_env.plan(tmp_path, "r1", ("requests",), "gthread")
    static = python_env.plan(tmp_path, "r1", ("requests",), "gthread", static=True)
    assert not set(python_env.STATIC_PACKAGES) & set(plain.extra)
    assert static.extra == (python_env.GUNICORN, *python_env.STATIC_PACKAGES, "requests")
    assert static.key != plain.key


def test_the_release_command_and_process_table_are_kept_and_older_releases_still_read(tmp_path):
    paths = Paths.for_app("app", root=tmp_path)
    processes = (
        ("release", "python initdb.py"),
        ("web", "gunicorn app:app"),
        ("worker", "celery -A app worker"),
    )
    release = replace(
        make(paths, "20260101000000-ccccccc"), release_command="python initdb.py", processes=processes
    )
    releases.write(paths.releases / release.id, release)
    assert releases.read(paths.releases / release.id) == release  # tuples again, not JSON's lists
    record = paths.releases / release.id / releases.RELEASE_FILE
    older = json.loads(record.read_text())
    del older["release_command"], older["processes"]  # as charms before the Procfile support wrote it
    record.write_text(json.dumps(older))
    assert releases.read(paths.releases / release.id) == replace(release, release_command="", processes=())


@pytest.mark.parametrize(
    "damage",
    [
        {"processes": "web"},
        {"processes": 3},
        {"processes": [["web"]]},
        {"processes": [["web", 1]]},
        {"processes": [{"web": "x"}]},
        {"release_command": ["rm", "-rf"]},
    ],
)
def test_a_damaged_process_table_is_no_release(tmp_path, damage):
    paths = Paths.for_app("app", root=tmp_path)
    release = make(paths, "20260101000000-ccccccc")
    record = paths.releases / release.id / releases.RELEASE_FILE
    record.write_text(json.dumps({**json.loads(record.read_text()), **damage}))
    assert releases.read(paths.releases / release.id) is None


def test_the_settings_a_release_adds_round_trip_and_older_releases_have_none(tmp_path):
    paths = Paths.for_app("app", root=tmp_path)
    overlay = (
        ("DJANGO_SETTINGS_MODULE", "wsgi_app_django_settings"),
        ("WSGI_APP_DJANGO_SETTINGS", "mysite.settings"),
    )
    release = replace(make(paths, "20260101000000-ccccccc"), environment=overlay)
    directory = paths.releases / release.id
    releases.write(directory, release)
    assert releases.read(directory) == release
    record = json.loads((directory / releases.RELEASE_FILE).read_text())
    assert record["environment"] == [list(pair) for pair in overlay]
    del record["environment"]  # as charms before the Django overlay wrote it
    (directory / releases.RELEASE_FILE).write_text(json.dumps(record))
    assert releases.read(directory) == replace(release, environment=())


@pytest.mark.parametrize("environment", [{"A": "b"}, [["A"]], [["A", 1]], "AB", [None]])
def test_damaged_release_settings_are_a_damaged_release(tmp_path, environment):
    paths = Paths.for_app("app", root=tmp_path)
    release = make(paths, "20260101000000-ccccccc")
    record = paths.releases / release.id / releases.RELEASE_FILE
    record.write_text(json.dumps({**json.loads(record.read_text()), "environment": environment}))
    assert releases.read(paths.releases / release.id) is None
