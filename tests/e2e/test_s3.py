"""Uploads shared across units through the s3 relation: two units of a Flask app that uses
boto3 with nothing but the settings the relation gives, related to s3-integrator.

The object store is a STAND-IN: moto's server mode (PyPI ``moto[server]``, run by
localjuju/s3_standin.py), since no real S3 service may be reached from here. It hands
out an IAM key of its own and checks every request's signature against it.

The machines sit on the model's own network (``--isolated``: 10.231.0.x, no way out), the
stand-in in its server namespace (10.231.0.2); every request comes from a unit's machine.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from localmodel import APP, LocalModel

from bench.machine import isolated_wheels
from localjuju.driver import ShareRepo

S3_APP = """\
import os
import re

import boto3
from botocore.exceptions import ClientError
from flask import Flask, abort, request

app = Flask(__name__)
NAME = re.compile(r"[A-Za-z0-9._-]{1,100}\\Z")


def bucket():
    # boto3 reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment itself
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["AWS_S3_ENDPOINT_URL"],
        region_name=os.environ.get("AWS_DEFAULT_REGION"),
    )
    return s3, os.environ["AWS_STORAGE_BUCKET_NAME"]


@app.route("/")
def index():
    return "uploads\\n"


@app.route("/files/<name>", methods=["POST"])
def upload(name):
    if not NAME.match(name):
        abort(400)
    s3, where = bucket()
    s3.put_object(Bucket=where, Key=name, Body=request.get_data())
    return {"stored": name, "unit": os.environ["APP_UNIT"]}


@app.route("/files/<name>")
def download(name):
    if not NAME.match(name):
        abort(400)
    s3, where = bucket()
    try:
        return s3.get_object(Bucket=where, Key=name)["Body"].read()
    except ClientError as error:
        abort(404 if error.response["Error"]["Code"] == "NoSuchKey" else 502)
"""
REQUIREMENTS = ("flask>=2.2", "boto3>=1.28")
# run on a unit's machine: METHOD URL [BODY]; prints the status and the body
HTTP = (
    "import sys, urllib.request, urllib.error\n"
    "body = sys.argv[3].encode() if len(sys.argv) > 3 else None\n"
    "req = urllib.request.Request(sys.argv[2], data=body, method=sys.argv[1])\n"
    "try:\n"
    "    answer = urllib.request.urlopen(req, timeout=20)\n"
    "except urllib.error.HTTPError as error:\n"
    "    answer = error\n"
    "print(answer.status, answer.read().decode(errors='replace'))\n"
)
UNITS = (f"{APP}/0", f"{APP}/1")
SECRET_FILE = "s3-secret"  # in the machine's share: root-only, removed after each search


@pytest.fixture(scope="module")
def uploads(model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory) -> LocalModel:
    wheels = [arg for requirement in REQUIREMENTS for arg in ("--wheel", requirement)]
    model.deploy(charm, "-n", "2", "--isolated", *isolated_wheels(), *wheels)
    model.cli("deploy", "s3-integrator", "--isolated", "--config", "region=us-east-1")
    repo = ShareRepo(model.machine_share(UNITS[0]), "uploads", tmp_path_factory.mktemp("work"))
    repo.commit({"app.py": S3_APP, "requirements.txt": "".join(f"{r}\n" for r in REQUIREMENTS)}, "uploads")
    copy = model.machine_share(UNITS[1]) / "repos" / "uploads.git"
    subprocess.run(["git", "clone", "--quiet", "--mirror", str(repo.bare), str(copy)], check=True)
    model.config(app_repo=repo.url)
    model.cli("relate", f"{APP}:s3", "s3-integrator:s3-credentials")
    return model


def address(model: LocalModel, unit: str) -> str:
    return str(model.unit(unit)["address"])


def http(model: LocalModel, from_unit: str, method: str, url: str, body: str = "") -> tuple[int, str]:
    """``method`` ``url`` sent from ``from_unit``'s machine: the status and the body."""
    args = [method, url, *([body] if body else [])]
    out = model.cli("exec", from_unit, "--", "python3", "-c", HTTP, *args).stdout
    status, _, text = out.partition(" ")
    return int(status), text.removesuffix("\n")


