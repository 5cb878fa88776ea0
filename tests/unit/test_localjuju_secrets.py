"""localjuju's Juju secrets: the secret hook tools (arguments, output, owner and consumer
rules), what the agent keeps of a hook's changes and the hooks that follow (secret-changed,
secret-remove, secret-rotate), the operator's verbs, ``type: secret`` options, and the
data_interfaces provider's secrets (PostgreSQL's ``secret-user``)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from localjuju import (
    cli,
    configuring,
    deploying,
    juju_secrets,
    provider_secrets,
    servers_postgresql,
    user_secrets,
)
from localjuju.agent import Agent
from localjuju.machine import jujuc, secret_tools
from localjuju.model import Model

CONSUMED = "secret:cu0k9a5m0v1s2k3e4b5g"
# what data_interfaces' DatabaseRequires sends as requested-secrets
REQUESTED = ["username", "password", "tls", "tls-ca", "uris", "read-only-uris"]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def context(unit: str = "pg/0", leader: bool = True) -> dict[str, Any]:
    """A hook context of ``unit``: one relation (``database:5``, to wsgi-app) and one secret
    the unit's application consumes (owned by ``vault``, revisions 1 and 2)."""
    return {
        "unit": unit,
        "app": unit.split("/")[0],
        "leader": leader,
        "relations": {
            "database:5": {
                "endpoint": "database",
                "scope": "relation-wsgi-app.database#pg.database",
                "remote_app": "wsgi-app",
                "units": ["wsgi-app/0"],
                "data": {},
            }
        },
        "secrets": {
            CONSUMED: {
                "owner": "vault",
                "label": "vault-label",
                "revisions": {"1": {"token": b64("one")}, "2": {"token": b64("two")}},
                "latest": 2,
                "grants": {"pg": "7"},
                "consumers": {},
            }
        },
    }


class Hook:
    """The secret tools run in-process over one context, as the tool server runs them."""

    def __init__(self, ctx: dict[str, Any], files: dict[str, str] | None = None):
        self.context = ctx
        self.files = files or {}

    def __call__(self, tool: str, *args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        call = jujuc.Call({}, out, err, lambda path: self.files[path])
        code = jujuc.run(tool, list(args), self.context, call)
        return code, out.getvalue(), err.getvalue()


def test_secret_add_keeps_the_content_as_juju_does_and_prints_the_uri() -> None:
    hook = Hook(context(), {"/tmp/cert": "-----BEGIN-----\n"})
    code, out, _ = hook(
        "secret-add", "password=s3cret==", "cert#file=/tmp/cert", "raw#base64=AA==", "--label", "db"
    )
    assert code == 0 and secret_tools.SECRET_URI.fullmatch(out.strip())
    secret = hook.context["secrets"][out.strip()]
    assert secret["owner"] == "pg" and secret["label"] == "db" and secret["latest"] == 1
    assert secret["revisions"]["1"] == {
        "password": b64("s3cret=="),
        "cert": b64("-----BEGIN-----\n"),
        "raw": "AA==",
    }


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["Bad_Key=x"], 2, 'key "Bad_Key" not valid'),
        (["ab=x"], 2, 'key "ab" not valid'),  # three characters at least
        (["no-value"], 2, 'key value "no-value" not valid'),
        ([], 2, "missing secret value or filename"),
        (["token=x", "--owner", "model"], 2, 'secret owner "model" not valid'),
        (["token=x", "--rotate", "sometimes"], 2, 'rotate policy "sometimes" not valid'),
        (["token=x", "--label", "vault-label"], 0, ""),  # a consumer's label is not the owner's
    ],
)
def test_secret_add_refuses_what_juju_refuses(args: list[str], code: int, message: str) -> None:
    result = Hook(context())("secret-add", *args)
    assert result[0] == code and message in result[2]


def test_only_the_leader_manages_the_applications_secrets_any_unit_its_own() -> None:
    hook = Hook(context("pg/1", leader=False))
    code, _, err = hook("secret-add", "token=x")
    assert code == 1 and "not the leader" in err
    code, out, _ = hook("secret-add", "token=x", "--owner", "unit", "--label", "mine")
    assert code == 0 and hook.context["secrets"][out.strip()]["owner"] == "pg/1"
    assert hook("secret-set", out.strip(), "token=y")[0] == 0
    assert hook("secret-add", "token=z", "--owner", "unit", "--label", "mine")[2].endswith(
        'secret with label "mine" already exists\n'
    )


