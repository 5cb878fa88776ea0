"""static_paths: the option's parser (hostile values refused), the repository directories
it names, and the build step making a mount (copy without leaving the tree, compress,
freeze, record in release.json)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from charms.layer.wsgi_app import ownership, releases, static_files
from charms.layer.wsgi_app.commands import CommandFailed, RunAs
from charms.layer.wsgi_app.config import ConfigError, parse_config
from charms.layer.wsgi_app.confined import Sandbox
from charms.layer.wsgi_app.errors import DeployError
from charms.layer.wsgi_app.paths import Paths
from charms.layer.wsgi_app.releases import Release

CSS = "body { color: #123456; }\n" * 200


@pytest.mark.parametrize(
    ("value", "mounts"),
    [
        ("", ()),
        ("/assets/=assets", (("/assets/", "assets"),)),
        ("/assets/=assets/", (("/assets/", "assets"),)),  # a trailing slash on the directory is fine
        (
            "/static/=app/static, /media/=public/media\n/=www",
            (("/static/", "app/static"), ("/media/", "public/media"), ("/", "www")),
        ),
        ("/a.b/c_d~e-f/=x.y/z_1", (("/a.b/c_d~e-f/", "x.y/z_1"),)),
    ],
)
def test_static_paths_are_prefix_directory_pairs(value, mounts):
    assert parse_config({"static_paths": value}).static_paths == mounts


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("assets", "is not /url-prefix/=directory"),
        ("/assets=assets", "URL prefix"),  # no trailing slash
        ("assets/=assets", "URL prefix"),  # not absolute
        ("/a//b/=assets", "URL prefix"),
        ("/../=assets", "URL prefix"),
        ("/./=assets", "URL prefix"),
        ("/a%2e%2e/=assets", "URL prefix"),
        ("/a?b/=assets", "URL prefix"),
        ("/assets/=", "directory"),
        ("/assets/=/etc", "directory"),  # absolute
        ("/assets/=../secrets", "directory"),
        ("/assets/=assets/../..", "directory"),
        ("/assets/=.", "directory"),  # the whole repository
        ("/assets/=.git", "directory"),  # hidden
        ("/assets/=a/.env", "directory"),
        ("/assets/=a//b", "directory"),
        ("/assets/=a\\b", "directory"),
        ("/assets/=$HOME", "directory"),
        ("/assets/=a\x00b", "directory"),
        ("/a/=x /a/=y", "/a/ is given twice"),
        (" ".join(f"/p{n}/=d" for n in range(17)), "at most 16"),
    ],
)
def test_hostile_static_paths_are_refused_with_a_status_message(value, fragment):
    with pytest.raises(ConfigError) as raised:
        parse_config({"static_paths": value})
    assert raised.value.summary.startswith("invalid config static_paths: ")
    assert fragment in raised.value.summary


@pytest.fixture
def repo(tmp_path):
    """An exported repository (``app/``) in a release directory."""
    app = tmp_path / "releases" / "20260101000000-ccccccc" / "app"
    (app / "assets" / "css").mkdir(parents=True)
    (app / "assets" / "css" / "site.css").write_text(CSS)
    (app / "assets" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (app / "assets" / ".env").write_text("SECRET=1\n")
    (app / "outside").mkdir()
    (app / "notes.txt").write_text("not a directory\n")
    return app


def test_a_repository_directory_must_be_one_inside_the_repository(repo, tmp_path):
    assert static_files.repository_directory(repo, "assets") == repo / "assets"
    (repo / "linked").symlink_to("assets")  # a link inside the tree is followed
    assert static_files.repository_directory(repo, "linked") == repo / "linked"
    (repo / "etc").symlink_to("/etc")
    (repo / "up").symlink_to("../..")
    for relative, fragment in [
        ("missing", "static_paths: missing is not in the repository"),
        ("notes.txt", "static_paths: notes.txt is not a directory"),
        ("etc", "static_paths: etc leads out of the repository"),
        ("up", "static_paths: up leads out of the repository"),
    ]:
        with pytest.raises(DeployError, match=fragment):
            static_files.repository_directory(repo, relative)


def publish(
    tree: Path,
    source: Path,
    target: Path,
    limits: tuple[int, int] = (static_files.MAX_MOUNT_ENTRIES, static_files.MAX_MOUNT_BYTES),
) -> subprocess.CompletedProcess:
    """static_files.PUBLISH as the build step runs it (python -c PUBLISH tree source target
    what max-entries max-bytes)."""
    target.mkdir(exist_ok=True)
    return subprocess.run(
        [
            *(sys.executable, "-c", static_files.PUBLISH, str(tree), str(source), str(target)),
            *("the repository", *map(str, limits)),
        ],
        capture_output=True,
        text=True,
    )


def test_publishing_copies_the_files_and_compresses_them(repo, tmp_path):
    (repo / "assets" / "css" / "same.css").symlink_to("site.css")  # a link to a file inside: its content
    (repo / "assets" / "fonts").symlink_to("../outside")  # a linked directory inside the tree
    (repo / "outside" / "f.txt").write_text("font\n")
    target = tmp_path / "mount"
    result = publish(repo, repo / "assets", target)
    assert result.returncode == 0, result.stderr
    files = sorted(str(path.relative_to(target)) for path in target.rglob("*") if path.is_file())
    assert files == [
        "css/same.css",
        "css/same.css.br",
        "css/same.css.gz",
        "css/site.css",
        "css/site.css.br",
        "css/site.css.gz",
        "fonts/f.txt",
        "logo.png",  # already compressed: no variants
    ]
    assert not any(path.is_symlink() for path in target.rglob("*"))
    assert (target / "css" / "same.css").read_text() == CSS


@pytest.mark.parametrize(
    ("link", "points_to", "message"),
    [
        ("passwd", "/etc/passwd", "assets/passwd is a symlink leading out of the repository"),
        ("up", "../..", "assets/up is a symlink leading out of the repository"),
        ("loop", ".", "assets/loop is a symlink to a directory containing it"),
    ],
)
def test_publishing_refuses_a_symlink_leaving_the_tree_or_looping(repo, tmp_path, link, points_to, message):
    (repo / "assets" / link).symlink_to(points_to)
    result = publish(repo, repo / "assets", tmp_path / "mount")
    assert result.returncode != 0 and result.stderr.strip().endswith(message)


def test_publishing_stops_at_its_budget_whatever_symlinks_multiply(repo, tmp_path):
    """Each level of two links to the next doubles the copy: 2**depth files from one."""
    level = repo / "assets" / "deep"
    for _ in range(12):
        (level / "next").mkdir(parents=True)
        for name in ("a", "b"):
            (level / name).symlink_to("next")
        level = level / "next"
    (level / "blob.bin").write_bytes(b"x" * 1000)
    result = publish(repo, repo / "assets", tmp_path / "mount", limits=(5000, 10**9))
    assert result.returncode != 0
    assert result.stderr.strip() == "assets holds more than 5000 entries, counting each symlink followed"
    result = publish(repo, repo / "assets", tmp_path / "again", limits=(10**6, 100_000))
    assert result.stderr.strip() == "assets holds more than 100000 bytes, counting each symlink followed"


class LocalSandbox(Sandbox):
    """Runs a build step here, unconfined, as root: what the step does, not systemd's part.
    What it wrote is then given to the app user, with group write, as a step of the app
    user's could leave it (so freezing it is what makes it root's)."""

    def run(self, what, argv, *, cwd, writable=(), env=None, timeout):
        argv = [sys.executable if arg.endswith("/bin/python") else arg for arg in argv]
        result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        if result.returncode:
            raise CommandFailed(f"{what} failed (exit {result.returncode})", result.stdout + result.stderr)
        for tree in writable:
            ownership.hand_over(tree, *self.account.ids)
            for path in [tree, *tree.rglob("*")]:
                path.chmod(path.stat().st_mode | stat.S_IWGRP)
        self.ran.append((what, tuple(writable)))
        return result.stdout


@pytest.fixture
def local_sandbox(monkeypatch, tmp_path):
    sandbox = LocalSandbox(Paths.for_app("shop", root=tmp_path), RunAs("nobody", tmp_path), "1G", 100)
    object.__setattr__(sandbox, "ran", [])
    monkeypatch.setattr(Sandbox, "for_state", classmethod(lambda cls, state: sandbox))
    return sandbox


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="changes owners: needs root (CI runs as root)")


@needs_root
def test_static_paths_become_frozen_compressed_mounts_in_release_json(demo_state, repo, local_sandbox):
    directory = repo.parent
    release = Release(directory.name, "c" * 40, "shop", "ccccccc", "app:app", "/v/1", "s", 0.0, "gthread")
    releases.write(directory, release)
    state = replace(demo_state, config=parse_config({"static_paths": "/assets/=assets /css/=assets/css"}))
    built = static_files.build_mounts(state, release, directory)
    assert built.static == (
        ("/assets/", str(directory / "static" / "0")),
        ("/css/", str(directory / "static" / "1")),
    )
    assert releases.read(directory) == built
    assert [what for what, _ in local_sandbox.ran] == ["copy static files", "copy static files"]
    assert local_sandbox.ran[0][1] == (directory / "static" / "0",)  # the step writes its mount only
    assert (directory / "static" / "1" / "site.css.gz").is_file()
    for path in [directory / "static", *(directory / "static").rglob("*")]:
        assert path.lstat().st_uid == 0, path  # frozen: the app cannot change what it serves
        assert not path.lstat().st_mode & stat.S_IWGRP, path
    assert not (directory / "static" / "0" / ".env").exists()  # hidden names stay out


@needs_root
def test_a_missing_directory_or_an_asgi_app_is_refused_before_anything_is_copied(
    demo_state, repo, local_sandbox
):
    directory = repo.parent
    release = Release(directory.name, "c" * 40, "shop", "ccccccc", "app:app", "/v/1", "s", 0.0, "gthread")
    state = replace(demo_state, config=parse_config({"static_paths": "/assets/=assets /js/=build/js"}))
    with pytest.raises(DeployError, match="static_paths: build/js is not in the repository"):
        static_files.build_mounts(state, release, directory)
    with pytest.raises(
        DeployError, match=r"static files \(/assets/ /js/\) are served for WSGI applications only"
    ):
        static_files.build_mounts(state, replace(release, worker_class="uvicorn"), directory)
    assert len(local_sandbox.ran) == 1  # /assets/ was made before build/js was found missing


@needs_root
def test_a_failed_step_leaves_no_mount_and_says_why(demo_state, repo, local_sandbox):
    directory = repo.parent
    (repo / "assets" / "passwd").symlink_to("/etc/passwd")
    release = Release(directory.name, "c" * 40, "shop", "ccccccc", "app:app", "/v/1", "s", 0.0, "gthread")
    with pytest.raises(DeployError) as raised:
        static_files.add_mount(demo_state, release, directory, "/assets/", repo / "assets", tree=repo)
    assert str(raised.value) == (
        "static files at /assets/: copy static files failed (exit 1): "
        "assets/passwd is a symlink leading out of the repository"
    )
    assert not (directory / "static" / "0").exists()


def test_only_releases_with_static_paths_want_the_static_packages(demo_state):
    assert not static_files.wanted(demo_state, Path("/nonexistent"))
    configured = replace(demo_state, config=parse_config({"static_paths": "/assets/=assets"}))
    assert static_files.wanted(configured, Path("/nonexistent"))


def test_static_paths_are_part_of_the_release_spec_only_when_set(demo_state):
    from charms.layer.wsgi_app.build import source_inputs

    assert "static_paths" not in source_inputs(demo_state, "demo")  # older releases keep their spec
    configured = replace(demo_state, config=parse_config({"static_paths": "/assets/=assets"}))
    assert source_inputs(configured, "demo")["static_paths"] == [["/assets/", "assets"]]
    assert json.dumps(source_inputs(configured, "demo"))


@pytest.mark.parametrize("prefix", ["static/", "/static", "https://cdn.example.org/static/", "/a/../b/", ""])
def test_a_mount_prefix_from_elsewhere_than_the_option_is_checked_too(demo_state, repo, prefix):
    """add_mount's prefix may come from the app's own settings (Django's STATIC_URL)."""
    directory = repo.parent
    release = Release(directory.name, "c" * 40, "shop", "ccccccc", "app:app", "/v/1", "s", 0.0, "gthread")
    with pytest.raises(DeployError, match="is not a URL path starting and ending with '/'"):
        static_files.add_mount(demo_state, release, directory, prefix, repo / "assets")
    assert not (directory / "static").exists()
