"""A private app_repo over ssh with deploy_key and pinned known_hosts.

The git server is a throwaway sshd on 127.0.0.1:2222 (tests/e2e/git_server.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from git_server import GitServer, serve_git
from localmodel import APP, LocalModel, http_get

URL = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    with serve_git(tmp_path_factory.mktemp("sshd")) as server:
        yield server


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