def test_secret_set_makes_a_revision_only_when_the_content_changes() -> None:
    hook = Hook(context())
    uri = hook("secret-add", "token=one")[1].strip()
    hook("secret-set", uri, "token=one", "--description", "the API token")
    assert hook.context["secrets"][uri]["latest"] == 1
    hook("secret-set", uri, "token=two", "--expire", "2h", "--rotate", "daily")
    secret = hook.context["secrets"][uri]
    assert secret["latest"] == 2 and secret["description"] == "the API token" and secret["rotate"] == "daily"
    assert secret["expire"].endswith("Z")
    assert hook("secret-set", CONSUMED, "token=mine")[2] == "ERROR permission denied\n"  # not the owner


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("2030-01-02T03:04:05", "2030-01-02T03:04:05Z"),
        ("2030-01-02T03:04:05.123456+01:00", "2030-01-02T02:04:05Z"),  # as ops sends it
        ("2030-01-02T03:04:05Z", "2030-01-02T03:04:05Z"),
    ],
)
def test_expire_takes_rfc_3339_times(spec: str, expected: str) -> None:
    assert secret_tools.expiry(spec) == expected


def test_the_owner_reads_the_latest_a_consumer_what_it_tracks() -> None:
    hook = Hook(context())
    uri = hook("secret-add", "token=one", "--label", "own")[1].strip()
    hook("secret-set", uri, "token=two")
    assert hook("secret-get", uri, "token") == (0, "two\n", "")
    assert hook("secret-get", "--label", "own", "token")[1] == "two\n"
    consumed = hook.context["secrets"][CONSUMED]
    consumed["consumers"]["pg/0"] = {"revision": 1}
    assert yaml.safe_load(hook("secret-get", CONSUMED)[1]) == {"token": "one"}
    assert json.loads(hook("secret-get", CONSUMED, "--peek", "--format", "json")[1]) == {"token": "two"}
    assert hook("secret-get", CONSUMED, "token", "--label", "api")[1] == "one\n"  # peek moved nothing
    assert hook("secret-get", "--label", "api", "token", "--refresh")[1] == "two\n"
    assert consumed["consumers"]["pg/0"] == {"revision": 2, "label": "api"}
    assert hook("secret-get", "--label", "vault-label")[0] == 1  # the owner's label is its own
    hook.context["other_secrets"] = ["secret:00000000000000000001"]
    assert hook("secret-get", "secret:00000000000000000001")[2] == "ERROR permission denied\n"
    assert hook("secret-get", "secret:00000000000000000002")[2].endswith("not found\n")


def test_a_first_read_tracks_the_latest_revision_even_a_peek() -> None:
    """Juju's getConsumedRevision: no consumer record yet means one is made at the latest."""
    hook = Hook(context("pg/1", leader=False))
    assert hook("secret-get", CONSUMED, "token", "--peek")[1] == "two\n"
    assert hook.context["secrets"][CONSUMED]["consumers"]["pg/1"] == {"revision": 2}
    assert hook("secret-get", CONSUMED, "token")[1] == "two\n"


def test_owners_track_a_revision_as_consumers_do() -> None:
    """Juju 3.1.7 on (juju/juju#16598): an owner reads the revision it tracks; --peek and
    --refresh read the latest, as for any consumer."""
    hook = Hook(context())
    uri = hook("secret-add", "token=one", "--label", "own")[1].strip()
    assert hook("secret-get", uri, "token")[1] == "one\n"
    hook("secret-set", uri, "token=two")
    assert hook("secret-get", "--label", "own", "token")[1] == "one\n"
    assert hook("secret-get", uri, "token", "--peek")[1] == "two\n"
    assert hook("secret-get", uri, "token")[1] == "one\n"
    assert hook("secret-get", uri, "token", "--refresh")[1] == "two\n"
    assert hook.context["secrets"][uri]["consumers"]["pg/0"] == {"revision": 2}


