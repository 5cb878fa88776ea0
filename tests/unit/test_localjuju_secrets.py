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

from localjuju import cli, configuring, juju_secrets, provider_secrets, user_secrets
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


def test_a_first_read_tracks_the_latest_revision() -> None:
    hook = Hook(context("pg/1", leader=False))
    assert hook("secret-get", CONSUMED, "token")[1] == "two\n"
    assert hook.context["secrets"][CONSUMED]["consumers"]["pg/1"] == {"revision": 2}


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


def test_an_option_of_type_secret_takes_a_secret_uri_only() -> None:
    assert configuring.typed("secret:cu0k9a5m0v1s2k3e4b5g", "secret") == "secret:cu0k9a5m0v1s2k3e4b5g"
    assert configuring.typed("", "secret") == ""  # unset
    with pytest.raises(SystemExit, match="is not a secret URI"):
        configuring.typed("hunter2", "secret")


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
