"""Juju secrets end to end, on two units of the charm on the model's own network (10.231.0.x,
``--isolated``) with PostgreSQL in the server namespace (10.231.0.2):

- units deployed with the charm from before SECRET_KEY's secret (it kept the key in leader
  settings) keep their key when upgraded to this one, which moves it into an application
  secret;
- the ``database`` relation's credentials come in a ``secret-user`` secret and serve the
  demo's database check; a password PostgreSQL rotates reaches the app as a reload, with
  no failed request under load;
- ``rotate-secret-key`` gives both units the new key, and the old revision goes, from
  the first leader and from the other unit once elected;
- a user secret granted to the application becomes settings (``environment_secret``) and
  a deploy key (``deploy_key=secret:...``) cloning a private repository over ssh;
- no secret value shows in status, the debug log, the config or a file the app can read
  other than its settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from git_server import GitServer, serve_git
from localmodel import APP, ROOT, LocalModel, SteadyLoad, leader, netns_get, unit_names

from bench.machine import isolated_wheels

SERVERS = "10.231.0.2"
SECRET_KEY_LABEL = "wsgi-app-secret-key"
SECRET_KEY_MODULE = "lib/charms/layer/wsgi_app/secret_key.py"
STRIPE = "sk_live_" + hashlib.sha256(os.urandom(16)).hexdigest()[:24]


def leader_settings_commit() -> str:
    """The last commit whose charm keeps SECRET_KEY in leader settings: the parent of the
    one that added secret_key.py (found in the history, which a clone of main has whole)."""
    log = ["git", "-C", str(ROOT), "log", "--diff-filter=A", "--format=%H", "--", SECRET_KEY_MODULE]
    added = subprocess.run(log, capture_output=True, text=True, check=True).stdout.split()
    if not added:
        pytest.fail(f"no commit adds {SECRET_KEY_MODULE} in this clone's history (a shallow clone?)")
    return f"{added[-1]}^"


def build_main_charm(directory: Path) -> Path:
    """The charm from before SECRET_KEY's secret (it keeps the key in leader settings),
    built from that commit's tree in ``directory``."""
    source = directory / "src"
    source.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", leader_settings_commit()], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
    env = dict(os.environ, CHARM_INTERFACES_DIR=str(source / "interfaces"))
    build = [sys.executable, str(source / "tools" / "build_charm.py"), "--output", str(directory / "build")]
    subprocess.run(build, check=True, env=env, cwd=source, capture_output=True)
    return directory / "build" / APP


@pytest.fixture(scope="module")
def stack(model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory) -> LocalModel:
    old = build_main_charm(tmp_path_factory.mktemp("main-charm"))
    model.cli("deploy", "postgresql", "--isolated")
    model.deploy(old, "-n", "2", "--isolated", *isolated_wheels())
    return model


def address(model: LocalModel, unit: str) -> str:
    return str(model.unit(unit)["address"])


def netns(model: LocalModel) -> str:
    return f"lj-{model.name}-srv"


def health(model: LocalModel, unit: str) -> dict[str, Any]:
    return netns_get(netns(model), f"http://{address(model, unit)}:8080/healthz").json()


def setting_digest(model: LocalModel, unit: str, name: str) -> str:
    """A digest of the unit's setting ``name`` (the value itself never leaves the machine)."""
    value = model.settings(unit).get(name, "")
    assert len(value) >= 8, f"{unit}: {name} has {len(value)} characters"
    return hashlib.sha256(value.encode()).hexdigest()


def leader_data(model: LocalModel) -> dict[str, str]:
    return dict(model.record()["applications"][APP]["leader_data"])


def secret_record(model: LocalModel, uri: str) -> dict[str, Any]:
    return dict(model.record()["secrets"][uri])


def test_an_upgraded_unit_keeps_its_secret_key(stack: LocalModel, charm: Path) -> None:
    names = unit_names(stack)
    assert "secret_key" in leader_data(stack)  # the older charm: SECRET_KEY in leader settings
    before = {unit: setting_digest(stack, unit, "SECRET_KEY") for unit in names}
    assert len(set(before.values())) == 1, before
    stack.cli("upgrade", APP, "--path", str(charm))
    settings = leader_data(stack)
    assert not settings.get("secret_key") and settings["secret_key_revision"] == "1", sorted(settings)
    secret = secret_record(stack, settings["secret_key_uri"])
    assert secret["label"] == SECRET_KEY_LABEL and secret["owner"] == APP, sorted(secret)
    assert {unit: setting_digest(stack, unit, "SECRET_KEY") for unit in names} == before
    for unit in names:
        assert stack.unit(unit)["workload-status"] == "active", stack.unit(unit)


