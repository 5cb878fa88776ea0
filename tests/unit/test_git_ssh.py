"""deploy_key and known_hosts: validation, the files written and the ssh command git gets."""

from __future__ import annotations

import shlex
import stat
from pathlib import Path

import pytest

from charms.layer.wsgi_app import git_ssh
from charms.layer.wsgi_app.config import ConfigError, parse_config
from charms.layer.wsgi_app.ownership import TreeError
from charms.layer.wsgi_app.paths import Paths
from charms.layer.wsgi_app.validate import is_ssh_url, known_hosts, ssh_private_key

KEY = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBi0fAKEm3Z3b2Y2ZrbW9ja2tleWZvcnRlc3RzAAAAAAAAAAAAAAAAAAAA
-----END OPENSSH PRIVATE KEY-----
"""
HOSTS = "git.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGLR8AoSbdndvZjZmtt\n"
SSH_REPO = "git@git.example.org:acme/shop.git"


def test_a_key_is_kept_exactly() -> None:
    assert ssh_private_key(KEY) == KEY
    assert ssh_private_key("") == ""


@pytest.mark.parametrize(
    "bad",
    [
        "not a key",
        KEY.replace("PRIVATE", "PUBLIC"),
        KEY.replace("b3Bl", "b3 Bl"),
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nabc\n-----END RSA PRIVATE KEY-----\n",
    ],
)
def test_bad_keys_are_refused_without_quoting_them(bad: str) -> None:
    with pytest.raises(ValueError) as error:
        ssh_private_key(bad)
    assert "b3Bl" not in str(error.value)


def test_known_hosts_lines() -> None:
    assert known_hosts(HOSTS + "# comment\n\n") == HOSTS
    assert known_hosts("[git.example.org]:2222 ssh-ed25519 AAAA x@y\n").startswith("[git.example.org]:2222")
    for bad in ("host", "host ssh-dss AAAA", "-oProxyCommand=x ssh-rsa AAAA", "h ssh-rsa not$base64"):
        with pytest.raises(ValueError):
            known_hosts(bad)


@pytest.mark.parametrize(
    ("url", "ssh"),
    [
        ("ssh://git@example.org/x.git", True),
        ("git@example.org:x.git", True),
        ("https://example.org/x.git", False),
        ("file:///srv/x.git", False),
    ],
)
def test_is_ssh_url(url: str, ssh: bool) -> None:
    assert is_ssh_url(url) is ssh


def test_key_needs_an_ssh_repo_and_pinned_hosts() -> None:
    with pytest.raises(ConfigError, match="deploy_key"):
        parse_config({"deploy_key": KEY, "known_hosts": HOSTS, "app_repo": "https://example.org/x.git"})
    with pytest.raises(ConfigError, match="known_hosts"):
        parse_config({"deploy_key": KEY, "app_repo": SSH_REPO})
    config = parse_config({"deploy_key": KEY, "known_hosts": HOSTS, "app_repo": SSH_REPO})
    assert KEY.splitlines()[1] not in repr(config)


def _paths(tmp_path: Path) -> Paths:
    paths = Paths.for_app("root", root=tmp_path)  # a name whose group exists: root's
    paths.root.mkdir()
    return paths


def test_files_and_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(git_ssh.system, "install_packages", lambda packages: None)
    paths = _paths(tmp_path)
    config = parse_config({"deploy_key": KEY, "known_hosts": HOSTS, "app_repo": SSH_REPO})
    env = git_ssh.git_ssh_environment(config, paths)
    key_file = paths.ssh_dir / "deploy_key"
    assert key_file.read_text() == KEY
    # root's, readable by the app's group (ssh checks modes only of keys its user owns)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o640 and key_file.stat().st_uid == 0
    assert stat.S_IMODE(paths.ssh_dir.stat().st_mode) == 0o750 and paths.ssh_dir.stat().st_uid == 0
    command = shlex.split(env["GIT_SSH_COMMAND"])
    assert command[:1] == ["ssh"] and "StrictHostKeyChecking=yes" in command and "BatchMode=yes" in command
    assert f"UserKnownHostsFile={paths.ssh_dir / 'known_hosts'}" in command
    assert command[command.index("-i") + 1] == str(key_file)
    # back to https: the key is removed
    assert git_ssh.git_ssh_environment(parse_config({"app_repo": "https://example.org/x.git"}), paths) == {}
    assert not key_file.exists()


def test_an_ssh_dir_swapped_for_a_link_is_refused_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(git_ssh.system, "install_packages", lambda packages: None)
    paths = _paths(tmp_path)
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir(mode=0o755)
    paths.ssh_dir.symlink_to(elsewhere)
    config = parse_config({"deploy_key": KEY, "known_hosts": HOSTS, "app_repo": SSH_REPO})
    with pytest.raises(TreeError, match="not a directory the charm made"):
        git_ssh.git_ssh_environment(config, paths)
    assert list(elsewhere.iterdir()) == [] and stat.S_IMODE(elsewhere.stat().st_mode) == 0o755
