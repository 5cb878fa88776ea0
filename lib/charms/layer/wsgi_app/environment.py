"""The application's settings (environment variables), computed from the state.

One small pure function per source of settings; :func:`app_settings` merges them in a
fixed order so that the operator's ``environment`` can override relation settings but
never the charm's own (see :data:`.validate.RESERVED_SETTINGS`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .integrations import AmqpBroker, Database, HostPort, ObjectStorage, RedisServer, SearchServer
from .state import WsgiState

# Settings whose values must never be shown (status, logs, actions).
SECRET_SETTINGS = frozenset({"SECRET_KEY", "PGPASSWORD"})
REDACTED = "<redacted>"


def charm_settings(state: WsgiState) -> dict[str, str]:
    """Settings every application gets."""
    settings = {
        "PORT": str(state.config.port),
        "WEB_CONCURRENCY": str(state.workers),
        "APP_NAME": state.app_name,
        "APP_UNIT": state.unit_name,
        "APP_DATA_DIR": str(state.paths.data),
    }
    if state.secret_key:
        settings["SECRET_KEY"] = state.secret_key
    return settings


def database_settings(database: Database | None, sqlite_path: str) -> dict[str, str]:
    """``DATABASE_URL`` and libpq's ``PG*`` variables; SQLite when nothing is related."""
    if database is None:
        return {"DATABASE_URL": f"sqlite:///{sqlite_path}"}
    settings = {
        "DATABASE_URL": database.url(),
        "PGHOST": database.primary.host,
        "PGPORT": str(database.primary.port),
        "PGDATABASE": database.name,
        "PGUSER": database.user,
        "PGPASSWORD": database.password,
    }
    if database.standbys:
        settings["DATABASE_READ_URLS"] = ",".join(database.url(s) for s in database.standbys)
    return settings


def cache_settings(caches: tuple[HostPort, ...]) -> dict[str, str]:
    """``MEMCACHE_SERVERS`` (host:port,...) and a django-environ style ``CACHE_URL``."""
    if not caches:
        return {}
    servers = ",".join(str(server) for server in caches)
    return {"MEMCACHE_SERVERS": servers, "CACHE_URL": f"pymemcache://{servers}"}


def search_settings(search: tuple[SearchServer, ...]) -> dict[str, str]:
    """``ELASTICSEARCH_URL`` (the first node), every node, and the cluster name."""
    if not search:
        return {}
    settings = {
        "ELASTICSEARCH_URL": search[0].url,
        "ELASTICSEARCH_URLS": ",".join(node.url for node in search),
    }
    if search[0].cluster_name:
        settings["ELASTICSEARCH_CLUSTER_NAME"] = search[0].cluster_name
    return settings


def storage_settings(storage: ObjectStorage | None) -> dict[str, str]:
    """The bucket and its credentials under the names boto3 and django-storages read, and
    ``S3_URL`` carrying all of it (its secret is redacted wherever settings are shown)."""
    if storage is None:
        return {}
    settings = {
        "AWS_ACCESS_KEY_ID": storage.access_key,
        "AWS_SECRET_ACCESS_KEY": storage.secret_key,
        "AWS_STORAGE_BUCKET_NAME": storage.bucket,
    }
    if storage.endpoint:
        settings["AWS_S3_ENDPOINT_URL"] = storage.endpoint
        settings["AWS_ENDPOINT_URL_S3"] = storage.endpoint  # boto3 (1.28+) reads this one itself
    if storage.region:
        settings["AWS_DEFAULT_REGION"] = storage.region
    if storage.path:
        settings["AWS_LOCATION"] = storage.path  # django-storages' key prefix
    if storage.uri_style:
        settings["AWS_S3_ADDRESSING_STYLE"] = "path" if storage.uri_style == "path" else "virtual"
    settings["S3_URL"] = storage.url()
    return settings


def broker_settings(
    redis: RedisServer | None, amqp: AmqpBroker | None, *, redis_related: bool = False
) -> dict[str, str]:
    """``REDIS_URL`` (and its parts), ``AMQP_URL``, and ``CELERY_BROKER_URL``: Redis when it
    is related, else RabbitMQ. While a related Redis (``redis_related``) has not answered
    there is no ``CELERY_BROKER_URL`` rather than RabbitMQ's: every unit must agree on one
    broker. The passwords are redacted wherever settings are shown."""
    settings: dict[str, str] = {}
    if redis is not None:
        settings["REDIS_URL"] = redis.url()
        settings["REDIS_HOST"] = redis.address.host
        settings["REDIS_PORT"] = str(redis.address.port)
        if redis.password:
            settings["REDIS_PASSWORD"] = redis.password
    if amqp is not None:
        settings["AMQP_URL"] = amqp.url()
    if redis is not None:
        settings["CELERY_BROKER_URL"] = redis.url()
    elif amqp is not None and not redis_related:
        settings["CELERY_BROKER_URL"] = amqp.url()
    return settings