def test_database_credentials_come_in_a_secret_and_serve_the_database_check(stack: LocalModel) -> None:
    stack.cli("relate", f"{APP}:database", "postgresql:database")
    relation = next(r for r in stack.record()["relations"].values() if r["apps"].get(APP) == "database")
    assert "password" in json.loads(relation["data"][APP]["requested-secrets"])
    server = relation["data"]["postgresql"]
    assert server.get("secret-user", "").startswith("secret:") and "password" not in server, sorted(server)
    for unit in unit_names(stack):
        answer = health(stack, unit)
        assert answer["backends"]["database"]["ok"] is True, answer
        assert stack.settings(unit)["PGUSER"].startswith("relation-")


def test_a_rotated_password_is_picked_up_without_a_failed_request(stack: LocalModel) -> None:
    names = unit_names(stack)
    before = {unit: setting_digest(stack, unit, "PGPASSWORD") for unit in names}
    pids = {unit: stack.main_pid(unit) for unit in names}
    loads = [
        SteadyLoad(
            f"http://{address(stack, unit)}:8080/healthz", threads=2, netns=netns(stack), max_seconds=300
        )
        for unit in names
    ]
    with loads[0], loads[1]:
        stack.cli("rotate-password", "postgresql")
    for load in loads:
        assert load.ok > 20 and load.failures == [], (load.ok, load.failures[:5])
    after = {unit: setting_digest(stack, unit, "PGPASSWORD") for unit in names}
    assert len(set(after.values())) == 1 and not set(after.values()) & set(before.values()), (before, after)
    assert {unit: stack.main_pid(unit) for unit in names} == pids  # reloaded, not restarted
    for unit in names:
        assert health(stack, unit)["backends"]["database"]["ok"] is True  # the new workers connect


def rotate_secret_key(model: LocalModel, chief: str, revision: int) -> None:
    """``rotate-secret-key`` on ``chief``: every unit has the same new key, revision
    ``revision`` is announced and the latest, and the one it replaced went (secret-remove)."""
    before = setting_digest(model, chief, "SECRET_KEY")
    uri = leader_data(model)["secret_key_uri"]
    result = model.action("rotate-secret-key", unit=chief)
    assert result["status"] == "completed", result
    digests = {unit: setting_digest(model, unit, "SECRET_KEY") for unit in unit_names(model)}
    assert len(set(digests.values())) == 1 and before not in digests.values(), digests
    secret = secret_record(model, uri)
    assert leader_data(model)["secret_key_revision"] == str(secret["latest"]) == str(revision)
    assert sorted(secret["revisions"]) == [str(revision)], sorted(secret["revisions"])


def test_rotate_secret_key_reaches_both_units_and_the_old_revision_goes(stack: LocalModel) -> None:
    rotate_secret_key(stack, leader(stack), 2)


def test_a_new_leader_rotates_and_every_unit_follows(stack: LocalModel) -> None:
    """Leadership moves to the other unit, which read SECRET_KEY as a follower: an owner
    tracks a revision as a consumer does (Juju 3.1.7 on), so every read of the key, the
    leader's too, asks for the latest; the new leader's rotation reaches both units, its
    own secret-changed included, and the replaced revision goes."""
    chief = next(unit for unit in unit_names(stack) if unit != leader(stack))
    stack.cli("elect", chief)
    assert leader(stack) == chief
    rotate_secret_key(stack, chief, 3)


def test_a_user_secret_becomes_settings_once_granted(stack: LocalModel) -> None:
    names = unit_names(stack)
    uri = stack.add_secret("shop-credentials", {"stripe-api-key": STRIPE, "greeting": "hello secret"})
    stack.config(environment_secret=uri)
    for unit in names:  # not granted yet: blocked, the option named, the site still served
        info = stack.unit(unit)
        assert info["workload-status"] == "blocked" and "environment_secret" in info["message"], info
        assert health(stack, unit)["status"] == "ok"
    stack.grant_secret("shop-credentials")  # Juju runs no hook for a grant: the next one reads it
    for unit in names:
        stack.cli("run-hook", unit, "update-status")
        assert stack.unit(unit)["workload-status"] == "active", stack.unit(unit)
        assert stack.settings(unit)["STRIPE_API_KEY"] == STRIPE
        seen = netns_get(netns(stack), f"http://{address(stack, unit)}:8080/env?STRIPE_API_KEY").json()
        assert seen == {"name": "STRIPE_API_KEY", "set": True, "value": "<redacted>"}, seen
    shown = stack.action("show-settings")["results"]["settings"]
    assert "STRIPE_API_KEY=<redacted>" in shown and "GREETING=<redacted>" in shown, shown
    stack.update_secret("shop-credentials", {"stripe-api-key": STRIPE + "2", "greeting": "hello again"})
    for unit in names:
        assert stack.settings(unit)["GREETING"] == "hello again"


