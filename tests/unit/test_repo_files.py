"""Root reads the repository's files without trusting them: inside the release, bounded,
and every way they can be wrong is a status message naming the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from charms.layer.wsgi_app import repo_files
from charms.layer.wsgi_app.repo_files import RepoFileError


def test_a_link_inside_the_repository_is_read(tmp_path: Path) -> None:
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "prod.txt").write_text("flask\n")
    (tmp_path / "requirements.txt").symlink_to("requirements/prod.txt")
    assert repo_files.read_text(tmp_path, "requirements.txt", 100) == "flask\n"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: (d / "uv.lock").symlink_to("/etc/passwd"), "uv.lock links outside the repository"),
        (lambda d: (d / "uv.lock").symlink_to("../../outside"), "uv.lock links outside the repository"),
        (lambda d: (d / "uv.lock").symlink_to("missing"), "uv.lock: No such file or directory"),
        (lambda d: (d / "uv.lock").mkdir(), "uv.lock is not a regular file"),
        (lambda d: os.mkfifo(d / "uv.lock"), "uv.lock is not a regular file"),
        (lambda d: (d / "uv.lock").write_bytes(b"x" * 2049), "uv.lock is larger than 2 KiB"),
        (lambda d: (d / "uv.lock").write_bytes(b"version = '\xff'\n"), "uv.lock is not UTF-8 text"),
        (lambda d: (d / "uv.lock").write_text("version = \n"), "uv.lock is not valid TOML: Invalid value"),
        (lambda d: (d / "uv.lock").write_text("a = " + "[" * 1000 + "]" * 1000), "uv.lock is not valid TOML"),
    ],
    ids=["link-to-etc", "link-up", "dangling", "directory", "fifo", "huge", "not-utf8", "bad-toml", "deep"],
)
def test_hostile_files_are_refused_with_a_message(tmp_path: Path, make, words: str) -> None:
    app = tmp_path / "app"
    app.mkdir()
    make(app)
    assert repo_files.present(app, "uv.lock")
    with pytest.raises(RepoFileError) as raised:
        repo_files.read_toml(app, "uv.lock", 2048)
    assert words in str(raised.value)
