from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from charms.layer.wsgi_app import releases
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
