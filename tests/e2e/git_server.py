"""A throwaway git server over ssh for the deploy key tests: the host's sshd with host keys
made here, whose only authorised key may run git-shell, serving one bare repository of a
dependency-free app. It listens on loopback (test_private_repo) or, started inside a
model's server namespace, on the model's own network (test_secrets).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from localjuju.driver import git

APP_PY = """\
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"private app\\n"]
"""


@dataclass
class GitServer:
    url: str
    key: Path  # the deploy key (its .pub is the one authorised)
    known_hosts: str
    wrong_known_hosts: str


def keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().split()[1]


@contextmanager
def serve_git(
    base: Path, address: str = "127.0.0.1", port: int = 2222, netns: str = ""
) -> Iterator[GitServer]:
    """sshd on ``address``:``port`` (inside the network namespace ``netns``, if given)
    serving ``private.git`` from ``base``; stopped on exit."""
    host_key = keygen(base / "host_key")
    other_host_key = keygen(base / "other_host_key")
    keygen(base / "deploy_key")
    public = (base / "deploy_key.pub").read_text().strip()
    (base / "authorized_keys").write_text(
        f'restrict,command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"" {public}\n'
    )
    (base / "sshd_config").write_text(
        f"Port {port}\nListenAddress {address}\nHostKey {base / 'host_key'}\n"
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
    inside = ["ip", "netns", "exec", netns] if netns else []  # exec: the process is sshd itself
    server = subprocess.Popen([*inside, "/usr/sbin/sshd", "-D", "-e", "-f", str(base / "sshd_config")])
    time.sleep(1)
    assert server.poll() is None, "sshd did not start"
    host = f"[{address}]:{port}"
    try:
        yield GitServer(
            url=f"ssh://root@{address}:{port}{base / 'private.git'}",
            key=base / "deploy_key",
            known_hosts=f"{host} ssh-ed25519 {host_key}",
            wrong_known_hosts=f"{host} ssh-ed25519 {other_host_key}",
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
