"""localjuju's s3-integrator (servers_s3): what each track publishes for a client's request,
and track 2's credentials moved into a Juju secret. The object store itself is a STAND-IN
(moto's server mode, localjuju/s3_standin.py), exercised by tests/e2e/test_s3.py."""

from __future__ import annotations

import json

import pytest

from localjuju import provider_secrets, servers_s3
from localjuju.agent import Agent
from localjuju.machine.secret_tools import decode
from localjuju.model import Model

ENDPOINT = "http://127.0.0.1:7480"
KEYS = {"access-key": "AKIASTANDIN", "secret-key": "c2VjcmV0/+key"}
OUR_REQUEST = {"bucket": "wsgi-app", "requested-secrets": '["access-key", "secret-key"]'}


def test_track_1_answers_once_a_bucket_is_asked_for_with_plain_keys() -> None:
    assert servers_s3.track_1({}, {}, ENDPOINT, KEYS) == ({}, "")
    data, bucket = servers_s3.track_1(OUR_REQUEST, {"region": "us-east-1"}, ENDPOINT, KEYS)
    assert bucket == "wsgi-app"
    assert data == {
        **KEYS,
        "bucket": "wsgi-app",
        "endpoint": ENDPOINT,
        "region": "us-east-1",
        "data": json.dumps(OUR_REQUEST),
    }


def test_the_integrators_bucket_wins_and_lists_are_json() -> None:
    config = {"bucket": "shared", "attributes": "a:1,b:2", "path": "media"}
    data, bucket = servers_s3.track_1(OUR_REQUEST, config, ENDPOINT, KEYS)
    assert bucket == data["bucket"] == "shared"
    assert data["attributes"] == '["a:1", "b:2"]' and data["path"] == "media"


def test_track_2_publishes_the_requested_bucket_only_to_a_client_that_asked_for_secrets() -> None:
    assert servers_s3.track_2({}, {}, ENDPOINT, KEYS) == ({"lib-version": "1.0"}, "")  # not asked yet
    data, bucket = servers_s3.track_2(OUR_REQUEST, {}, ENDPOINT, KEYS)
    assert bucket == data["bucket"] == "wsgi-app" and data["lib-version"] == "1.0"
    data, bucket = servers_s3.track_2({"bucket": "relation-4"}, {}, ENDPOINT, KEYS)  # a v0 client
    assert bucket == "" and "bucket" not in data and data["access-key"] == KEYS["access-key"]
    with pytest.raises(ValueError, match="invalid bucket name"):
        servers_s3.track_2({**OUR_REQUEST, "bucket": "Bad_Name"}, {}, ENDPOINT, KEYS)


def test_track_2_moves_the_requested_fields_into_a_secret_granted_to_the_client() -> None:
    model = Model("s3-unit", {"applications": {"s3-integrator": {}}, "relations": {}, "units": {}})
    agent = Agent(model)
    data, _ = servers_s3.track_2(OUR_REQUEST, {}, ENDPOINT, KEYS)
    fields = provider_secrets.requested(OUR_REQUEST)
    shown = provider_secrets.hide(
        agent, "s3-integrator", "wsgi-app", "3", "s3-credentials", dict(data), fields
    )
    assert "access-key" not in shown and "secret-key" not in shown
    uri = shown["secret-extra"]
    secret = model.data["secrets"][uri]
    assert secret["grants"] == {"wsgi-app": "3"} and decode(secret["revisions"]["1"]) == KEYS
    assert secret["label"] == "s3-credentials.3.extra.secret"  # data_interfaces' label
    again = provider_secrets.hide(
        agent, "s3-integrator", "wsgi-app", "3", "s3-credentials", dict(data), fields
    )
    assert again["secret-extra"] == uri and len(secret["revisions"]) == 1  # unchanged: no revision
    rotated = {**data, "secret-key": "new"}
    provider_secrets.hide(agent, "s3-integrator", "wsgi-app", "3", "s3-credentials", rotated, fields)
    assert decode(secret["revisions"]["2"]) == {**KEYS, "secret-key": "new"}


def test_a_client_without_requested_secrets_gets_plain_keys() -> None:
    assert provider_secrets.requested({"bucket": "x"}) == []
    assert provider_secrets.requested({"requested-secrets": "not json"}) == []
