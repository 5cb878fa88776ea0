"""Redis and RabbitMQ through their relations: a Flask app that uses redis-py and kombu with
nothing but the settings the relations give (REDIS_URL, AMQP_URL), related to Debian's
redis-server (with a password, as the machine redis charm sets one) and rabbitmq-server
(a user and vhost created for the application, as the rabbitmq-server charm does).

The machine sits on the model's own network (``--isolated``: 10.231.0.x, no way out), the
servers in its server namespace (10.231.0.2); every request comes from the unit's machine.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from urllib.parse import quote

import pytest
from localmodel import APP, LocalModel

from bench.machine import isolated_wheels
from localjuju.driver import ShareRepo

BROKERS_APP = """\
import os

import redis
from flask import Flask, request
from kombu import Connection

app = Flask(__name__)


@app.route("/")
def index():
    return "brokers\\n"


@app.route("/redis", methods=["POST"])
def redis_round_trip():
    client = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=10)
    client.ping()
    client.set("note", request.get_data())
    return client.get("note")


@app.route("/amqp", methods=["POST"])
def amqp_round_trip():
    with Connection(os.environ["AMQP_URL"], connect_timeout=10) as connection:
        queue = connection.SimpleQueue("notes")
        queue.put(request.get_data().decode())
        message = queue.get(block=True, timeout=10)
        message.ack()
        queue.close()
        return message.payload
"""
REQUIREMENTS = ("flask>=2.2", "redis>=4.5", "kombu>=5.3")
# the wheels are gathered on the host; the machine's Python (3.11.2) also needs what
# redis-py asks only of Pythons before 3.11.3
WHEELS = (*REQUIREMENTS, "async-timeout>=4.0.3")
HTTP_POST = (
    "import sys, urllib.request, urllib.error\n"
    "req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method='POST')\n"
    "try:\n"
    "    answer = urllib.request.urlopen(req, timeout=40)\n"
    "except urllib.error.HTTPError as error:\n"
    "    answer = error\n"
    "print(answer.status, answer.read().decode(errors='replace'))\n"
)
UNIT = f"{APP}/0"
REDIS_PASSWORD = "r3d1s/" + secrets.token_hex(12)  # a "/" to be percent-encoded in REDIS_URL


@pytest.fixture(scope="module")
def brokers(model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory) -> LocalModel:
    wheels = [arg for requirement in WHEELS for arg in ("--wheel", requirement)]
    model.deploy(charm, "--isolated", *isolated_wheels(), *wheels)
    model.cli("deploy", "redis", "--isolated", "--config", f"password={REDIS_PASSWORD}")
    model.cli("deploy", "rabbitmq-server", "--isolated")
    repo = ShareRepo(model.machine_share(UNIT), "brokers", tmp_path_factory.mktemp("work"))
    repo.commit(
        {"app.py": BROKERS_APP, "requirements.txt": "".join(f"{r}\n" for r in REQUIREMENTS)}, "brokers"
    )
    model.config(app_repo=repo.url)
    model.cli("relate", f"{APP}:redis", "redis:db")
    model.cli("relate", f"{APP}:amqp", "rabbitmq-server:amqp")
    info = model.unit(UNIT)
    assert info["workload-status"] == "active" and "brokers (" in info["message"], info  # the app serves
    return model


def post(model: LocalModel, path: str, body: str) -> tuple[int, str]:
    url = f"http://{model.unit(UNIT)['address']}:8080{path}"
    out = model.cli("exec", UNIT, "--", "python3", "-c", HTTP_POST, url, body).stdout
    status, _, text = out.partition(" ")
    return int(status), text.removesuffix("\n")


def server_port(model: LocalModel, app: str) -> int:
    return int(model.record()["units"][f"{app}/0"]["server"]["port"])


def relation_id(model: LocalModel, endpoint: str) -> str:
    return next(rel["id"] for rel in model.status()["relations"] if endpoint in rel["endpoints"])


def test_the_settings_name_both_brokers_and_redis_is_celerys(brokers: LocalModel) -> None:
    info = brokers.unit(UNIT)
    assert info["workload-status"] == "active", info
    settings = brokers.settings()
    redis_port = server_port(brokers, "redis")
    assert settings["REDIS_URL"] == f"redis://:{quote(REDIS_PASSWORD, safe='')}@10.231.0.2:{redis_port}/0"
    assert (settings["REDIS_HOST"], settings["REDIS_PORT"]) == ("10.231.0.2", str(redis_port))
    assert settings["REDIS_PASSWORD"] == REDIS_PASSWORD
    password = brokers.record()["applications"]["rabbitmq-server"]["server"]["passwords"][APP]
    amqp_port = server_port(brokers, "rabbitmq-server")
    assert settings["AMQP_URL"] == f"amqp://{APP}:{password}@10.231.0.2:{amqp_port}/{APP}"
    assert settings["CELERY_BROKER_URL"] == settings["REDIS_URL"]


def test_the_app_talks_to_redis_and_rabbitmq(brokers: LocalModel) -> None:
    note = f"through redis: {secrets.token_hex(8)}"
    assert post(brokers, "/redis", note) == (200, note)
    message = f"through rabbitmq: {secrets.token_hex(8)}"
    assert post(brokers, "/amqp", message) == (200, message)


def test_passwords_are_redacted_from_show_settings(brokers: LocalModel) -> None:
    settings = brokers.settings()
    amqp_password = settings["AMQP_URL"].split(":")[2].split("@")[0]
    shown = brokers.action("show-settings")
    assert shown["status"] == "completed", shown
    listing = shown["results"]["settings"]
    assert "REDIS_PASSWORD=<redacted>" in listing and "REDIS_URL=redis://:<redacted>@" in listing
    assert f"AMQP_URL=amqp://{APP}:<redacted>@" in listing
    for secret in (REDIS_PASSWORD, quote(REDIS_PASSWORD, safe=""), amqp_password):
        assert secret not in json.dumps(shown)
        assert secret not in json.dumps(brokers.status())
        assert secret not in brokers.cli("debug-log", "--replay").stdout


def test_hostile_redis_data_blocks_and_the_site_keeps_its_settings(brokers: LocalModel) -> None:
    rid = relation_id(brokers, "redis:db")
    original = brokers.record()["relations"][rid]["data"]["redis/0"]
    before = brokers.sh(f"cat /etc/{APP}/settings.env")
    brokers.cli("set-relation-data", rid, "redis/0", "port=6379\nREDIS_URL=redis://evil")
    info = brokers.unit(UNIT)
    assert info["agent-status"] == "idle" and info["workload-status"] == "blocked", info
    assert info["message"].startswith("unusable redis relation data (redis/0 skipped: port"), info
    assert brokers.sh(f"cat /etc/{APP}/settings.env") == before
    brokers.cli("set-relation-data", rid, "redis/0", f"port={original['port']}")
    assert brokers.unit(UNIT)["workload-status"] == "active"
    assert "Traceback" not in brokers.debug_log(UNIT)


def test_without_redis_celery_uses_rabbitmq(brokers: LocalModel) -> None:
    brokers.cli("remove-relation", f"{APP}:redis", "redis:db")
    settings = brokers.settings()
    assert "REDIS_URL" not in settings and "REDIS_PASSWORD" not in settings
    assert settings["CELERY_BROKER_URL"] == settings["AMQP_URL"]
