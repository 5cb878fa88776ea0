"""The broker settings (REDIS_*, AMQP_URL, CELERY_BROKER_URL) and their redaction everywhere
settings are shown: show-settings, logs, the settings file's round trip."""

from __future__ import annotations

from dataclasses import replace

import pytest
from relation_records import rabbitmq_server, relation

from charms.layer.wsgi_app.environment import REDACTED, app_settings, broker_settings, redact
from charms.layer.wsgi_app.integrations import AmqpBroker, HostPort, Integrations, RedisServer
from charms.layer.wsgi_app.logs import redact_text, secret_values
from charms.layer.wsgi_app.relation_data.combine import integrations_from
from charms.layer.wsgi_app.relation_data.pgsql import DatabaseRequest
from charms.layer.wsgi_app.render import render_all
from charms.layer.wsgi_app.settings_file import decode

REDIS = RedisServer(HostPort("10.0.0.30", 6379), "r3d1s/Pa55@word")
OPEN_REDIS = RedisServer(HostPort("fd00::30", 6380))
AMQP = AmqpBroker(HostPort("10.0.0.20", 5672), "wsgi-app", "Hq7yZbXw2LcN4tRk", "wsgi-app")


@pytest.mark.parametrize(
    ("redis", "amqp", "expected"),
    [
        (None, None, {}),
        (
            REDIS,
            None,
            {
                "REDIS_URL": "redis://:r3d1s%2FPa55%40word@10.0.0.30:6379/0",
                "REDIS_HOST": "10.0.0.30",
                "REDIS_PORT": "6379",
                "REDIS_PASSWORD": "r3d1s/Pa55@word",
                "CELERY_BROKER_URL": "redis://:r3d1s%2FPa55%40word@10.0.0.30:6379/0",
            },
        ),
        (
            OPEN_REDIS,
            None,
            {
                "REDIS_URL": "redis://[fd00::30]:6380/0",
                "REDIS_HOST": "fd00::30",
                "REDIS_PORT": "6380",
                "CELERY_BROKER_URL": "redis://[fd00::30]:6380/0",
            },
        ),
        (
            None,
            AMQP,
            {
                "AMQP_URL": "amqp://wsgi-app:Hq7yZbXw2LcN4tRk@10.0.0.20:5672/wsgi-app",
                "CELERY_BROKER_URL": "amqp://wsgi-app:Hq7yZbXw2LcN4tRk@10.0.0.20:5672/wsgi-app",
            },
        ),
        (
            OPEN_REDIS,
            AMQP,
            {
                "REDIS_URL": "redis://[fd00::30]:6380/0",
                "REDIS_HOST": "fd00::30",
                "REDIS_PORT": "6380",
                "AMQP_URL": "amqp://wsgi-app:Hq7yZbXw2LcN4tRk@10.0.0.20:5672/wsgi-app",
                "CELERY_BROKER_URL": "redis://[fd00::30]:6380/0",  # Redis is the broker when related
            },
        ),
    ],
    ids=["nothing", "redis", "redis-without-password", "rabbitmq", "both"],
)
def test_broker_settings(redis, amqp, expected):
    assert broker_settings(redis, amqp) == expected


def test_no_password_is_shown_by_show_settings():
    shown = redact(broker_settings(REDIS, AMQP))
    assert shown == {
        "REDIS_URL": f"redis://:{REDACTED}@10.0.0.30:6379/0",
        "REDIS_HOST": "10.0.0.30",
        "REDIS_PORT": "6379",
        "REDIS_PASSWORD": REDACTED,
        "AMQP_URL": f"amqp://wsgi-app:{REDACTED}@10.0.0.20:5672/wsgi-app",
        "CELERY_BROKER_URL": f"redis://:{REDACTED}@10.0.0.30:6379/0",
    }


def test_no_password_survives_in_a_log_line():
    settings = broker_settings(REDIS, AMQP)
    line = (
        "celery: connecting to amqp://wsgi-app:Hq7yZbXw2LcN4tRk@10.0.0.20:5672/wsgi-app; "
        "AUTH r3d1s/Pa55@word failed; url redis://:r3d1s%2FPa55%40word@10.0.0.30:6379/0"
    )
    redacted = redact_text(line, secret_values(settings))
    assert "Hq7yZbXw2LcN4tRk" not in redacted
    assert "r3d1s" not in redacted and "Pa55" not in redacted


def test_settings_file_carries_the_broker_settings(demo_state):
    state = replace(demo_state, integrations=Integrations(redis=REDIS, amqp=AMQP))
    settings = app_settings(state)
    assert settings["CELERY_BROKER_URL"] == REDIS.url()
    assert decode(render_all(state).settings) == settings


def test_celery_waits_for_a_related_redis_instead_of_using_rabbitmq_meanwhile():
    """With both related, Redis is the broker even before it answers: falling back to
    RabbitMQ meanwhile would send tasks where the workers of a unit that already reads
    Redis never look (and move the queue under the workers once Redis answers)."""
    assert broker_settings(None, AMQP, redis_related=True) == {"AMQP_URL": AMQP.url()}
    assert broker_settings(None, AMQP)["CELERY_BROKER_URL"] == AMQP.url()


def test_a_joined_redis_that_has_not_answered_keeps_celery_off_rabbitmq(demo_state):
    gathered = integrations_from(
        {
            "redis": (relation(("redis/0", {"private-address": "10.0.0.30"}), rid="redis:7"),),
            "amqp": (relation(("rabbitmq-server/0", rabbitmq_server("10.0.0.20")), rid="amqp:9"),),
        },
        DatabaseRequest("wsgi-app"),
        "wsgi-app/0",
    ).integrations
    settings = app_settings(replace(demo_state, integrations=gathered))
    assert "AMQP_URL" in settings and "CELERY_BROKER_URL" not in settings