def test_the_owning_applications_units_hear_of_a_new_revision_they_have_read() -> None:
    model = owner_and_consumer()
    uri = model.data["test_uri"]
    commit_hook(model, "pg/1", False, ["secret-get", uri])  # a peer reads the application's secret
    commit_hook(model, "pg/0", True, ["secret-set", uri, "token=two"])
    events = juju_secrets.follow_ups(model)
    assert {"unit": "pg/1", "hook": "secret-changed", "secret_id": uri} in events
    assert juju_secrets.hook_label(model, uri, "pg/1") == "creds"  # the owner's label
    assert not any(e["hook"] == "secret-remove" for e in events)  # pg/1 still tracks revision 1


def test_grants_go_with_a_relation_and_show_in_secret_info_get() -> None:
    hook = Hook(context())
    uri = hook("secret-add", "token=x", "--label", "creds", "--description", "for the app")[1].strip()
    assert hook("secret-grant", uri)[0] == 2  # no relation: a usage error
    assert hook("secret-grant", uri, "-r", "database:5", "--unit", "other/0")[0] == 2
    assert hook("secret-grant", uri, "--relation", "5") == (0, "", "")
    assert hook.context["secrets"][uri]["grants"] == {"wsgi-app": "5"}
    info = yaml.safe_load(hook("secret-info-get", "--label", "creds")[1])
    assert info == {
        uri.removeprefix("secret:"): {
            "revision": 1,
            "label": "creds",
            "owner": "application",
            "description": "for the app",
            "access": [
                {
                    "target": "application-wsgi-app",
                    "scope": "relation-wsgi-app.database#pg.database",
                    "role": "view",
                }
            ],
        }
    }
    assert hook("secret-revoke", uri, "-r", "database:5")[0] == 0
    assert hook.context["secrets"][uri]["grants"] == {}
    assert hook("secret-info-get", CONSUMED)[0] == 1  # a consumer sees no metadata
    assert hook("secret-info-get", uri, "--label", "creds")[0] == 2


def test_secret_ids_lists_the_owned_ids_and_secret_remove_drops_revisions() -> None:
    hook = Hook(context())
    uri = hook("secret-add", "token=one")[1].strip()
    hook("secret-set", uri, "token=two")
    assert hook("secret-ids")[1] == uri.removeprefix("secret:") + "\n"
    assert hook("secret-remove", uri, "--revision", "1")[0] == 0
    assert set(hook.context["secrets"][uri]["revisions"]) == {"2"}
    assert hook("secret-remove", uri, "--revision", "1")[0] == 1
    assert hook("secret-remove", CONSUMED)[0] == 1  # not ours
    assert hook("secret-remove", uri)[0] == 0 and uri not in hook.context["secrets"]


def test_a_failed_secret_tool_changes_nothing() -> None:
    hook = Hook(context())
    before = json.dumps(hook.context["secrets"], sort_keys=True)
    hook("secret-set", CONSUMED, "token=x")
    assert json.dumps(hook.context["secrets"], sort_keys=True) == before


# -- the agent's side: commit and follow-up hooks ---------------------------------------------


def owner_and_consumer() -> Model:
    """pg (pg/0 leads, pg/1) owning a secret that wsgi-app/0 and /1 consume at revision 1."""
    model = Model.empty("unit-test")
    for app, leader in (("pg", "pg/0"), ("wsgi-app", "wsgi-app/0")):
        model.applications[app] = {"kind": "charm", "leader": leader, "endpoints": {}}
    for unit in ("pg/0", "pg/1", "wsgi-app/0", "wsgi-app/1"):
        model.units[unit] = {"app": unit.split("/")[0], "machine": "0", "agent": "idle", "status": {}}
    uri = juju_secrets.create(model, "pg", {"token": b64("one")}, label="creds", grants={"wsgi-app": "5"})
    juju_secrets.store(model)[uri]["consumers"] = {
        "wsgi-app/0": {"revision": 1},
        "wsgi-app/1": {"revision": 1},
    }
    model.data["test_uri"] = uri
    return model


def commit_hook(model: Model, unit: str, leader: bool, *tool_calls: list[str]) -> None:
    before = juju_secrets.visible(model, unit)
    ctx = {**context(unit, leader), "secrets": json.loads(json.dumps(before))}
    for call in tool_calls:
        Hook(ctx)(call[0], *call[1:])
    juju_secrets.commit(model, unit, leader, before, ctx["secrets"])


