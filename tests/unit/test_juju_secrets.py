"""The hook tools of Juju secrets as the charm calls them: no content on a command line
or in an error, and what a unit read kept so that an unchanged secret costs no call."""

from __future__ import annotations

import stat

import pytest
from fake_secrets import FakeSecrets

from charms.layer.wsgi_app import juju_secrets
from charms.layer.wsgi_app.juju_secrets import SecretError

XID = "d3q1v5hmp25c7e2rlktg"
VALUE = "a-value-that-must-not-leak"


@pytest.fixture
def juju(monkeypatch, tmp_path) -> FakeSecrets:
    fake = FakeSecrets(owner=False)
    monkeypatch.setattr(juju_secrets.subprocess, "run", fake.run)
    monkeypatch.setattr(juju_secrets, "cache_path", lambda: tmp_path / ".wsgi-app-secrets.json")
    return fake


def test_content_goes_through_root_only_files_never_the_command_line(juju: FakeSecrets) -> None:
    uri = juju_secrets.add({"secret-key": VALUE}, "wsgi-app-secret-key", "the key")
    assert juju.files_seen == [VALUE]
    assert all(VALUE not in arg for call in juju.calls for arg in call)
    [call] = juju.calls
    assert call[:5] == ["secret-add", "--label", "wsgi-app-secret-key", "--description", "the key"]
    assert call[5].startswith("secret-key#file=/")
    assert not any(juju_secrets.Path(c.partition("=")[2]).exists() for c in call[5:])  # removed
    juju_secrets.update(uri, {"secret-key": VALUE + "2"})
    assert juju.secrets[juju_secrets.xid(uri)]["revisions"][2] == {"secret-key": VALUE + "2"}


def test_errors_carry_the_tools_complaint_and_no_content(juju: FakeSecrets) -> None:
    with pytest.raises(SecretError, match=f'secret-get: secret "{XID}" not found'):
        juju_secrets.get(f"secret:{XID}")
    with pytest.raises(SecretError, match="not a Juju secret URI"):
        juju_secrets.get("--peek")  # never handed to secret-get as an option
    assert juju.calls == [["secret-get", f"secret:{XID}", "--format=json"]]


def test_an_unchanged_secret_is_read_once(juju: FakeSecrets) -> None:
    uri = juju.add(XID, {"token": VALUE})
    assert juju_secrets.read(uri) == {"token": VALUE}
    assert juju_secrets.read(uri) == {"token": VALUE}
    assert juju.calls == [["secret-get", uri, "--format=json", "--refresh"]]
    cache = juju_secrets.cache_path()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600


def test_a_new_token_or_a_fresh_read_follows_the_latest_revision(juju: FakeSecrets) -> None:
    uri = juju.add(XID, {"token": "one"})
    assert juju_secrets.read(uri, token="1") == {"token": "one"}
    juju.new_revision(XID, {"token": "two"})
    assert juju_secrets.read(uri, token="1") == {"token": "one"}  # nothing said it changed
    assert juju_secrets.read(uri, token="2") == {"token": "two"}  # the leader announced it
    juju.new_revision(XID, {"token": "three"})
    assert juju_secrets.read(uri, token="2", fresh=True) == {"token": "three"}  # secret-changed
    assert len(juju.calls) == 3


def test_an_owner_refused_refresh_reads_plainly(juju: FakeSecrets) -> None:
    juju.owner, juju.owner_refuses_refresh = True, True
    uri = juju.add(XID, {"token": VALUE})
    assert juju_secrets.get_latest(uri) == {"token": VALUE}
    assert [call[-1] for call in juju.calls] == ["--refresh", "--format=json"]


def test_what_no_option_names_any_more_is_forgotten(juju: FakeSecrets) -> None:
    kept, dropped = juju.add(XID, {"a": "1"}), juju.add("d3q1v5hmp25c7e2rlkuh", {"b": "gone-value"})
    juju_secrets.read(kept)
    juju_secrets.read(dropped)
    juju_secrets.forget_others({kept})
    assert juju_secrets.cached(kept, "") == {"a": "1"} and juju_secrets.cached(dropped, None) is None
    assert "gone-value" not in juju_secrets.cache_path().read_text()


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        (f"secret:{XID}", XID, True),
        (f"secret://6f1c2e34-aaaa-bbbb-cccc-1234567890ab/{XID}", f"secret:{XID}", True),
        (f"secret:{XID}", "secret:d3q1v5hmp25c7e2rlkuh", False),
        ("", "", False),
    ],
)
def test_a_secret_is_the_same_whatever_its_spelling(first, second, same) -> None:
    assert juju_secrets.same(first, second) is same
