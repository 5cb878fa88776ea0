"""A STAND-IN for the object store behind the s3-integrator charm: moto's server mode
(``moto[server]`` from PyPI), an S3-compatible server made for tests, not a storage
service (everything is in memory and goes with the process).

localjuju runs it with the Python of a virtualenv of its own (moto is no dependency of
localjuju; :mod:`localjuju.servers_s3` builds that virtualenv), on the unit's address
only (the host's loopback, or the model network's server namespace), never on another:

``python s3_standin.py serve --host H --port P --credentials FILE``
    starts moto's S3 (and IAM) server, creates an IAM user ``s3-integrator`` allowed
    ``s3:*``, writes its access key and secret key to FILE (mode 0600), and only then
    turns authentication on: from that moment every request must be signed with that
    key (moto checks the signature), as a real S3 service checks it.
``python s3_standin.py create-bucket --endpoint URL --credentials FILE NAME``
    creates bucket NAME (signed with the key in FILE) unless it exists.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

USER = "s3-integrator"
REGION = "us-east-1"
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def client(service: str, endpoint: str, credentials: dict[str, str] | None = None) -> Any:
    import boto3

    keys = credentials or {"access-key": "bootstrap", "secret-key": "bootstrap"}
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=keys["access-key"],
        aws_secret_access_key=keys["secret-key"],
    )


def provision(endpoint: str) -> dict[str, str]:
    """The user the integrator hands out, with its policy; its new access key."""
    iam = client("iam", endpoint)
    iam.create_user(UserName=USER)
    iam.put_user_policy(UserName=USER, PolicyName="s3-all", PolicyDocument=json.dumps(POLICY))
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    return {"access-key": key["AccessKeyId"], "secret-key": key["SecretAccessKey"]}


def write_private(path: Path, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(content)


def serve(host: str, port: int, credentials: Path) -> None:
    from moto import settings
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    endpoint = f"http://{host}:{port}"
    keys = provision(endpoint)
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # from now on every request is authenticated
    write_private(credentials, json.dumps(keys))
    while True:
        time.sleep(3600)


def create_bucket(endpoint: str, credentials: Path, name: str) -> None:
    s3 = client("s3", endpoint, json.loads(credentials.read_text()))
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    if name not in existing:
        s3.create_bucket(Bucket=name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="s3_standin", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve")
    serving.add_argument("--host", required=True)
    serving.add_argument("--port", type=int, required=True)
    serving.add_argument("--credentials", type=Path, required=True)
    bucket = commands.add_parser("create-bucket")
    bucket.add_argument("--endpoint", required=True)
    bucket.add_argument("--credentials", type=Path, required=True)
    bucket.add_argument("name")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port, args.credentials)
    else:
        create_bucket(args.endpoint, args.credentials, args.name)


if __name__ == "__main__":
    main()
