"""What the release export refuses from a repository's archive, and git error reasons."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from charms.layer.wsgi_app.commands import CommandFailed
from charms.layer.wsgi_app.source import SourceError, checked_members, links_stay_inside, repo_label


def archive(*entries: tuple[str, bytes] | tuple[str, bytes, str]) -> tarfile.TarFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, kind, *target in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.SYMTYPE:
                info.linkname = target[0] if target else "app"
            tar.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    buffer.seek(0)
    return tarfile.open(fileobj=buffer)


def test_an_ordinary_tree_is_kept() -> None:
    tar = archive(
        ("app", tarfile.DIRTYPE),
        ("app/app.py", tarfile.REGTYPE),
        ("link", tarfile.SYMTYPE),
        ("app/up", tarfile.SYMTYPE, "../link"),
        ("app/here", tarfile.SYMTYPE, "./app.py"),
    )
    assert [m.name for m in checked_members(tar)] == ["app", "app/app.py", "link", "app/up", "app/here"]


@pytest.mark.parametrize(
    ("name", "target"),
    [("shadow", "/etc/shadow"), ("up", ".."), ("app/up", "../../x"), ("app/x", "sub/../../../etc")],
)
def test_links_out_of_the_tree_are_refused(name: str, target: str) -> None:
    with pytest.raises(SourceError, match="symlink pointing outside"):
        checked_members(archive(("app", tarfile.DIRTYPE), (name, tarfile.SYMTYPE, target)))


def test_a_link_that_leaves_through_another_link_is_refused_on_disk(tmp_path: Path) -> None:
    """Text alone cannot tell: ``c -> .`` then ``x -> c/../secret`` reads as ``secret``
    but resolves to the directory above the tree."""
    tree = tmp_path / "app"
    tree.mkdir()
    (tmp_path / "secret").write_text("outside")
    (tree / "c").symlink_to(".")
    (tree / "inner").symlink_to("c")
    links_stay_inside(tree)
    (tree / "x").symlink_to("c/../secret")
    with pytest.raises(SourceError, match="'x'"):
        links_stay_inside(tree)


@pytest.mark.parametrize(
    "entries",
    [
        [("../escape.py", tarfile.REGTYPE)],
        [("/etc/passwd", tarfile.REGTYPE)],
        [("a/../../x", tarfile.REGTYPE)],
        [("dev", tarfile.CHRTYPE)],
        [("etc", tarfile.SYMTYPE, "app"), ("etc/cron.d/x", tarfile.REGTYPE)],
    ],
    ids=["parent", "absolute", "nested-parent", "device", "below-symlink"],
)
def test_unsafe_entries_are_refused(entries: list[tuple[str, bytes]]) -> None:
    with pytest.raises(SourceError):
        checked_members(archive(*entries))


def test_git_errors_lead_with_the_fatal_line() -> None:
    output = "fatal: repository 'x' does not exist\nPlease make sure you have the correct access rights\n"
    assert CommandFailed("git fetch", output).reason() == "fatal: repository 'x' does not exist"
    assert CommandFailed("pip", "a\nlast line\n").reason() == "last line"


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://example.org/acme/shop.git", "shop"),
        ("git@example.org:acme/blog", "blog"),
        ("file:///", "app"),
    ],
)
def test_repo_label(url: str, label: str) -> None:
    assert repo_label(url) == label
