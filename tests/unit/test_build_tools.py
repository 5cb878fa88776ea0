"""The installers: pinned with every file's hash, installed as wheels only, once per pin set."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from charms.layer.wsgi_app import build_tools
from charms.layer.wsgi_app.commands import CommandFailed

GID = os.getgid()  # the application's group (a test may chown to its own)
SERIES = Path(os.path.realpath("/usr/bin/python3")).name  # "python3.11": tool venvs are named for it


@pytest.mark.parametrize("tool", ["uv", "poetry"])
def test_every_pinned_requirement_is_exact_and_hashed(tool: str) -> None:
    text = build_tools.pins(tool).read_text()
    lines = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    requirements = re.split(r"\n(?=[a-z])", lines)
    assert len(requirements) > (1 if tool == "poetry" else 0)
    for requirement in requirements:
        assert re.match(r"[a-z0-9-]+==\S+", requirement), requirement
        assert "--hash=sha256:" in requirement, requirement
    assert build_tools.pinned_version(tool).startswith(f"{tool}==")


def test_pips_index_settings_become_uvs() -> None:
    env = build_tools.uv_env(
        {
            "PIP_INDEX_URL": "https://mirror/simple",
            "PIP_EXTRA_INDEX_URL": "https://a/simple https://b/simple",
            "PIP_FIND_LINKS": "/var/lib/localjuju/wheels /opt/wheels",
            "PIP_NO_INDEX": "1",
            "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
            "PIP_DEFAULT_TIMEOUT": "180",
        }
    )
    assert env == {
        "UV_SYSTEM_CERTS": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
        "UV_DEFAULT_INDEX": "https://mirror/simple",
        "UV_INDEX": "https://a/simple https://b/simple",
        "UV_FIND_LINKS": "/var/lib/localjuju/wheels,/opt/wheels",
        "UV_NO_INDEX": "1",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
        "UV_HTTP_TIMEOUT": "180",
    }
    assert "UV_NO_INDEX" not in build_tools.uv_env({"PIP_NO_INDEX": "0"})


@pytest.fixture
def commands(monkeypatch) -> list[list[str]]:
    """The commands ensure() runs as root; each venv it creates gets the tool's executable."""
    ran: list[list[str]] = []

    def run(what: str, argv, **kwargs) -> str:
        ran.append(list(argv))
        if "venv" in argv:
            assert argv[1:4] == ["-I", "-m", "venv"] and kwargs["cwd"] == Path("/")  # no module of the cwd
            target = Path(argv[-1])
            (target / "bin").mkdir(parents=True)
            for name in ("uv", "poetry"):
                (target / "bin" / name).write_text("")
                (target / "bin" / name).chmod(0o700)  # as a hook with umask 077 makes it
        return ""

    monkeypatch.setattr(build_tools, "run", run)
    monkeypatch.setattr(build_tools.ownership, "ensure_dir", lambda *args: None)
    return ran


def test_uv_is_installed_by_pip_as_wheels_with_hashes_once(tmp_path: Path, commands: list[list[str]]) -> None:
    (command,) = build_tools.ensure("uv", tmp_path, GID, "/usr/bin/python3")
    uv = tmp_path / f"uv-{build_tools.digest('uv')}-{SERIES}" / "bin" / "uv"
    assert command == str(uv)
    install = commands[1]
    assert install[1:4] == ["-m", "pip", "install"]
    pins = str(build_tools.pins("uv"))
    wheels_only = ["--require-hashes", "--only-binary", ":all:", "--no-deps", "-r", pins]
    assert install[-6:] == wheels_only
    assert build_tools.ensure("uv", tmp_path, GID, "/usr/bin/python3") == (str(uv),) and len(commands) == 2
    assert [p.name for p in tmp_path.iterdir()] == [uv.parent.parent.name]
    assert uv.stat().st_mode & 0o777 == 0o750 and uv.stat().st_gid == GID  # the app user runs it


def test_poetry_is_installed_by_uv_and_an_older_pin_set_goes(tmp_path: Path, commands: list) -> None:
    (tmp_path / "poetry-0ld").mkdir()
    poetry = build_tools.ensure("poetry", tmp_path, GID, "/usr/bin/python3")
    home = tmp_path / f"poetry-{build_tools.digest('poetry')}-{SERIES}"
    assert poetry == (str(home / "bin" / "python"), "-I", "-m", "poetry")  # its script's #! names .building
    uv = tmp_path / f"uv-{build_tools.digest('uv')}-{SERIES}" / "bin" / "uv"
    assert commands[-1][:3] == [str(uv), "pip", "install"]
    assert "--require-hashes" in commands[-1] and ":all:" in commands[-1]
    assert sorted(p.name.split("-")[0] for p in tmp_path.iterdir()) == ["poetry", "uv"]


def test_a_new_python_series_gets_its_own_tool_venv_and_the_old_one_goes(
    tmp_path: Path, commands: list
) -> None:
    """A venv made by python3.11 cannot run once python3 is 3.12: it is made again."""
    tools, bin_dir = tmp_path / "tools", tmp_path / "bin"
    tools.mkdir(), bin_dir.mkdir()
    (bin_dir / "python3").symlink_to("python3.11")
    old = build_tools.ensure("poetry", tools, GID, str(bin_dir / "python3"))
    (bin_dir / "python3").unlink()
    (bin_dir / "python3").symlink_to("python3.12")
    new = build_tools.ensure("poetry", tools, GID, str(bin_dir / "python3"))
    assert old[0].endswith("-python3.11/bin/python") and new[0].endswith("-python3.12/bin/python")
    assert sorted(p.name.rsplit("-", 1)[1] for p in tools.iterdir()) == ["python3.12", "python3.12"]


def test_a_failed_install_leaves_nothing_and_says_which_tool(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(build_tools.ownership, "ensure_dir", lambda *args: None)

    def run(what: str, argv, **kwargs) -> str:
        Path(argv[-1]).mkdir(exist_ok=True)
        raise CommandFailed(what, "ERROR: Could not find a version that satisfies the requirement uv==0.13.9")

    monkeypatch.setattr(build_tools, "run", run)
    with pytest.raises(build_tools.ToolError, match=r"cannot install uv==\S+: ERROR: Could not find"):
        build_tools.ensure("uv", tmp_path, GID, "/usr/bin/python3")
    assert list(tmp_path.iterdir()) == []