# openssh-client and what it needs beyond the machine image: an isolated machine has no
# Debian mirror, so the host fetches them (apt-get download, the host is bookworm too)
SSH_DEBS = ("openssh-client", "libedit2", "libfido2-1", "libcbor0.8", "libbsd0", "libmd0")
MACHINE_SHARE = "/var/lib/localjuju"  # a machine's share directory, as the machine sees it


def install_ssh_client(model: LocalModel, directory: Path) -> None:
    """Install openssh-client on every unit from .debs the host downloaded (each package the
    machine does not have yet), as the charm would from the archive on a connected machine."""
    subprocess.run(["apt-get", "download", *SSH_DEBS], cwd=directory, check=True, capture_output=True)
    for unit in unit_names(model):
        target = model.machine_share(unit) / "debs"
        target.mkdir(exist_ok=True)
        for deb in directory.glob("*.deb"):
            (target / deb.name).write_bytes(deb.read_bytes())
        model.sh(
            f"cd {MACHINE_SHARE}/debs && for deb in *.deb; do "
            'dpkg -s "$(dpkg-deb -f "$deb" Package)" >/dev/null 2>&1 || echo "$deb"; done '
            "| xargs -r dpkg -i >/dev/null && command -v ssh",
            unit,
        )


@pytest.fixture(scope="module")
def git_server(stack: LocalModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    install_ssh_client(stack, tmp_path_factory.mktemp("debs"))
    with serve_git(tmp_path_factory.mktemp("sshd"), address=SERVERS, netns=netns(stack)) as server:
        yield server


def test_a_user_secret_is_the_deploy_key(stack: LocalModel, git_server: GitServer) -> None:
    uri = stack.add_secret("deploy-key", {"private-key": git_server.key.read_text()})
    stack.grant_secret("deploy-key")
    stack.config(app_repo=git_server.url, known_hosts=git_server.known_hosts, deploy_key=uri)
    for unit in unit_names(stack):
        info = stack.unit(unit)
        assert info["workload-status"] == "active" and info["message"].startswith("serving private ("), info
        assert netns_get(netns(stack), f"http://{address(stack, unit)}:8080/").body == "private app\n"
        listing = stack.sh(f"stat -c '%a %U %G' /srv/{APP}/.ssh /srv/{APP}/.ssh/deploy_key", unit).split("\n")
        assert listing[:2] == [f"750 root {APP}", f"640 root {APP}"], listing


def test_no_secret_value_shows_anywhere(stack: LocalModel, git_server: GitServer) -> None:
    """Status, the debug log, the config, the process listing and every file the app's user
    can read but its settings hold none of the secrets' values."""
    key_line = git_server.key.read_text().splitlines()[1]
    chief = leader(stack)
    values = {
        "stripe": STRIPE,
        "deploy key": key_line,
        "SECRET_KEY": stack.settings(chief)["SECRET_KEY"],
        "PGPASSWORD": stack.settings(chief)["PGPASSWORD"],
    }
    shown = {
        "status": json.dumps(stack.status()),
        "debug-log": stack.cli("debug-log", "--replay").stdout,
        "config": stack.cli("config", APP).stdout,
        "show-settings": str(stack.action("show-settings")),
    }
    for unit in unit_names(stack):
        shown[f"{unit} ps"] = stack.sh("ps -eo args", unit)
    for what, text in shown.items():
        for name, value in values.items():
            assert value not in text, f"{name} shows in {what}"
    grep = "grep -rlsF " + " ".join(f"-e '{value}'" for value in values.values())
    grep += " /etc /srv /var /tmp /run /home /opt; true"
    settings, key = f"/etc/{APP}/settings.env", f"/srv/{APP}/.ssh/deploy_key"
    for unit in unit_names(stack):  # grep as the app's user reads only what that user may read
        holding = set(stack.sh(f"runuser -u {APP} -- {grep}", unit).split())
        # the key is for git's fetches, which run as the app's user
        assert holding == {settings, key}, f"{unit}: files the app user reads: {holding}"
        # the running app, in its sandbox, cannot see the key
        inside = f"nsenter -t {stack.main_pid(unit)} -m -- runuser -u {APP} -- {grep}"
        holding = set(stack.sh(inside, unit).split())
        assert holding <= {settings}, f"{unit}: files the running app reads: {holding}"