def relation_id(model: LocalModel, endpoint: str) -> str:
    return next(rel["id"] for rel in model.status()["relations"] if endpoint in rel["endpoints"])


def standin_endpoint(model: LocalModel, app: str) -> str:
    """The URL the stand-in of ``app``'s first unit listens on (the server namespace's address)."""
    return f"http://10.231.0.2:{model.record()['units'][f'{app}/0']['server']['port']}"


def test_both_units_get_the_bucket_from_the_integrator(uploads: LocalModel) -> None:
    for unit in UNITS:
        info = uploads.unit(unit)
        assert info["workload-status"] == "active", info
    first, second = (uploads.settings(unit) for unit in UNITS)
    # one bucket, one key, every unit; what names the unit itself (its name, its own
    # address among the allowed hosts) is each unit's own
    own = ("APP_UNIT", "ALLOWED_HOSTS", "DJANGO_ALLOWED_HOSTS")
    shared = [{key: value for key, value in each.items() if key not in own} for each in (first, second)]
    assert shared[0] == shared[1]
    assert all(first[key] for key in own) and first.keys() == second.keys()
    assert first["AWS_STORAGE_BUCKET_NAME"] == APP  # the bucket the leader asked for
    endpoint = standin_endpoint(uploads, "s3-integrator")
    assert first["AWS_S3_ENDPOINT_URL"] == first["AWS_ENDPOINT_URL_S3"] == endpoint
    assert first["AWS_DEFAULT_REGION"] == "us-east-1"
    assert first["S3_URL"].startswith(f"s3://{first['AWS_ACCESS_KEY_ID']}:")
    assert first["S3_URL"].endswith(f"@{APP}?endpoint={quote(endpoint, safe='')}&region=us-east-1")


def test_a_file_uploaded_through_one_unit_is_read_through_the_other(uploads: LocalModel) -> None:
    payload = f"uploaded through unit 0: {secrets.token_hex(8)}"
    status, body = http(
        uploads, UNITS[1], "POST", f"http://{address(uploads, UNITS[0])}:8080/files/note.txt", payload
    )
    assert status == 200 and json.loads(body) == {"stored": "note.txt", "unit": UNITS[0]}, body
    status, body = http(uploads, UNITS[0], "GET", f"http://{address(uploads, UNITS[1])}:8080/files/note.txt")
    assert (status, body) == (200, payload)
    status, _ = http(uploads, UNITS[0], "GET", f"http://{address(uploads, UNITS[1])}:8080/files/missing.txt")
    assert status == 404  # the app really asks the store, which checks the key's signature


def search(model: LocalModel, unit: str, command: str) -> str:
    """Run ``command`` (reading the secret as a fixed string from ``$SECRET``, a root-only
    file) on the unit's machine; the secret itself never reaches a command line."""
    share = model.machine_share(unit)
    secret = model.settings(unit)["AWS_SECRET_ACCESS_KEY"]
    path = share / SECRET_FILE
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    try:
        return model.sh(f"SECRET=/var/lib/localjuju/{SECRET_FILE}; {command}", unit)
    finally:
        path.unlink()


def test_the_secret_stays_out_of_files_processes_and_logs(uploads: LocalModel) -> None:
    secret = uploads.settings()["AWS_SECRET_ACCESS_KEY"]
    assert len(secret) >= 20
    dirs = "/etc /srv /var /tmp /run /home /opt /usr/local"
    grep = f"grep -rlsF --exclude-dir=localjuju -f - {dirs} < $SECRET || true"
    for unit in UNITS:
        assert search(uploads, unit, f"runuser -u nobody -- {grep}").split() == [], unit  # world-readable
        app_readable = search(uploads, unit, f"runuser -u {APP} -- {grep}").split()
        assert app_readable == [f"/etc/{APP}/settings.env"], (unit, app_readable)
        assert uploads.sh(f"stat -c '%a %U:%G' /etc/{APP}/settings.env", unit).split() == [
            "640",
            f"root:{APP}",
        ]
        listing = search(
            uploads, unit, "cat /proc/[0-9]*/cmdline | tr '\\0' ' ' | grep -cF -f $SECRET || true"
        )
        assert listing.strip() == "0", unit
        journal = search(uploads, unit, "journalctl --no-pager -q | grep -cF -f $SECRET || true")
        assert journal.strip() == "0", unit
    assert secret not in uploads.cli("debug-log", "--replay").stdout
    assert secret not in json.dumps(uploads.status())
    shown = uploads.action("show-settings")
    assert shown["status"] == "completed", shown
    listing = shown["results"]["settings"]
    assert "AWS_SECRET_ACCESS_KEY=<redacted>" in listing and ":<redacted>@wsgi-app?" in listing
    assert secret not in json.dumps(shown)
    logs = uploads.action("logs")
    assert logs["status"] == "completed" and secret not in json.dumps(logs), logs