def proxy_settings(proxies: tuple[str, ...]) -> dict[str, str]:
    """The addresses whose X-Forwarded-* headers the app (and gunicorn) may trust."""
    if not proxies:
        return {}
    return {"FORWARDED_ALLOW_IPS": ",".join(proxies)}


# the names the health check and a shell on the machine use (health.probe sends
# Host: localhost); IPv6 in brackets, as Django's ALLOWED_HOSTS matches them
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def host_settings(
    hostnames: tuple[str, ...], addresses: tuple[str, ...], proxies: tuple[str, ...]
) -> dict[str, str]:
    """``ALLOWED_HOSTS`` and ``DJANGO_ALLOWED_HOSTS``: the public ``hostnames``, the local
    names, this machine's ``addresses`` and the related ``proxies``' (which may send their
    own address as Host); ``CSRF_TRUSTED_ORIGINS``: the https:// and http:// origins of the
    public names (``.example.com`` -> ``https://*.example.com``), set only when there are any."""
    allowed: list[str] = []
    for host in (*hostnames, *LOCAL_HOSTS, *map(_as_host, addresses), *map(_as_host, proxies)):
        if host not in allowed:
            allowed.append(host)
    settings = {"ALLOWED_HOSTS": ",".join(allowed), "DJANGO_ALLOWED_HOSTS": ",".join(allowed)}
    if hostnames:
        origins = [f"{scheme}://{_origin_host(name)}" for name in hostnames for scheme in ("https", "http")]
        settings["CSRF_TRUSTED_ORIGINS"] = ",".join(origins)
    return settings


def _as_host(address: str) -> str:
    """An IP address as a Host header names it (IPv6 in brackets)."""
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def _origin_host(name: str) -> str:
    """A host name as an origin's host: Django's wildcard for ``.example.com``."""
    return f"*{name}" if name.startswith(".") else name


class AppSettings(dict[str, str]):
    """The application's settings, knowing which came from a Juju secret (``environment_secret``):
    those are secret whatever their names, wherever the settings go (:func:`redact`,
    :func:`.logs.secret_values`)."""

    secret_names: frozenset[str] = frozenset()


def secret_names(settings: Mapping[str, str]) -> frozenset[str]:
    """The settings of ``settings`` that came from a Juju secret (none for a plain mapping)."""
    return settings.secret_names if isinstance(settings, AppSettings) else frozenset()


def app_settings(state: WsgiState) -> AppSettings:
    """Every setting the application receives, in a stable order."""
    integrations = state.integrations
    settings = AppSettings()
    settings.update(database_settings(integrations.database, str(state.paths.sqlite_database)))
    settings.update(cache_settings(integrations.caches))
    settings.update(search_settings(integrations.search))
    settings.update(storage_settings(integrations.storage))
    settings.update(
        broker_settings(integrations.redis, integrations.amqp, redis_related=integrations.redis_related)
    )
    settings.update(proxy_settings(integrations.proxies))
    settings.update(host_settings(state.config.hostnames, state.machine.addresses, integrations.proxies))
    settings.update(state.config.environment)
    settings.update(state.secret_settings)  # the secret's settings override environment's
    settings.update(charm_settings(state))
    settings.secret_names = frozenset(state.secret_settings)
    return settings


def redact(settings: Mapping[str, str]) -> dict[str, str]:
    """``settings`` fit to show: secrets (by name, or from a Juju secret) replaced, and
    passwords removed from URLs."""
    shown = {}
    hidden = secret_names(settings)
    for key, value in settings.items():
        if looks_secret(key) or key in hidden:
            shown[key] = REDACTED
        else:
            shown[key] = _redact_url_password(value)
    return shown


# the usual names of settings that hold secrets: *PASSWORD*, *PASSWD*, *SECRET*, *TOKEN*,
# *AUTH*, *CREDENTIAL*, *PRIVATE*, *_KEY, *_DSN (files/demo/demo.py repeats it: the demo
# runs in the app's sandbox, without the charm's code)
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|AUTH|CREDENTIAL|PRIVATE|(?:\A|_)KEY\Z|_DSN\Z")


def looks_secret(key: str) -> bool:
    """Whether the setting ``key`` holds a secret: the charm's own or a usual secret name.
    The one test of every place that shows settings (show-settings, logs, status tails)."""
    return key in SECRET_SETTINGS or bool(_SECRET_NAME.search(key.upper()))


def _redact_url_password(value: str) -> str:
    """``scheme://user:pass@host`` -> ``scheme://user:<redacted>@host`` (in a comma list too)."""
    parts = []
    for part in value.split(","):
        scheme, sep, rest = part.partition("://")
        userinfo, at, host = rest.rpartition("@")
        if sep and at and ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            part = f"{scheme}://{user}:{REDACTED}@{host}"
        parts.append(part)
    return ",".join(parts)
