"""The application's tree: root never follows a link the application user could have
placed, and a ``current`` link or ``release.json`` that is not the charm's blocks."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from charms.layer.wsgi_app import ownership, releases
from charms.layer.wsgi_app.ownership import TreeError
from charms.layer.wsgi_app.paths import Paths

APP_UID = 65534  # nobody: an owner that is not root

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="changes owners: needs root (CI runs as root)")


def test_ensure_dir_makes_and_fixes_a_directory_through_its_descriptor(tmp_path: Path) -> None:
    target = tmp_path / "releases"
    ownership.ensure_dir(target, 0, APP_UID, 0o750)
    target.chmod(0o777)
    ownership.ensure_dir(target, 0, APP_UID, 0o750)
    info = target.lstat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, APP_UID, 0o750)


def test_a_link_in_place_of_a_directory_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "etc"
    victim.mkdir(mode=0o755)
    (tmp_path / "releases").symlink_to(victim)
    with pytest.raises(TreeError, match="not a directory the charm made"):
        ownership.ensure_dir(tmp_path / "releases", APP_UID, APP_UID, 0o700)
    info = victim.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o755)


def test_hand_over_gives_everything_but_what_links_name(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_text("root's")
    tree = tmp_path / "work"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "mod.py").write_text("x = 1\n")
    (tree / "link").symlink_to(outside)
    ownership.hand_over(tree, APP_UID, APP_UID)
    for path in (tree, tree / "pkg", tree / "pkg" / "mod.py", tree / "link"):
        assert path.lstat().st_uid == APP_UID, path
    assert outside.stat().st_uid == 0


def test_freeze_takes_back_only_what_the_app_user_owns(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    others = tmp_path / "others"
    others.write_text("")
    os.chown(others, 1234, 1234)
    (venv / "bin" / "hard").hardlink_to(others)
    (venv / "bin" / "out").symlink_to(others)
    for path in (venv, venv / "bin", venv / "bin" / "python"):
        os.chown(path, APP_UID, APP_UID)
    os.lchown(venv / "bin" / "out", APP_UID, APP_UID)
    ownership.freeze(venv, APP_UID)
    for path in (venv, venv / "bin", venv / "bin" / "python", venv / "bin" / "out"):
        assert (path.lstat().st_uid, path.lstat().st_gid) == (0, APP_UID), path
    assert others.stat().st_uid == 1234  # neither through the hard link nor the symlink


def test_freeze_takes_away_group_and_other_write_and_set_id_bits(tmp_path: Path) -> None:
    """The app user may chmod what it made before the hand-over: frozen, its group (the
    running app's) can no longer change it, and nothing stays set-id or sticky."""
    tree = tmp_path / "static"
    (tree / "css").mkdir(parents=True)
    (tree / "css" / "site.css").write_text("")
    os.mkfifo(tree / "fifo")
    for path, mode in ((tree, 0o3777), (tree / "css", 0o2775), (tree / "css" / "site.css", 0o6777)):
        os.chown(path, APP_UID, APP_UID)
        os.chmod(path, mode)
    os.chown(tree / "fifo", APP_UID, APP_UID)
    ownership.freeze(tree, APP_UID)
    modes = {
        path.name: stat.S_IMODE(path.stat().st_mode)
        for path in (tree, tree / "css", tree / "css" / "site.css")
    }
    assert modes == {"static": 0o755, "css": 0o755, "site.css": 0o755}
    assert (tree / "fifo").lstat().st_uid == 0


def test_read_text_refuses_a_link(tmp_path: Path) -> None:
    (tmp_path / "release.json").symlink_to("/etc/hostname")
    with pytest.raises(OSError):
        ownership.read_text(tmp_path / "release.json")


def _deployed(tmp_path: Path) -> tuple[Paths, releases.Release]:
    paths = Paths.for_app("shop", root=tmp_path)
    release = releases.Release(
        id="20261204120000-abcdef1",
        commit="abcdef1" * 5,
        label="shop",
        version="abcdef1",
        wsgi_app="shop:app",
        venv=str(paths.venvs / "k"),
        spec="s",
        created=0.0,
    )
    (paths.releases / release.id).mkdir(parents=True)
    releases.write(paths.releases / release.id, release)
    releases.switch(paths, release.id)
    return paths, release


def test_current_reads_the_charms_link(tmp_path: Path) -> None:
    paths, release = _deployed(tmp_path)
    assert releases.current(paths) == release
    paths.current.unlink()
    assert releases.current(paths) is None


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p.current.unlink(), p.current.symlink_to("current")), "does not point to releases"),
        (lambda p: (p.current.unlink(), p.current.symlink_to("/etc")), "does not point to releases"),
        (lambda p: (p.current.unlink(), p.current.symlink_to("releases/20261204120000-0000000")), "missing"),
        (lambda p: (p.current.unlink(), p.current.mkdir()), "not a symlink"),
        (lambda p: (p.current / "release.json").write_text("{not json"), "damaged"),
        (lambda p: (p.current / "release.json").write_text(json.dumps({"id": "x"})), "damaged"),
    ],
    ids=["loop", "outside", "dangling", "directory", "corrupt-json", "wrong-fields"],
)
def test_a_current_link_the_charm_did_not_make_raises_a_clear_error(
    tmp_path: Path, damage: object, message: str
) -> None:
    paths, _ = _deployed(tmp_path)
    damage(paths)  # type: ignore[operator]
    with pytest.raises(TreeError, match=message) as error:
        releases.current(paths)
    assert "keeps serving" in str(error.value)