def test_hostile_integrator_data_blocks_and_keeps_serving(uploads: LocalModel) -> None:
    rid = relation_id(uploads, "s3-integrator:s3-credentials")
    original: dict[str, Any] = uploads.record()["relations"][rid]["data"]["s3-integrator"]
    restore = [f"{k}={v}" for k, v in original.items()]
    before = uploads.sh(f"cat /etc/{APP}/settings.env")
    url = f"http://{address(uploads, UNITS[0])}:8080/files/note.txt"
    for key, value in (
        ("endpoint", "http://10.231.0.2:7480\nAWS_S3_ENDPOINT_URL=http://evil"),
        ("bucket", "../../etc"),
        ("endpoint", "file:///etc/shadow"),
        ("secret-key", "two words"),
    ):
        uploads.cli("set-relation-data", rid, "s3-integrator", f"{key}={value}")
        for unit in UNITS:
            info = uploads.unit(unit)
            assert info["agent-status"] == "idle" and info["workload-status"] == "blocked", (key, info)
            assert info["message"].startswith(f"unusable s3 relation data (s3:{rid.split(':')[-1]}: {key}"), (
                info
            )
        assert uploads.sh(f"cat /etc/{APP}/settings.env") == before  # nothing applied
        assert http(uploads, UNITS[1], "GET", url)[0] == 200  # still serving, as configured before
        uploads.cli("set-relation-data", rid, "s3-integrator", "--replace", *restore)
        assert all(uploads.unit(unit)["workload-status"] == "active" for unit in UNITS), key
    log = uploads.debug_log(UNITS[0])
    assert "unusable s3 relation data" in log and "Traceback" not in log
    assert "two words" not in log


def test_track_2_hands_the_keys_over_in_a_juju_secret(uploads: LocalModel) -> None:
    """s3-integrator track 2 creates the bucket asked for and, since the unit lists the keys
    in requested-secrets, puts them in a Juju secret instead of the relation data."""
    uploads.cli("remove-relation", f"{APP}:s3", "s3-integrator:s3-credentials")
    assert "AWS_STORAGE_BUCKET_NAME" not in uploads.settings()
    uploads.cli("deploy", "s3-integrator", "s3-v2", "--isolated", "--channel", "2/edge")
    uploads.cli("relate", f"{APP}:s3", "s3-v2:s3-credentials")
    rid = relation_id(uploads, "s3-v2:s3-credentials")
    published = uploads.record()["relations"][rid]["data"]["s3-v2"]
    assert published["lib-version"] == "1.0" and published["secret-extra"].startswith("secret:"), published
    assert "secret-key" not in published and "access-key" not in published, published
    settings = uploads.settings()
    assert settings["AWS_S3_ENDPOINT_URL"] == standin_endpoint(uploads, "s3-v2")  # the second stand-in
    uri = published["secret-extra"]
    shown = json.loads(uploads.cli("show-secret", uri, "--reveal", "--format", "json").stdout)
    secret = shown[uri.removeprefix("secret:")]
    assert secret["owner"] == "s3-v2" and secret["content"]["secret-key"] == settings["AWS_SECRET_ACCESS_KEY"]
    payload = f"through track 2: {secrets.token_hex(8)}"
    status, _ = http(
        uploads, UNITS[0], "POST", f"http://{address(uploads, UNITS[1])}:8080/files/two.txt", payload
    )
    assert status == 200
    status, body = http(uploads, UNITS[1], "GET", f"http://{address(uploads, UNITS[0])}:8080/files/two.txt")
    assert (status, body) == (200, payload)
