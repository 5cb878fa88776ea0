"""SECRET_KEY's secret through the leader's and the other units' hooks: created (or moved
from leader settings unchanged), read once per announced revision, rotated, its old
revisions removed, and leader settings kept on a Juju without secrets."""

from __future__ import annotations

import pytest
from fake_secrets import FakeSecrets

from charms.layer.wsgi_app import juju_secrets, secret_key, unit
from charms.layer.wsgi_app.config import ConfigError
from charms.layer.wsgi_app.errors import DeployError
from charms.layer.wsgi_app.state import Machine

LEGACY = "the-key-main-s-charm-made-and-the-sessions-use"
KNOWN_HOSTS = "git.example.org ssh-ed25519 AAAAC3Nz"
DEPLOY_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
)


class Unit:
    """One unit's hook: leadership, leader settings (shared), the secret tools, the log."""

    def __init__(self, monkeypatch, tmp_path, settings: dict[str, str], fake: FakeSecrets, leader: bool):
        self.settings, self.fake, self.logged = settings, fake, []
        fake.end_hook()  # a new hook: what the last one set is committed
        unit.hookenv.cache.clear()
        monkeypatch.setattr(unit.hookenv, "is_leader", lambda: leader)
        monkeypatch.setattr(unit.hookenv, "leader_get", lambda: dict(settings))
        monkeypatch.setattr(unit.hookenv, "leader_set", self.leader_set)
        monkeypatch.setattr(unit.hookenv, "log", lambda message, level=None: self.logged.append(message))
        monkeypatch.setattr(unit.hookenv, "hook_name", lambda: "config-changed")
        monkeypatch.setattr(juju_secrets, "available", lambda: True)
        monkeypatch.setattr(juju_secrets.subprocess, "run", fake.run)
        monkeypatch.setattr(juju_secrets, "cache_path", lambda: tmp_path / ".wsgi-app-secrets.json")
        self.leader = leader

    def leader_set(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            if value:
                self.settings[key] = value
            else:
                self.settings.pop(key, None)

    def key(self) -> str | None:
        return secret_key.current(unit.leader_settings())


@pytest.fixture(params=["juju-3.1.7+", "juju-3.1.6"])
def fake(request) -> FakeSecrets:
    """The leader's hook tools: from Juju 3.1.7 an owner tracks a revision as a consumer
    does; before, it always read the latest and was refused --refresh."""
    return FakeSecrets(owner=True, owner_refuses_refresh=request.param == "juju-3.1.6")


def test_the_leader_moves_a_leader_settings_key_into_the_secret_unchanged(monkeypatch, tmp_path, fake):
    settings = {"secret_key": LEGACY}
    leader = Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.ensure_secret_key()
    assert "secret_key" not in settings and settings["secret_key_revision"] == "1"
    [(xid, secret)] = fake.secrets.items()
    assert settings["secret_key_uri"] == f"secret:{xid}" and secret["label"] == "wsgi-app-secret-key"
    assert secret["revisions"] == {1: {"secret-key": LEGACY}}
    assert leader.key() == LEGACY
    assert leader.logged == [
        f"moved SECRET_KEY from leader settings into the application secret secret:{xid} (revision 1)"
    ]
    assert all(LEGACY not in arg for call in fake.calls for arg in call)


def test_a_new_application_gets_a_generated_key_in_a_secret(monkeypatch, tmp_path, fake):
    settings: dict[str, str] = {}
    leader = Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.ensure_secret_key()
    key = leader.key()
    assert key and len(key) >= 50 and settings["secret_key_revision"] == "1"
    assert leader.logged[0].startswith("generated SECRET_KEY into the application secret")


def test_a_secret_a_failed_hook_left_is_found_by_its_label(monkeypatch, tmp_path, fake):
    fake.add("d3q1v5hmp25c7e2rlktg", {"secret-key": "half-made"}, label="wsgi-app-secret-key")
    settings = {"secret_key": LEGACY}
    leader = Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.ensure_secret_key()
    assert (
        settings["secret_key_uri"] == "secret:d3q1v5hmp25c7e2rlktg" and settings["secret_key_revision"] == "2"
    )
    assert leader.key() == LEGACY


def test_a_left_secret_holding_the_same_key_is_announced_at_its_revision(monkeypatch, tmp_path, fake):
    """The leader moved the key into a secret but could not announce it (it lost leadership):
    the next leader finds it holding that very key, where secret-set would make no revision,
    and announces the revision there is."""
    fake.add("d3q1v5hmp25c7e2rlktg", {"secret-key": LEGACY}, label="wsgi-app-secret-key")
    settings = {"secret_key": LEGACY}
    leader = Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.ensure_secret_key()
    assert settings["secret_key_revision"] == "1" and leader.key() == LEGACY
    assert "secret-set" not in [call[0] for call in fake.calls]


def test_on_juju_without_secrets_the_key_stays_in_leader_settings(monkeypatch, tmp_path, fake):
    settings = {"secret_key": LEGACY}
    leader = Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    monkeypatch.setattr(juju_secrets, "available", lambda: False)
    monkeypatch.setattr(unit.hookenv, "hook_name", lambda: "upgrade-charm")
    unit.ensure_secret_key()
    assert settings == {"secret_key": LEGACY} and leader.key() == LEGACY and fake.calls == []
    assert leader.logged == ["this Juju has no secrets (no secret-add): SECRET_KEY stays in leader settings"]
    unit.rotate_secret_key()
    assert settings["secret_key"] != LEGACY


def test_idle_hooks_call_no_secret_tool(monkeypatch, tmp_path, fake):
    settings: dict[str, str] = {}
    Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.ensure_secret_key()
    follower = Unit(
        monkeypatch, tmp_path / "other", settings, FakeSecrets(owner=False, secrets=fake.secrets), False
    )
    (tmp_path / "other").mkdir()
    first = follower.key()
    assert len(follower.fake.calls) == 1 and follower.fake.calls[0][-1] == "--refresh"
    for _ in range(3):  # update-status, config-changed...: leader settings say nothing new
        unit.hookenv.cache.clear()
        unit.ensure_secret_key()
        assert follower.key() == first
    assert len(follower.fake.calls) == 1


def test_rotation_reaches_the_other_units_and_the_untracked_revision_goes(monkeypatch, tmp_path, fake):
    settings: dict[str, str] = {}
    leader = Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.ensure_secret_key()
    uri, old = settings["secret_key_uri"], leader.key()
    unit.rotate_secret_key()
    assert settings["secret_key_revision"] == "2"
    new = leader.key()
    assert new and new != old
    (tmp_path / "other").mkdir()
    follower = Unit(
        monkeypatch, tmp_path / "other", settings, FakeSecrets(owner=False, secrets=fake.secrets), False
    )
    assert follower.key() == new
    # secret-remove on the leader: revision 1 is tracked by no one; revision 2 is announced
    leader = Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    monkeypatch.setenv("JUJU_SECRET_ID", uri)
    for revision in ("2", "1"):
        monkeypatch.setenv("JUJU_SECRET_REVISION", revision)
        unit.remove_secret_revision()
    assert sorted(fake.secrets[juju_secrets.xid(uri)]["revisions"]) == [2]
    monkeypatch.setenv("JUJU_SECRET_ID", "secret:d3q1v5hmp25c7e2rl999")  # not ours: left alone
    unit.remove_secret_revision()
    assert [c[0] for c in fake.calls].count("secret-remove") == 1


def test_only_the_leader_rotates(monkeypatch, tmp_path, fake):
    settings: dict[str, str] = {}
    Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.ensure_secret_key()
    Unit(monkeypatch, tmp_path, settings, fake, leader=False)
    with pytest.raises(DeployError, match="only the leader"):
        unit.rotate_secret_key()
    assert settings["secret_key_revision"] == "1"


def test_an_unreadable_secret_keeps_the_key_last_read(monkeypatch, tmp_path, fake):
    settings: dict[str, str] = {}
    leader = Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.ensure_secret_key()
    key = leader.key()
    settings["secret_key_revision"] = "7"  # announced, but the secret went
    fake.secrets.clear()
    unit.hookenv.cache.clear()  # the next hook
    assert leader.key() == key
    assert leader.logged[-1].startswith("SECRET_KEY: cannot read revision 7 of secret:")


def test_a_user_secret_is_read_once_then_again_only_in_its_secret_changed(monkeypatch, tmp_path, fake):
    """The hook tools an idle hook calls do not grow with environment_secret: its content
    is read again only when Juju says it changed (or after an upgrade of the charm)."""
    settings = {"secret_key": LEGACY}
    consumer = FakeSecrets(owner=False)
    uri = consumer.add("d3q1v5hmp25c7e2rlktg", {"api-token": "one"})
    Unit(monkeypatch, tmp_path, settings, consumer, leader=False)
    monkeypatch.setenv("JUJU_UNIT_NAME", "shop/1")
    monkeypatch.setattr(unit.hookenv, "config", lambda: {"environment_secret": uri})
    monkeypatch.setattr(unit, "machine_facts", lambda: Machine(2, 2**32))
    for _ in range(3):
        assert unit.desired_state().secret_settings == {"API_TOKEN": "one"}
    consumer.new_revision("d3q1v5hmp25c7e2rlktg", {"api-token": "two"})
    assert unit.desired_state().secret_settings == {"API_TOKEN": "one"}  # nothing said it changed
    monkeypatch.setattr(unit.hookenv, "hook_name", lambda: "secret-changed")
    monkeypatch.setenv("JUJU_SECRET_ID", uri)
    assert unit.desired_state().secret_settings == {"API_TOKEN": "two"}
    assert consumer.calls == [["secret-get", uri, "--format=json", "--refresh"]] * 2


def test_a_unit_elected_after_a_rotation_it_has_not_read_reads_the_announced_key(monkeypatch, tmp_path, fake):
    """From Juju 3.1.7 the owner tracks a revision: a follower that read revision 1 and is
    elected before its leader-settings-changed ran still tracks 1, which a plain secret-get
    would give it as the announced revision 2's key, for good."""
    settings: dict[str, str] = {}
    Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.ensure_secret_key()
    (tmp_path / "other").mkdir()
    other = FakeSecrets(owner=False, owner_refuses_refresh=fake.owner_refuses_refresh, secrets=fake.secrets)
    old = Unit(monkeypatch, tmp_path / "other", settings, other, leader=False).key()
    leader = Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.rotate_secret_key()
    new = leader.key()
    assert new != old
    other.owner = True  # the leader went; leader-elected runs on the other unit
    elected = Unit(monkeypatch, tmp_path / "other", settings, other, leader=True)
    assert elected.key() == new
    unit.hookenv.cache.clear()
    assert elected.key() == new  # and what it keeps


def test_the_leader_reads_its_rotated_key_again_after_an_upgrade(monkeypatch, tmp_path, fake):
    """upgrade-charm reads every secret again: a leader that read revision 1 in an earlier
    upgrade still tracks it after rotating (secret-set moves no tracking)."""
    settings: dict[str, str] = {}
    leader = Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.ensure_secret_key()
    first = secret_key.current(unit.leader_settings(), fresh=True)  # an upgrade-charm
    unit.rotate_secret_key()
    rotated = leader.key()
    assert rotated != first
    assert secret_key.current(unit.leader_settings(), fresh=True) == rotated  # the next upgrade


def test_each_rotation_announces_the_revision_it_made_and_the_old_one_goes(monkeypatch, tmp_path, fake):
    """secret-info-get in the hook that ran secret-set still says the revision before (Juju
    commits the new one when the hook ends): the announced revision is the one before
    plus one, so the one replaced is not taken for the announced one at secret-remove."""
    settings: dict[str, str] = {}
    Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.ensure_secret_key()
    uri = settings["secret_key_uri"]
    revisions = fake.secrets[juju_secrets.xid(uri)]["revisions"]
    for expected in (2, 3):
        leader = Unit(monkeypatch, tmp_path, settings, fake, leader=True)
        unit.rotate_secret_key()
        assert settings["secret_key_revision"] == str(expected) == str(max(revisions))
        assert leader.key() == revisions[expected]["secret-key"]
    Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    monkeypatch.setenv("JUJU_SECRET_ID", uri)
    monkeypatch.setenv("JUJU_SECRET_REVISION", "2")  # no unit tracks it any more
    unit.remove_secret_revision()
    assert sorted(revisions) == [1, 3]


@pytest.mark.parametrize("option", ["environment_secret", "deploy_key"])
def test_an_option_naming_secret_keys_own_secret_is_refused_without_reading_it(
    monkeypatch, tmp_path, fake, option
):
    """An option may not name SECRET_KEY's secret: the config is refused naming the option,
    and idle hooks read nothing (a user secret's read would take SECRET_KEY's cache entry,
    and every hook would read both again)."""
    settings: dict[str, str] = {}
    Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.ensure_secret_key()
    uri = settings["secret_key_uri"]
    monkeypatch.setenv("JUJU_UNIT_NAME", "shop/0")
    config = {option: uri, "app_repo": "git@git.example.org:shop.git", "known_hosts": KNOWN_HOSTS}
    monkeypatch.setattr(unit.hookenv, "config", lambda: config)
    monkeypatch.setattr(unit, "machine_facts", lambda: Machine(2, 2**32))
    calls = len(fake.calls)
    for _ in range(3):  # config-changed, update-status...
        unit.hookenv.cache.clear()
        with pytest.raises(ConfigError) as raised:
            unit.desired_state()
        assert raised.value.problems == [(option, f"secret {uri}: it is the charm's own SECRET_KEY secret")]
    assert len(fake.calls) == calls


def test_the_leaders_idle_hooks_call_no_secret_tool(monkeypatch, tmp_path, fake):
    """Once read, SECRET_KEY, environment_secret and deploy_key cost the leader no hook tool
    in update-status or config-changed (every input of the state read, as a hook reads them)."""
    settings: dict[str, str] = {}
    Unit(monkeypatch, tmp_path, settings, fake, leader=True)
    unit.ensure_secret_key()
    env = fake.add("d3q1v5hmp25c7e2rlktg", {"api-token": "one"})
    key = fake.add("d3q1v5hmp25c7e2rlkuh", {"private-key": DEPLOY_KEY})
    config = {
        "environment_secret": env,
        "deploy_key": key,
        "app_repo": "git@git.example.org:shop.git",
        "known_hosts": KNOWN_HOSTS,
    }
    monkeypatch.setenv("JUJU_UNIT_NAME", "shop/0")
    monkeypatch.setattr(unit.hookenv, "config", lambda: config)
    monkeypatch.setattr(unit, "machine_facts", lambda: Machine(2, 2**32))
    first = unit.desired_state()
    assert first.secret_settings == {"API_TOKEN": "one"} and first.config.deploy_key == DEPLOY_KEY
    calls = len(fake.calls)
    for hook in ("update-status", "config-changed", "update-status"):
        monkeypatch.setattr(unit.hookenv, "hook_name", lambda hook=hook: hook)
        unit.hookenv.cache.clear()
        unit.ensure_secret_key()
        assert unit.desired_state() == first
    assert len(fake.calls) == calls
