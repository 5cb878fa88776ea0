"""A private app_repo over ssh with deploy_key and pinned known_hosts.

The git server is a throwaway sshd on 127.0.0.1:2222 (host keys made here) whose only
authorised key may run git-shell, serving a bare repository of a dependency-free app.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from localmodel import APP, LocalModel, http_get

from localjuju.driver import git

URL = "http://127.0.0.1:8080"
PORT = 2222
APP_PY = """\
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"private app\\n"]
"""


@dataclass
class GitServer:
    url: str
    key: Path
    known_hosts: str
    wrong_known_hosts: str


def keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().split()[1]


@pytest.fixture(scope="module")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    base = tmp_path_factory.mktemp("sshd")
    host_key = keygen(base / "host_key")
    other_host_key = keygen(base / "other_host_key")
    keygen(base / "deploy_key")
    public = (base / "deploy_key.pub").read_text().strip()
    (base / "authorized_keys").write_text(
        f'restrict,command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"" {public}\n'
    )
    (base / "sshd_config").write_text(
        f"Port {PORT}\nListenAddress 127.0.0.1\nHostKey {base / 'host_key'}\n"
        f"AuthorizedKeysFile {base / 'authorized_keys'}\nPidFile {base / 'sshd.pid'}\n"
        "PermitRootLogin forced-commands-only\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
    )
    work = base / "work"
    work.mkdir()
    git(work, "init", "--quiet", "--initial-branch=main")
    (work / "app.py").write_text(APP_PY)
    (work / "requirements.txt").write_text("")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "private app")
    git(base, "clone", "--quiet", "--bare", str(work), "private.git")
    Path("/run/sshd").mkdir(exist_ok=True)
    server = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(base / "sshd_config")])
    time.sleep(1)
    assert server.poll() is None, "sshd did not start"
    try:
        yield GitServer(
            url=f"ssh://root@127.0.0.1:{PORT}{base / 'private.git'}",
            key=base / "deploy_key",
            known_hosts=f"[127.0.0.1]:{PORT} ssh-ed25519 {host_key}",
            wrong_known_hosts=f"[127.0.0.1]:{PORT} ssh-ed25519 {other_host_key}",
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_without_the_key_the_clone_is_refused(deployed: LocalModel, git_server: GitServer) -> None:
    deployed.config(app_repo=git_server.url, known_hosts=git_server.known_hosts)
    unit = deployed.unit()
    assert unit["workload-status"] == "blocked" and unit["agent-status"] == "idle", unit
    assert "app_repo: cannot fetch" in unit["message"] and "Permission denied" in unit["message"], unit
    assert http_get(f"{URL}/healthz").status == 200  # the demo keeps serving


def test_deploy_key_clones_the_private_repo(deployed: LocalModel, git_server: GitServer) -> None:
    deployed.cli("config", APP, f"deploy_key=@{git_server.key}")
    unit = deployed.unit()
    assert unit["workload-status"] == "active", unit
    assert unit["message"].startswith("serving private ("), unit
    assert http_get(f"{URL}/").body == "private app\n"
    # root's, readable by the app's group: the app user cannot swap the directory for a link
    listing = deployed.sh(f"stat -c '%a %U %G' /srv/{APP}/.ssh /srv/{APP}/.ssh/deploy_key").split("\n")
    assert listing[:2] == [f"750 root {APP}", f"640 root {APP}"], listing
    secret_line = git_server.key.read_text().splitlines()[1]
    assert secret_line not in deployed.cli("debug-log", "--replay").stdout
    assert secret_line not in str(deployed.action("show-settings"))
    assert secret_line not in deployed.sh("ps -eo args")
    # the running app cannot see the key nor the mirror (InaccessiblePaths= of its sandbox)
    pid = deployed.main_pid()
    inside = deployed.sh(
        f"nsenter -t {pid} -m ls -A /srv/{APP} /srv/{APP}/.ssh /srv/{APP}/repo.git 2>&1; true"
    )
    assert "releases" in inside, inside  # nsenter did list the app's tree as the app sees it
    assert "deploy_key" not in inside and "HEAD" not in inside, inside
    assert "deploy_key" in deployed.sh(f"ls -A /srv/{APP}/.ssh")  # the charm's fetches still have it


def test_an_unpinned_host_key_is_refused(deployed: LocalModel, git_server: GitServer) -> None:
    deployed.config(known_hosts=git_server.wrong_known_hosts)
    deployed.cli("run", "wsgi-app/0", "redeploy", check=False)
    unit = deployed.unit()
    assert unit["workload-status"] == "blocked", unit
    assert "Host key verification failed" in unit["message"] or "host key" in unit["message"].lower(), unit
    assert http_get(f"{URL}/").body == "private app\n"  # the release already served stays
