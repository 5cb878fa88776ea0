"""The venv's scripts pointed at the path the venv is used under (venv_scripts)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from charms.layer.wsgi_app import ownership, venv_scripts

BUILT = Path("/srv/shop/venvs/.0123456789abcdef.building")
USED = Path("/srv/shop/venvs/0123456789abcdef")
CELERY = (
    "#!/srv/shop/venvs/.0123456789abcdef.building/bin/python\n"
    "import sys\nfrom celery.__main__ import main\nsys.exit(main())\n"
)


def test_a_scripts_interpreter_and_activates_venv_name_the_path_it_is_used_under() -> None:
    assert (
        venv_scripts.retargeted(CELERY.encode(), BUILT, USED)
        == CELERY.replace("/.0123456789abcdef.building/", "/0123456789abcdef/").encode()
    )
    activate = b"VIRTUAL_ENV='/srv/shop/venvs/.0123456789abcdef.building'\nexport VIRTUAL_ENV\n"
    assert venv_scripts.retargeted(activate, BUILT, USED) == (
        b"VIRTUAL_ENV='/srv/shop/venvs/0123456789abcdef'\nexport VIRTUAL_ENV\n"
    )


@pytest.mark.parametrize(
    "content",
    [
        b"#!/srv/shop/venvs/0123456789abcdef/bin/python\nimport sys\n",  # already mended
        b"#!/usr/bin/env python3\n",
        b"\x7fELF\0\0/srv/shop/venvs/.0123456789abcdef.building/bin/python\0",  # a binary
    ],
    ids=["mended", "elsewhere", "binary"],
)
def test_what_names_no_build_path_or_is_binary_is_left_alone(content: bytes) -> None:
    assert venv_scripts.retargeted(content, BUILT, USED) is None


def make_venv(root: Path) -> tuple[Path, Path]:
    """A venv at ``root/venvs/key`` whose scripts were written under ``.key.building``."""
    venv, built = root / "venvs" / "key", root / "venvs" / ".key.building"
    (venv / "bin").mkdir(parents=True)
    script = f"#!{built}/bin/python\nimport sys\n"
    (venv / "bin" / "celery").write_text(script)
    (venv / "bin" / "celery").chmod(0o751)
    (venv / "bin" / "activate").write_text(f"VIRTUAL_ENV='{built}'\n")
    (venv / "bin" / "python").symlink_to("/usr/bin/python3")
    (venv / "bin" / "tool").write_bytes(b"\x7fELF\0" + str(built).encode())
    return venv, built


def test_retarget_rewrites_each_script_once_keeping_its_owner_and_mode(tmp_path: Path) -> None:
    venv, built = make_venv(tmp_path)
    before = (venv / "bin" / "celery").stat()
    owner = os.getuid()
    assert venv_scripts.retarget(venv, built, owner) == ["activate", "celery"]
    assert (venv / "bin" / "celery").read_text() == f"#!{venv}/bin/python\nimport sys\n"
    assert (venv / "bin" / "activate").read_text() == f"VIRTUAL_ENV='{venv}'\n"
    after = (venv / "bin" / "celery").stat()
    assert stat.S_IMODE(after.st_mode) == 0o751 and (after.st_uid, after.st_gid) == (
        before.st_uid,
        before.st_gid,
    )
    assert (venv / "bin" / "python").is_symlink() and os.readlink(
        venv / "bin" / "python"
    ) == "/usr/bin/python3"
    assert (venv / "bin" / "tool").read_bytes() == b"\x7fELF\0" + str(built).encode()
    assert sorted(p.name for p in (venv / "bin").iterdir()) == ["activate", "celery", "python", "tool"]
    assert venv_scripts.retarget(venv, built, owner) == []


def test_retarget_never_writes_through_a_link_nor_a_file_it_does_not_own(tmp_path: Path) -> None:
    venv, built = make_venv(tmp_path)
    outside = tmp_path / "outside"
    outside.write_text(f"#!{built}/bin/python\n")
    (venv / "bin" / "linked").symlink_to(outside)
    os.link(outside, venv / "bin" / "hardlinked")  # another name of the same file
    assert "hardlinked" in venv_scripts.retarget(venv, built, os.getuid())
    assert outside.read_text() == f"#!{built}/bin/python\n"  # the other name keeps what it had
    assert (venv / "bin" / "hardlinked").read_text() == f"#!{venv}/bin/python\n"
    someone_else = os.getuid() + 1
    (venv / "bin" / "celery").write_text(f"#!{built}/bin/python\n")
    assert venv_scripts.retarget(venv, built, someone_else) == []  # owned by another uid: not read


def test_a_bin_that_is_a_link_is_refused(tmp_path: Path) -> None:
    elsewhere, venv = tmp_path / "elsewhere", tmp_path / "venv"
    elsewhere.mkdir()
    venv.mkdir()
    (venv / "bin").symlink_to(elsewhere)
    with pytest.raises(ownership.TreeError):
        venv_scripts.retarget(venv, tmp_path / ".venv.building")