def test_a_new_revision_tells_each_consumer_once_and_an_untracked_one_tells_the_owner() -> None:
    model = owner_and_consumer()
    uri = model.data["test_uri"]
    commit_hook(model, "pg/1", False, ["secret-set", uri, "token=nope"])  # not the leader: not kept
    assert juju_secrets.store(model)[uri]["latest"] == 1
    commit_hook(model, "pg/0", True, ["secret-set", uri, "token=two"])
    events = juju_secrets.follow_ups(model)
    assert events == [
        {"unit": "wsgi-app/0", "hook": "secret-changed", "secret_id": uri},
        {"unit": "wsgi-app/1", "hook": "secret-changed", "secret_id": uri},
    ]
    assert juju_secrets.follow_ups(model) == []  # told once
    commit_hook(model, "wsgi-app/0", False, ["secret-get", uri, "--refresh", "--label", "db"])
    assert juju_secrets.follow_ups(model) == []  # wsgi-app/1 still tracks revision 1
    commit_hook(model, "wsgi-app/1", True, ["secret-get", uri, "--refresh"])
    assert juju_secrets.follow_ups(model) == [
        {"unit": "pg/0", "hook": "secret-remove", "secret_id": uri, "secret_revision": "1"}
    ]
    assert juju_secrets.hook_label(model, uri, "wsgi-app/0") == "db"
    assert juju_secrets.hook_label(model, uri, "pg/0") == "creds"


def test_hooks_commit_new_secrets_removals_and_the_units_tracking() -> None:
    model = owner_and_consumer()
    uri = model.data["test_uri"]
    commit_hook(model, "pg/0", True, ["secret-add", "api-key=k", "--owner", "unit"], ["secret-remove", uri])
    owners = [s["owner"] for s in juju_secrets.store(model).values()]
    assert owners == ["pg/0"]
    juju_secrets.forget_unit(model, "pg/0")
    assert juju_secrets.store(model) == {}  # a unit's secrets go with it


def test_the_next_hook_shows_the_revisions_a_hook_made() -> None:
    model = owner_and_consumer()
    uri = model.data["test_uri"]
    commit_hook(model, "pg/0", True, ["secret-set", uri, "token=two"])
    before = juju_secrets.visible(model, "pg/0")
    ctx = {**context("pg/0", True), "secrets": json.loads(json.dumps(before))}
    new = Hook(ctx)("secret-add", "api-key=k")[1].strip()
    Hook(ctx)("secret-set", new, "api-key=l")  # made and changed in one hook
    juju_secrets.commit(model, "pg/0", True, before, ctx["secrets"])
    for shown in (uri, new):
        ctx = {**context("pg/0", True), "secrets": juju_secrets.visible(model, "pg/0")}
        info = yaml.safe_load(Hook(ctx)("secret-info-get", shown)[1])
        assert info[shown.removeprefix("secret:")]["revision"] == 2, shown


def test_relation_removal_and_revocation_take_access_away() -> None:
    model = owner_and_consumer()
    uri = model.data["test_uri"]
    assert uri in juju_secrets.visible(model, "wsgi-app/1")
    juju_secrets.drop_relation(model, "5")
    assert juju_secrets.visible(model, "wsgi-app/1") == {}
    assert juju_secrets.store(model)[uri]["consumers"] == {}


def test_rotation_and_expiry_fire_on_the_owners_leader_when_due() -> None:
    model = owner_and_consumer()
    uri = model.data["test_uri"]
    secret = juju_secrets.store(model)[uri]
    secret.update({"rotate": "hourly", "expire": "1970-01-01T00:10:00Z", "updated": 1000.0})
    assert juju_secrets.due(model, 1000.0 + 60) == [
        {"unit": "pg/0", "hook": "secret-expired", "secret_id": uri, "secret_revision": "1"}
    ]
    assert juju_secrets.due(model, 1000.0 + 3600) == [
        {"unit": "pg/0", "hook": "secret-rotate", "secret_id": uri}
    ]
    assert juju_secrets.due(model, 1000.0 + 3700) == []  # the next rotation is an hour on


