"""The s3 reader (s3-integrator's application data, hostile values), the settings it gives
the application, their redaction, and the credentials read from a track 2 Juju secret."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from relation_records import ME, S3_SECRET, relation, s3_integrator_app, s3_integrator_v1_app
from test_relation_gather import FakeJuju

from charms.layer.wsgi_app import logs, relations
from charms.layer.wsgi_app.environment import REDACTED, app_settings, redact, storage_settings
from charms.layer.wsgi_app.integrations import Integrations, ObjectStorage
from charms.layer.wsgi_app.relation_data import s3
from charms.layer.wsgi_app.relation_data.combine import RelationProblem, integrations_from
from charms.layer.wsgi_app.relation_data.common import BadData
from charms.layer.wsgi_app.relation_data.pgsql import DatabaseRequest
from charms.layer.wsgi_app.render import render_all
from charms.layer.wsgi_app.settings_file import decode

INTEGRATOR = ("s3-integrator/0", {"ingress-address": "10.0.0.70"})
STORAGE = ObjectStorage(
    access_key="AKIAIOSFODNN7EXAMPLE",
    secret_key=S3_SECRET,
    bucket="wsgi-app",
    endpoint="https://s3.eu-west-1.amazonaws.com",
    region="eu-west-1",
    path="media",
    uri_style="path",
)


def read(app: dict[str, str], rid: str = "s3:9"):
    return s3.read_storage([relation(INTEGRATOR, rid=rid, app=app)])


def test_track_1_answer_in_plain_application_data():
    found, notes = read(s3_integrator_app())
    assert found == STORAGE
    assert [note.message for note in notes] == ["s3:9: attributes, storage-class not passed to the app"]


def test_only_credentials_and_bucket_are_required():
    minimal = {k: s3_integrator_app()[k] for k in ("access-key", "secret-key", "bucket")}
    assert read(minimal)[0] == ObjectStorage("AKIAIOSFODNN7EXAMPLE", S3_SECRET, "wsgi-app")


def test_waits_for_credentials_and_for_a_joined_unit():
    assert read(s3_integrator_app(**{"secret-key": ""}))[0] is None
    assert read(s3_integrator_v1_app())[0] is None  # until the caller merges the secret in
    assert s3.read_storage([relation(rid="s3:9", app=s3_integrator_app())]) == (None, [])


def test_request_names_the_bucket_and_asks_for_a_secret():
    assert s3.request_data("wsgi-app", "s3:9") == {
        "bucket": "wsgi-app",
        "requested-secrets": '["access-key", "secret-key"]',
    }
    assert s3.request_data("ab", "s3:9")["bucket"] == "relation-9"  # too short for S3
    assert s3.request_data("a" * 64, "s3:12")["bucket"] == "relation-12"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://s3.eu-west-1.amazonaws.com", "https://s3.eu-west-1.amazonaws.com"),
        ("http://10.0.0.5:9000/", "http://10.0.0.5:9000"),
        ("https://[fd00::5]:9000", "https://[fd00::5]:9000"),
        ("https://[fd00::5]", "https://[fd00::5]"),
        ("https://storage.example.org/rgw", "https://storage.example.org/rgw"),
        (" http://minio:9000 ", "http://minio:9000"),
    ],
)
def test_endpoint_is_rebuilt_from_its_checked_parts(given, kept):
    assert s3.endpoint(given) == kept


@pytest.mark.parametrize(
    "value",
    [
        "s3.amazonaws.com",  # no scheme
        "ftp://s3.example.org",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://user:pass@s3.example.org",
        "http://s3.example.org?x=1",
        "http://s3.example.org/#frag",
        "http://s3.example.org:0",
        "http://s3.example.org:99999",
        "http://s3.example.org:80x",
        "http://s3.example.org:",
        "http://[fe80::1%25eth0]:9000",
        "http://127.1:9000",
        "http://0x7f000001",
        "http://s3.example.org/a b",
        "http://s3.example.org/../../x",
        "http://[::1",
        "http://",
    ],
)
def test_bad_endpoints_are_refused(value):
    with pytest.raises(BadData, match="endpoint"):
        s3.endpoint(value)


@pytest.mark.parametrize("name", ["abc", "wsgi-app", "my.bucket-2", "a" * 63, "relation-17"])
def test_valid_bucket_names(name):
    assert s3.bucket(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "Upper",
        "under_score",
        "-start",
        "end-",
        "two..dots",
        "dot.-dash",
        "192.168.5.4",
        "xn--bucket",
        "sthree-x",
        "x-s3alias",
        "x--ol-s3",
        "bucket/../other",
        "bucket\nAWS_ACCESS_KEY_ID=evil",
    ],
)
def test_invalid_bucket_names(name):
    with pytest.raises(BadData, match="bucket"):
        s3.bucket(name)


HOSTILE = [
    ("access-key", "AKIA EXAMPLE"),
    ("access-key", "AKIA\nS3_URL=evil"),
    ("secret-key", "x" * 257),
    ("secret-key", "se\x00cret"),
    ("secret-key", "caf\u00e9"),
    ("bucket", "evil\nAWS_STORAGE_BUCKET_NAME=x"),
    ("bucket", "a" * 5000),
    ("endpoint", "http://evil.example\n"),
    ("endpoint", "ws://127.0.0.1:1/"),
    ("endpoint", "\"__import__('os').system('id')\""),
    ("region", "eu-west-1\nX=1"),
    ("region", "$(id)"),
    ("path", "../../etc"),
    ("path", "media\u202e"),
    ("path", "%(x)s`id`"),
    ("s3-uri-style", "sideways"),
]


@pytest.mark.parametrize(("key", "value"), HOSTILE)
def test_hostile_values_raise_naming_the_key_not_the_value(key, value):
    with pytest.raises(BadData) as raised:
        read(s3_integrator_app(**{key: value}))
    message = str(raised.value)
    assert message.startswith("s3:9: ") and key in message
    assert value.strip() not in message and S3_SECRET not in message


@pytest.mark.parametrize(("key", "value"), HOSTILE)
def test_hostile_values_block_the_unit(key, value):
    raw = {"s3": (relation(INTEGRATOR, rid="s3:9", app=s3_integrator_app(**{key: value})),)}
    with pytest.raises(RelationProblem) as raised:
        integrations_from(raw, DatabaseRequest("wsgi-app"), ME)
    assert raised.value.summary.startswith("unusable s3 relation data (s3:9: ")
    assert "s3 integrator's configuration" in raised.value.summary


def test_relation_without_credentials_is_waiting():
    raw = {"s3": (relation(INTEGRATOR, rid="s3:9", app={"lib-version": "1.0"}),)}
    gathered = integrations_from(raw, DatabaseRequest("wsgi-app"), ME)
    assert gathered.integrations.storage is None
    assert gathered.integrations.waiting_for == ("s3 credentials",)


def test_settings_for_boto3_and_django_storages():
    assert storage_settings(STORAGE) == {
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_STORAGE_BUCKET_NAME": "wsgi-app",
        "AWS_S3_ENDPOINT_URL": "https://s3.eu-west-1.amazonaws.com",
        "AWS_ENDPOINT_URL_S3": "https://s3.eu-west-1.amazonaws.com",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_LOCATION": "media",
        "AWS_S3_ADDRESSING_STYLE": "path",
        "S3_URL": (
            "s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI%2FK7MDENG%2BbPxRfiCYEXAMPLEKEY@wsgi-app/media"
            "?endpoint=https%3A%2F%2Fs3.eu-west-1.amazonaws.com&region=eu-west-1&uri_style=path"
        ),
    }
    assert storage_settings(None) == {}
    minimal = storage_settings(ObjectStorage("AK", "SK", "bucket"))
    assert minimal["S3_URL"] == "s3://AK:SK@bucket" and "AWS_S3_ENDPOINT_URL" not in minimal


def test_s3_url_parses_back_to_every_part():
    parts = urlsplit(STORAGE.url())
    assert (unquote(parts.username or ""), unquote(parts.password or "")) == (STORAGE.access_key, S3_SECRET)
    assert (parts.hostname, parts.path) == ("wsgi-app", "/media")
    assert parse_qs(parts.query) == {
        "endpoint": [STORAGE.endpoint],
        "region": ["eu-west-1"],
        "uri_style": ["path"],
    }


def test_secret_is_redacted_wherever_settings_are_shown(demo_state):
    settings = app_settings(replace(demo_state, integrations=Integrations(storage=STORAGE)))
    shown = redact(settings)
    assert shown["AWS_SECRET_ACCESS_KEY"] == REDACTED
    assert shown["S3_URL"].startswith(f"s3://AKIAIOSFODNN7EXAMPLE:{REDACTED}@wsgi-app/media?endpoint=")
    assert shown["AWS_ACCESS_KEY_ID"] == "AKIAIOSFODNN7EXAMPLE"  # an id, as a user name
    assert S3_SECRET not in json.dumps(shown)
    line = f"boto3 said: {settings['S3_URL']} and {S3_SECRET} and {settings['S3_URL'].split('@')[0]}"
    cleaned = logs.redact_text(line, logs.secret_values(settings))
    assert S3_SECRET not in cleaned and "wJalrXUtnFEMI%2FK7" not in cleaned


def test_settings_file_round_trips_the_credentials(demo_state):
    state = replace(demo_state, integrations=Integrations(storage=STORAGE))
    assert decode(render_all(state).settings) == app_settings(state)


def test_track_2_credentials_come_from_the_secret(monkeypatch):
    juju = FakeJuju("s3-relation-changed", "s3:9", "s3-integrator/0")
    juju.data = {"s3:9": {"s3-integrator/0": {}, "s3-integrator": s3_integrator_v1_app()}}
    juju.install(monkeypatch)
    calls = []

    def secret_get(command, **kwargs):
        calls.append(command)
        content = {"access-key": "AKIAIOSFODNN7EXAMPLE", "secret-key": S3_SECRET}
        return subprocess.CompletedProcess(command, 0, stdout=json.dumps(content), stderr="")

    monkeypatch.setattr(relations.subprocess, "run", secret_get)
    found = relations.gather_integrations().storage
    assert found == STORAGE
    assert calls == [["secret-get", "secret:d3q1v5hmp25c7e2rlktg", "--format=json", "--refresh"]]
    assert all(S3_SECRET not in message for _, message in juju.logged)


def test_an_unreadable_secret_is_waiting_and_logged(monkeypatch):
    juju = FakeJuju("update-status")
    juju.data = {"s3:9": {"s3-integrator/0": {}, "s3-integrator": s3_integrator_v1_app()}}
    juju.install(monkeypatch)

    def refused(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, stdout="", stderr="ERROR permission denied\n")

    monkeypatch.setattr(relations.subprocess, "run", refused)
    found = relations.gather_integrations()
    assert found.storage is None and found.waiting_for == ("s3 credentials",)
    logged = ("WARNING", "s3: cannot read the credentials secret of s3:9: secret-get: permission denied")
    assert logged in juju.logged


@pytest.mark.parametrize(
    ("secret_id", "answer"),
    [
        ("--peek", "{}"),  # the provider's value, read as an option of secret-get
        ("secret:d3q1v5hmp25c7e2rlktg --label x", "{}"),
        ("secret:d3q1v5hmp25c7e2rlktg", '["not", "an", "object"]'),
    ],
)
def test_a_bad_secret_id_or_answer_is_waiting_and_logged(monkeypatch, secret_id, answer):
    juju = FakeJuju("update-status")
    juju.data = {
        "s3:9": {"s3-integrator/0": {}, "s3-integrator": s3_integrator_v1_app(**{"secret-extra": secret_id})}
    }
    juju.install(monkeypatch)
    calls = []

    def secret_get(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, stdout=answer, stderr="")

    monkeypatch.setattr(relations.subprocess, "run", secret_get)
    found = relations.gather_integrations()
    assert found.storage is None and found.waiting_for == ("s3 credentials",)
    assert all(command[1] == "secret:d3q1v5hmp25c7e2rlktg" for command in calls)
    assert [level for level, _ in juju.logged].count("WARNING") == 1


class FakeEndpoint:
    """The s3 Endpoint as publish() uses it: its relations, and what was asked on each."""

    def __init__(self, *relation_ids: str):
        self.relations = [type("Relation", (), {"relation_id": rid})() for rid in relation_ids]
        self.asked: list[tuple[str, dict[str, str]]] = []

    def request(self, relation, values):
        self.asked.append((relation.relation_id, values))


@pytest.mark.parametrize("leader", [True, False])
def test_the_leader_asks_every_s3_relation_for_the_bucket(monkeypatch, leader):
    import charms.reactive

    juju = FakeJuju("s3-relation-joined", "s3:9", "s3-integrator/0")
    juju.install(monkeypatch)
    endpoints = {"s3": FakeEndpoint("s3:9")}
    monkeypatch.setattr(charms.reactive, "endpoint_from_name", lambda name: endpoints.get(name))
    monkeypatch.setattr(relations.leadership, "is_leader", lambda: leader)
    relations.publish()
    expected = [("s3:9", s3.request_data("wsgi-app", "s3:9"))] if leader else []
    assert endpoints["s3"].asked == expected
