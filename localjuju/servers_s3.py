"""s3-integrator, with an S3-compatible STAND-IN object store: moto's server mode (PyPI
``moto[server]``, :mod:`localjuju.s3_standin`), since no real S3 service may be reached
from here. One stand-in per unit, on the unit's address only (the host's loopback, port
7480 and up, or the model network's server namespace with ``--isolated``); it makes the
key it hands out and checks every request's signature against it.

The integrator's leader answers each client on ``s3-credentials`` (interface ``s3``) in
application data, as the track the channel names does (see FIDELITY.md):

- track ``1`` (the default; canonical/s3-integrator, the ``s3`` library v0): once the
  client asked for a ``bucket``, the configured options and the credentials, all plain,
  the list options JSON-encoded, and ``data`` (its copy of the client's request);
- track ``2`` (canonical/object-storage-integrators ``s3``, the library v1 over
  data_interfaces): ``lib-version`` at once; then it creates the bucket (its config's,
  else the one the client asked for when the client sent ``requested-secrets``, after
  checking its name) and publishes; the fields the client listed in
  ``requested-secrets`` go into a Juju secret granted to the client, named by
  ``secret-extra``.

The endpoint published is always the stand-in's own URL (the real charm's is its
``endpoint`` config).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import provider_secrets, servers
from .machines import cache_dir, locked

if TYPE_CHECKING:
    from .agent import Agent
    from .model import Json, Model

BASE_PORT = 7480
STANDIN = Path(__file__).resolve().parent / "s3_standin.py"
REQUIREMENT = "moto[server]>=5.1,<6"
LIB_VERSION = "1.0"
# track 2's rule for a requested bucket (object-storage-integrators s3/src/core/domain.py)
BUCKET_REGEX = re.compile(r"(?!(^xn--|.+-s3alias$))^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
CONFIGURED = ("bucket", "path", "region", "s3-uri-style", "storage-class", "s3-api-version")
OPTIONS = {
    **{
        name: {"type": "string", "default": "", "description": f"the integrator's {name}"}
        for name in CONFIGURED
    },
    "attributes": {"type": "string", "default": "", "description": "custom metadata, comma-separated"},
}


def venv() -> Path:
    """The stand-in's own virtualenv (moto and boto3), shared by every model."""
    return cache_dir() / "s3-standin" / "venv"


def prepare() -> None:
    """Build the stand-in's virtualenv unless it is there (on the host's network: pip
    needs the package registry, which the model network's namespace cannot reach)."""
    root = venv()
    python = root / "bin" / "python"
    with locked(root.parent / ".lock"):
        if (root / ".ready").exists():
            return
        servers.run([sys.executable, "-m", "venv", "--clear", str(root)])
        servers.run([str(python), "-m", "pip", "install", "--quiet", REQUIREMENT])
        (root / ".ready").write_text(REQUIREMENT + "\n")


def ensure_running(model: Model, unit: str) -> tuple[str, dict[str, str]]:
    """Start the unit's stand-in unless it runs; its endpoint and the key it hands out."""
    host = servers.unit_address(model, unit)
    port = servers.allocate_port(model, unit, BASE_PORT)
    directory = servers.unit_dir(model, unit)
    pidfile, credentials = directory / "s3_standin.pid", directory / "credentials.json"
    if servers.read_pid(pidfile) is None:
        credentials.unlink(missing_ok=True)
        command = [str(venv() / "bin" / "python"), str(STANDIN), "serve", "--host", host, "--port", str(port)]
        with open(directory / "s3_standin.log", "ab") as log:
            process = subprocess.Popen(
                [*command, "--credentials", str(credentials)],
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(directory)},
            )
        pidfile.write_text(f"{process.pid}\n")
        servers.wait_for_port(port, host=host, timeout=60)
    servers.wait_for_file(credentials, timeout=30)
    return f"http://{host}:{port}", json.loads(credentials.read_text())


def create_bucket(model: Model, unit: str, endpoint: str, name: str) -> None:
    credentials = servers.unit_dir(model, unit) / "credentials.json"
    python = str(venv() / "bin" / "python")
    servers.run(
        [
            python,
            str(STANDIN),
            "create-bucket",
            "--endpoint",
            endpoint,
            "--credentials",
            str(credentials),
            name,
        ]
    )