def test_the_secret_hooks_environment() -> None:
    model = owner_and_consumer()
    uri = model.data["test_uri"]
    env = Agent(model).secret_env("pg/0", {"secret_id": uri, "secret_revision": "1"})
    assert env == {"JUJU_SECRET_ID": uri, "JUJU_SECRET_LABEL": "creds", "JUJU_SECRET_REVISION": "1"}
    assert Agent(model).secret_env("pg/0", {}) == {}


# -- the operator's verbs and options ---------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOCALJUJU_HOME", str(tmp_path / "home"))
    model = Model.empty("m")
    model.applications["wsgi-app"] = {"kind": "charm", "leader": None, "endpoints": {}}
    model.save()
    return tmp_path


def test_the_operators_secret_from_add_to_show(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "key").write_text("-----BEGIN KEY-----\n")
    uri = user_secrets.add_secret(
        "deploy", ["token=s3cret", "deploy-key#file=" + str(home / "key")], "keys", "m"
    )
    assert secret_tools.SECRET_URI.fullmatch(uri)
    with pytest.raises(SystemExit, match='secret with name "deploy" already exists'):
        user_secrets.add_secret("deploy", ["token=x"], model_name="m")
    with pytest.raises(SystemExit, match='key "Token" not valid'):
        user_secrets.add_secret("other", ["Token=x"], model_name="m")
    user_secrets.grant_secret("deploy", "wsgi-app", "m")
    with pytest.raises(SystemExit, match='application "nope" not found'):
        user_secrets.grant_secret(uri, "nope", "m")
    user_secrets.update_secret(uri.removeprefix("secret:"), ["token=rotated"], model_name="m")
    [row] = user_secrets.list_secrets("m")
    assert (row["name"], row["owner"], row["revision"]) == ("deploy", "<model>", "2")
    assert cli.main(["-m", "m", "show-secret", "deploy"]) == 0
    hidden = capsys.readouterr().out
    assert "rotated" not in hidden and "s3cret" not in hidden
    assert yaml.safe_load(hidden)[uri.removeprefix("secret:")]["access"] == [
        {"target": "application-wsgi-app", "role": "view"}
    ]
    assert cli.main(["-m", "m", "show-secret", uri, "--reveal", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)[uri.removeprefix("secret:")]
    assert shown["content"] == {"token": "rotated"}  # a new revision replaces the whole content
    assert cli.main(["-m", "m", "secrets"]) == 0
    listing = capsys.readouterr().out
    assert "deploy" in listing and "rotated" not in listing
    user_secrets.revoke_secret("deploy", "wsgi-app", "m")
    assert juju_secrets.store(Model.load("m"))[uri]["grants"] == {}
    assert cli.main(["-m", "m", "remove-secret", "deploy", "--revision", "1"]) == 0
    assert set(juju_secrets.store(Model.load("m"))[uri]["revisions"]) == {"2"}
    assert cli.main(["-m", "m", "remove-secret", uri]) == 0
    assert juju_secrets.store(Model.load("m")) == {}


def test_add_secret_reads_a_yaml_file_of_keys(home: Path) -> None:
    (home / "content.yaml").write_text("token: s3cret\nkey#base64: AA==\n")
    uri = user_secrets.add_secret("from-file", ["extra=x"], model_name="m", file=str(home / "content.yaml"))
    stored = juju_secrets.store(Model.load("m"))[uri]["revisions"]["1"]
    assert stored == {"token": b64("s3cret"), "key": "AA==", "extra": b64("x")}
    with pytest.raises(SystemExit, match="missing secret value"):
        user_secrets.add_secret("empty", [], model_name="m")


def test_an_option_of_type_secret_takes_a_secret_uri_only() -> None:
    assert configuring.typed("secret:cu0k9a5m0v1s2k3e4b5g", "secret") == "secret:cu0k9a5m0v1s2k3e4b5g"
    assert configuring.typed("", "secret") == ""  # unset
    with pytest.raises(SystemExit, match="is not a secret URI"):
        configuring.typed("hunter2", "secret")


def test_deploy_refuses_a_secret_option_that_names_no_secret(home: Path) -> None:
    charm = home / "charm"
    charm.mkdir()
    (charm / "metadata.yaml").write_text("name: my-charm\n")
    (charm / "config.yaml").write_text("options:\n  deploy_key: {type: secret}\n")
    with pytest.raises(SystemExit, match="is not a secret URI"):
        deploying.deploy(charm, "", {"deploy_key": "-----BEGIN KEY-----"}, 1, "m")
    assert "my-charm" not in Model.load("m").applications


# -- the data_interfaces provider's secrets --------------------------------------------------------


def test_the_requested_credentials_go_into_secret_user_and_a_rotation_is_a_revision() -> None:
    model = owner_and_consumer()
    agent = Agent(model)
    request = {"database": "app", "requested-secrets": json.dumps(REQUESTED)}
    data = {"database": "app", "endpoints": "10.0.0.2:5433", "username": "relation-5", "password": "one"}
    data.update({"uris": "postgresql://relation-5:one@10.0.0.2:5433/app", "version": "15.8", "tls": "False"})
    shown = provider_secrets.hide(
        agent, "pg", "wsgi-app", "5", "database", data, provider_secrets.requested(request)
    )
    assert set(shown) == {"database", "endpoints", "version", "secret-user", "secret-tls"}
    user = juju_secrets.store(model)[shown["secret-user"]]
    assert user["label"] == "database.5.user.secret" and user["grants"] == {"wsgi-app": "5"}
    assert secret_tools.decode(user["revisions"]["1"]) == {
        "username": "relation-5",
        "password": "one",
        "uris": "postgresql://relation-5:one@10.0.0.2:5433/app",
    }
    user["consumers"] = {"wsgi-app/0": {"revision": 1}}
    again = provider_secrets.hide(
        agent, "pg", "wsgi-app", "5", "database", {**data, "password": "two"}, ["password"]
    )
    assert again["secret-user"] == shown["secret-user"] and user["latest"] == 2
    assert {"unit": "wsgi-app/0", "hook": "secret-changed", "secret_id": shown["secret-user"]} in model.queue
    plain = provider_secrets.hide(
        agent, "pg", "wsgi-app", "5", "database", data, provider_secrets.requested({})
    )
    assert plain == data  # no requested-secrets: plain values, as the charm sends them


def test_rotate_password_renews_the_database_users_and_republishes() -> None:
    model = Model.empty("unit-test")
    model.applications["postgresql"] = {
        "kind": "server:postgresql",
        "leader": "postgresql/0",
        "endpoints": {},
    }
    model.applications["wsgi-app"] = {"kind": "charm", "leader": "wsgi-app/0", "endpoints": {}}
    for unit in ("postgresql/0", "postgresql/1", "wsgi-app/0"):
        model.units[unit] = {"app": unit.split("/")[0], "machine": "0", "agent": "idle", "status": {}}
    for rid, endpoint in (("4", "db"), ("5", "database")):
        model.relations[rid] = {
            "apps": {"postgresql": endpoint, "wsgi-app": endpoint},
            "data": {},
            "seen": {},
        }
    model.applications["postgresql"]["server"] = {
        "served": {"4": {"database": "a"}, "5": {"database": "b"}},
        "passwords": {"relation-4": "old4", "relation-5": "old5"},
        "withheld": [],
    }
    users = servers_postgresql.rotate_passwords(Agent(model), "postgresql")
    passwords = model.applications["postgresql"]["server"]["passwords"]
    assert users == ["relation-5"] and passwords["relation-4"] == "old4"  # only the database endpoint's users
    assert passwords["relation-5"] not in ("", "old5")
    assert {(e["unit"], e["hook"]) for e in model.queue} == {
        ("postgresql/0", "config-changed"),
        ("postgresql/1", "config-changed"),
    }


def test_secret_info_get_prints_the_next_rotation_as_a_time_ops_parses() -> None:
    """Juju's ``rotates`` is a *time.Time: RFC 3339 in JSON (ops' SecretInfo parses it)."""
    hook = Hook(context())
    uri = hook("secret-add", "token=x", "--rotate", "daily")[1].strip()
    hook.context["secrets"][uri]["next_rotate"] = 86400.0 + 90  # as juju_secrets.due sets it
    info = json.loads(hook("secret-info-get", uri, "--format", "json")[1])
    assert info[uri.removeprefix("secret:")]["rotates"] == "1970-01-02T00:01:30Z"
    assert info[uri.removeprefix("secret:")]["rotation"] == "daily"


def test_secret_info_get_shows_the_revision_the_hook_started_with() -> None:
    """Juju reads a secret's metadata when the hook starts: a revision the hook itself made
    shows from the next hook on (a charm announcing ``revision + 1`` after a set is right)."""
    hook = Hook(context())
    uri = hook("secret-add", "token=x")[1].strip()
    hook("secret-set", uri, "token=y")
    hook("secret-set", uri, "token=z")
    assert yaml.safe_load(hook("secret-info-get", uri)[1])[uri.removeprefix("secret:")]["revision"] == 1
    assert hook.context["secrets"][uri]["latest"] == 3


def test_secret_ids_and_info_show_the_applications_secrets_to_the_leader_only() -> None:
    leader = Hook(context())
    uri = leader("secret-add", "token=x", "--label", "app-key")[1].strip()
    peer = Hook({**context("pg/1", leader=False), "secrets": leader.context["secrets"]})
    mine = peer("secret-add", "token=y", "--owner", "unit")[1].strip()
    assert peer("secret-ids")[1] == mine.removeprefix("secret:") + "\n"
    assert peer("secret-info-get", uri)[0] == 1
    assert peer("secret-info-get", "--label", "app-key")[0] == 1
    assert peer("secret-get", "--label", "app-key", "token")[1] == "x\n"  # reading is allowed
    assert uri.removeprefix("secret:") in leader("secret-ids")[1]


def test_a_label_names_one_secret_whether_owned_or_consumed() -> None:
    """Juju 3's uniqueSecretOwnerLabelOps/uniqueSecretConsumerLabelOps: a unit's owner and
    consumer labels share one namespace."""
    ctx = context()
    other = "secret:cu0k9a5m0v1s2k3e4b5h"
    ctx["secrets"][other] = {**ctx["secrets"][CONSUMED], "consumers": {}}
    hook = Hook(ctx)
    assert hook("secret-get", CONSUMED, "--label", "api")[0] == 0
    assert hook("secret-get", CONSUMED, "--label", "api")[0] == 0  # the same secret again
    assert hook("secret-get", other, "--label", "api")[2] == 'ERROR secret with label "api" already exists\n'
    assert hook("secret-add", "token=x", "--label", "api")[0] == 1
    uri = hook("secret-add", "token=x", "--label", "own")[1].strip()
    assert hook("secret-get", other, "--label", "own")[0] == 1
    assert hook("secret-set", uri, "--label", "api")[0] == 1
    assert hook("secret-get", "--label", "api", "token")[1] == "two\n"


def test_reading_a_removed_revision_is_an_error_not_a_crash() -> None:
    hook = Hook(context())
    consumed = hook.context["secrets"][CONSUMED]
    consumed["consumers"]["pg/0"] = {"revision": 1}
    del consumed["revisions"]["1"]  # the owner's secret-remove --revision 1
    assert hook("secret-get", CONSUMED) == (1, "", f'ERROR secret revision "{CONSUMED}/1" not found\n')
    assert hook("secret-get", CONSUMED, "--refresh")[1] == "token: two\n"


def test_a_secret_file_holds_strings_only_and_aliases_cannot_blow_it_up() -> None:
    """Juju unmarshals --file into a map of strings: a list or a map is refused, so YAML
    aliases nested a few levels deep (a billion laughs) are never turned into text."""
    with pytest.raises(ValueError, match='value of key "hosts" is not a string'):
        secret_tools.content_from_file("hosts: [a, b]\n")
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    hook = Hook(context(), {"laughs.yaml": laughs + "token: *i\n"})
    assert hook("secret-add", "--file", "laughs.yaml")[0] == 2
    assert secret_tools.content_from_file("api-key: 123\n") == {"api-key": b64("123")}


def test_a_consumer_never_gets_the_owners_label_in_its_hooks() -> None:
    """The owner's label is the owner's: a consumer's JUJU_SECRET_LABEL is its own (or none)."""
    model = owner_and_consumer()
    uri = model.data["test_uri"]
    commit_hook(model, "pg/0", True, ["secret-set", uri, "token=two"])
    assert juju_secrets.hook_label(model, uri, "wsgi-app/1") == ""
    env = Agent(model).secret_env("wsgi-app/1", {"secret_id": uri})
    assert env == {"JUJU_SECRET_ID": uri, "JUJU_SECRET_LABEL": ""}
    assert juju_secrets.hook_label(model, uri, "pg/1") == "creds"
