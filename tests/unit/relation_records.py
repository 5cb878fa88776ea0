"""Relation data as the real charms publish it (see /work/shared/reference/relations.md).

Shared by the test_relation_* modules; values are strings, as ``relation-get`` returns them.
"""

from __future__ import annotations

from charms.layer.wsgi_app.relation_data.common import RawRelation, RemoteUnit

ME = "wsgi-app/0"
PASSWORD = "Vq8s3kPzN2mXrT4w"

# Our own data on the relation: Juju adds the addresses.
OWN = {"egress-subnets": "10.0.0.10/32", "ingress-address": "10.0.0.10", "private-address": "10.0.0.10"}


def classic_master(**changes: str) -> dict[str, str]:
    """A classic (stub42) PostgreSQL master unit that has granted wsgi-app/0 and wsgi-app/1."""
    data = {
        "allowed-subnets": "10.0.0.10/32,10.0.0.11/32",
        "allowed-units": "wsgi-app/0 wsgi-app/1",
        "database": "wsgi-app",
        "egress-subnets": "10.0.0.5/32",
        "extensions": "",
        "host": "10.0.0.5",
        "ingress-address": "10.0.0.5",
        "master": f"dbname=wsgi-app host=10.0.0.5 password={PASSWORD} port=5432 user=juju_wsgi-app",
        "password": PASSWORD,
        "port": "5432",
        "private-address": "10.0.0.5",
        "roles": "",
        "schema_password": "schemaSecret99",
        "schema_user": "juju_wsgi-app_schema",
        "standbys": (
            f"dbname=wsgi-app host=10.0.0.6 password={PASSWORD} port=5432 user=juju_wsgi-app\n"
            f"dbname=wsgi-app host=10.0.0.7 password={PASSWORD} port=5432 user=juju_wsgi-app"
        ),
        "state": "master",
        "user": "juju_wsgi-app",
        "version": "12",
    }
    data.update(changes)
    return data


def classic_standby(address: str, **changes: str) -> dict[str, str]:
    data = classic_master(host=address, state="hot standby", **changes)
    data["ingress-address"] = data["private-address"] = address
    return data


def relation(*units: tuple[str, dict[str, str]], rid: str = "db:3", app=None, own=None) -> RawRelation:
    return RawRelation(rid, tuple(RemoteUnit(n, d) for n, d in units), app or {}, OWN if own is None else own)


def ops_db_app(**changes: str) -> dict[str, str]:
    """The newer ops PostgreSQL charm's legacy db relation (unit and application data alike)."""
    data = {
        "allowed-subnets": "10.0.0.10/32",
        "allowed-units": "wsgi-app/0",
        "database": "wsgi-app",
        "extensions": "",
        "host": "10.0.0.20",
        "master": f"dbname=wsgi-app host=10.0.0.20 password={PASSWORD} port=5432 user=relation-5",
        "password": PASSWORD,
        "port": "5432",
        "roles": "",
        "standbys": (
            f"dbname=wsgi-app host=10.0.0.21 password={PASSWORD} port=5432 user=relation-5,"
            f"dbname=wsgi-app host=10.0.0.22 password={PASSWORD} port=5432 user=relation-5"
        ),
        "state": "master",
        "user": "relation-5",
        "version": "14.9",
    }
    data.update(changes)
    return data


def postgresql_client_app(**changes: str) -> dict[str, str]:
    """The current PostgreSQL charm's application data on a postgresql_client relation."""
    data = {
        "data": '{"database": "wsgi-app", "extra-user-roles": ""}',
        "database": "wsgi-app",
        "endpoints": "10.0.0.30:5432",
        "password": PASSWORD,
        "read-only-endpoints": "10.0.0.31:5432,10.0.0.32:5432",
        "tls": "False",
        "tls-ca": "",
        "uris": f"postgresql://relation_id_7:{PASSWORD}@10.0.0.30:5432/wsgi-app",
        "username": "relation_id_7",
        "version": "16.4",
    }
    data.update(changes)
    return data