def configured(config: Json) -> dict[str, str]:
    """The options the integrator publishes, as it writes them (lists JSON-encoded)."""
    found = {name: str(config.get(name) or "") for name in CONFIGURED}
    attributes = [a for a in str(config.get("attributes") or "").split(",") if a]
    found["attributes"] = json.dumps(attributes) if attributes else ""
    return {key: value for key, value in found.items() if value}


def track_1(request: Json, config: Json, endpoint: str, keys: dict[str, str]) -> tuple[Json, str]:
    """(application data, bucket to create) of the v0 integrator, once the client asked."""
    if not request.get("bucket"):
        return {}, ""
    bucket = str(config.get("bucket") or request["bucket"])
    copy = {key: value for key, value in request.items() if key != "data"}
    data = {**configured(config), **keys, "bucket": bucket, "endpoint": endpoint, "data": json.dumps(copy)}
    return data, bucket


def track_2(request: Json, config: Json, endpoint: str, keys: dict[str, str]) -> tuple[Json, str]:
    """(application data, bucket to create) of the v1 integrator; the secret fields are
    still in the data here (:func:`handle` moves them into the secret). A v0 client
    (no ``requested-secrets``) gets the configured bucket only, as the charm discards its
    request. Nothing but ``lib-version`` before the client has written (the library
    refuses to publish earlier)."""
    if not (request.get("bucket") or request.get("lib-version")):
        return {"lib-version": LIB_VERSION}, ""
    wanted = str(request.get("bucket") or "") if provider_secrets.requested(request) else ""
    bucket = str(config.get("bucket") or "") or wanted
    if bucket and not config.get("bucket") and not BUCKET_REGEX.match(bucket):
        raise ValueError(f"invalid bucket name {bucket!r}")
    data = {**configured(config), **keys, "endpoint": endpoint, "lib-version": LIB_VERSION}
    if bucket:
        data["bucket"] = bucket
    return data, bucket


def handle(agent: Agent, unit: str, event: dict[str, Any]) -> None:
    """Any event: keep the stand-in running; the leader answers every client."""
    model = agent.model
    app = model.units[unit]["app"]
    endpoint, keys = ensure_running(model, unit)
    where = f"stand-in, {endpoint.removeprefix('http://')}"
    if model.applications[app].get("leader") != unit:
        servers.set_status(model, unit, "active", f"ready ({where})")
        return
    config = agent.effective_config(app)
    second = (model.applications[app].get("channel") or "").split("/")[0] == "2"
    problems = []
    for rid, rel in servers.live_relations(model, app):
        client_app = next(a for a in rel["apps"] if a != app)
        request = dict(rel["data"].get(client_app, {}))
        try:
            data, bucket = (track_2 if second else track_1)(request, config, endpoint, keys)
        except ValueError as error:
            problems.append(str(error))
            continue
        if bucket:
            create_bucket(model, unit, endpoint, bucket)
        if second:
            fields = provider_secrets.requested(request)
            data = provider_secrets.hide(agent, app, client_app, rid, "s3-credentials", data, fields)
        if data:
            servers.publish(agent, rid, app, data)
    if problems:
        servers.set_status(model, unit, "blocked", "; ".join(problems))
    else:
        servers.set_status(model, unit, "active", f"ready ({where})")


def teardown(model: Model, unit: str) -> None:
    servers.stop_pid(servers.unit_dir(model, unit) / "s3_standin.pid")


def sweep(model_name: str) -> None:
    """Stop any of the model's stand-ins still running (whatever its state records)."""
    servers.stop_strays(model_name, STANDIN.name)


servers.register(
    servers.ServerKind(
        name="s3-integrator",
        charm="s3-integrator",
        provides={"s3-credentials": "s3"},
        requires={},
        handle=handle,
        teardown=teardown,
        sweep=sweep,
        prepare=prepare,
        options=OPTIONS,
        description="s3-integrator with an S3 stand-in (moto's server mode, localjuju/s3_standin.py)",
        channels={"1": ("s3-credentials",), "2": ("s3-credentials",)},
        default_track="1",
    )
)