def memcached(address: str, **changes: str) -> dict[str, str]:
    data = {
        "egress-subnets": f"{address}/32",
        "host": address,
        "ingress-address": address,
        "port": "11211",
        "private-address": address,
        "udp-port": "0",
    }
    data.update(changes)
    return data


def elasticsearch(address: str, **changes: str) -> dict[str, str]:
    data = {
        "cluster-name": "elasticsearch",
        "egress-subnets": f"{address}/32",
        "host": address,
        "ingress-address": address,
        "port": "9200",
        "private-address": address,
    }
    data.update(changes)
    return data


def proxy(address: str) -> dict[str, str]:
    """apache2 on a balancer or reverseproxy relation: only Juju's own keys."""
    return {"egress-subnets": f"{address}/32", "ingress-address": address, "private-address": address}


def haproxy(address: str) -> dict[str, str]:
    """haproxy on its reverseproxy relation: Juju's keys and its ``-joined``'s
    ``public-address`` (``ssl_cert`` only when the charm has one; localjuju plays both)."""
    return {**proxy(address), "public-address": address}


S3_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def s3_integrator_app(**changes: str) -> dict[str, str]:
    """s3-integrator track 1 (the s3 library v0): plain keys in application data, the list
    options JSON-encoded, and ``data``, its copy of our request."""
    data = {
        "access-key": "AKIAIOSFODNN7EXAMPLE",
        "attributes": '["x-amz-server-side-encryption:AES256"]',
        "bucket": "wsgi-app",
        "data": '{"bucket": "wsgi-app", "requested-secrets": "[\\"access-key\\", \\"secret-key\\"]"}',
        "endpoint": "https://s3.eu-west-1.amazonaws.com",
        "path": "media/",
        "region": "eu-west-1",
        "s3-uri-style": "path",
        "secret-key": S3_SECRET,
        "storage-class": "STANDARD",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v}


def s3_integrator_v1_app(**changes: str) -> dict[str, str]:
    """s3-integrator track 2 (the s3 library v1): the credentials in a Juju secret."""
    data = s3_integrator_app(**{"access-key": "", "secret-key": ""})
    data.update({"lib-version": "1.0", "secret-extra": "secret:d3q1v5hmp25c7e2rlktg"})
    data.update(changes)
    return data


REDIS_PASSWORD = "r3d1s-Pa55+/word"
RABBIT_PASSWORD = "Hq7yZbXw2LcN4tRkPm9sVd3fGj6hKa8e"


def redis_machine(address: str, **changes: str) -> dict[str, str]:
    """A machine redis charm unit (charmhelpers ``DbRelation``: hostname, port, password)."""
    data = {
        "egress-subnets": f"{address}/32",
        "hostname": address,
        "ingress-address": address,
        "password": REDIS_PASSWORD,
        "port": "6379",
        "private-address": address,
    }
    data.update(changes)
    return data


def redis_k8s(address: str, **changes: str) -> dict[str, str]:
    """A redis-k8s unit (``RedisProvides``: the master's hostname and the port, no password)."""
    data = {
        "egress-subnets": f"{address}/32",
        "hostname": address,
        "ingress-address": address,
        "port": "6379",
    }
    data.update(changes)
    return data


def redis_k8s_app(master: str) -> dict[str, str]:
    """redis-k8s's application data on a ``redis`` relation: the current master's address
    (``leader-host``, set when the relation is created and again after a failover), while each
    unit's ``hostname`` is its own pod's address (src/charm.py, LEADER_HOST_KEY)."""
    return {"leader-host": master}


def rabbitmq_server(address: str, **changes: str) -> dict[str, str]:
    """A rabbitmq-server unit that has created our user and vhost (``amqp_changed``)."""
    data = {
        "egress-subnets": f"{address}/32",
        "hostname": address,
        "ingress-address": address,
        "password": RABBIT_PASSWORD,
        "private-address": address,
    }
    data.update(changes)
    return data
