"""The rabbitmq reader and our request: rabbitmq-server's and rabbitmq-k8s's answers, hostile values."""

from __future__ import annotations

import pytest
from relation_records import RABBIT_PASSWORD, REDIS_PASSWORD, rabbitmq_server, redis_machine, relation

from charms.layer.wsgi_app.integrations import AmqpBroker, HostPort, RedisServer
from charms.layer.wsgi_app.relation_data.combine import RelationProblem, integrations_from
from charms.layer.wsgi_app.relation_data.common import BadData
from charms.layer.wsgi_app.relation_data.pgsql import DatabaseRequest
from charms.layer.wsgi_app.relation_data.rabbitmq import AmqpRequest, read_broker, request_for

REQUEST = request_for("wsgi-app")


def test_we_ask_for_a_user_and_vhost_named_for_the_application():
    assert request_for("wsgi-app") == AmqpRequest(username="wsgi-app", vhost="wsgi-app")
    assert REQUEST.relation_data() == {"username": "wsgi-app", "vhost": "wsgi-app"}


def test_rabbitmq_server_answers_in_unit_data():
    broker, notes = read_broker(
        [relation(("rabbitmq-server/0", rabbitmq_server("10.0.0.20")), rid="amqp:9")], REQUEST
    )
    assert broker == AmqpBroker(HostPort("10.0.0.20", 5672), "wsgi-app", RABBIT_PASSWORD, "wsgi-app")
    assert notes == []


def test_cluster_extras_are_ignored_and_the_first_unit_wins():
    rel = relation(
        ("rabbitmq-server/1", rabbitmq_server("10.0.0.21", clustered="true", ha_queues="True")),
        ("rabbitmq-server/0", rabbitmq_server("10.0.0.20", ssl_port="5671")),
    )
    assert read_broker([rel], REQUEST)[0].address == HostPort("10.0.0.20", 5672)


def test_a_cluster_behind_hacluster_is_reached_at_its_vip():
    """rabbitmq-server sends ``clustered`` and the ``vip`` option once hacluster fronts it;
    its clients (charmhelpers' AMQPContext) then connect to the VIP, which moves when a node dies."""
    rel = relation(
        ("rabbitmq-server/0", rabbitmq_server("10.0.0.20", clustered="true", vip="10.0.0.100")),
        ("rabbitmq-server/1", rabbitmq_server("10.0.0.21", clustered="true", vip="10.0.0.100")),
    )
    assert read_broker([rel], REQUEST)[0].address == HostPort("10.0.0.100", 5672)
    alone = rabbitmq_server("10.0.0.20", vip="10.0.0.100")  # no hacluster: the VIP is not up
    assert read_broker([relation(("rabbitmq-server/0", alone))], REQUEST)[0].address.host == "10.0.0.20"
    several = rabbitmq_server(
        "10.0.0.20", clustered="true", vip="10.0.0.100 192.168.9.100"
    )  # one per network
    assert read_broker([relation(("rabbitmq-server/0", several))], REQUEST)[0].address.host == "10.0.0.20"
    hostile = rabbitmq_server("10.0.0.20", clustered="true", vip="$(reboot)")
    with pytest.raises(BadData, match="vip is not an IP address or host name"):
        read_broker([relation(("rabbitmq-server/0", hostile))], REQUEST)


def test_hostname_before_the_password_is_not_yet_ready_quietly():
    """rabbitmq-server publishes its hostname before it has seen our username and vhost."""
    early = {"hostname": "10.0.0.20", "private-address": "10.0.0.20"}
    broker, notes = read_broker([relation(("rabbitmq-server/0", early))], REQUEST)
    assert broker is None
    assert [note.level for note in notes] == ["DEBUG"]


def test_rabbitmq_k8s_answers_in_application_data():
    app = {"hostname": "rabbitmq-k8s-endpoints.model.svc", "password": "k8sPass", "port": "5673"}
    broker, _ = read_broker([relation(("rabbitmq-k8s/0", {"ingress-address": "10.1.0.3"}), app=app)], REQUEST)
    assert broker == AmqpBroker(
        HostPort("rabbitmq-k8s-endpoints.model.svc", 5673), "wsgi-app", "k8sPass", "wsgi-app"
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"hostname": "a b"}, "hostname is not an IP address or host name"),
        ({"hostname": "10.0.0.20\nAMQP_URL=x"}, "control character"),
        ({"password": "pass word"}, "password is not printable ASCII"),
        ({"password": "pass\x00"}, "password is not printable ASCII"),
        ({"port": "5672x"}, "port is not a port number"),
    ],
)
def test_hostile_values_refuse_the_unit(changes, reason):
    with pytest.raises(BadData, match=reason) as refused:
        read_broker([relation(("rabbitmq-server/0", rabbitmq_server("10.0.0.20", **changes)))], REQUEST)
    assert "\n" not in str(refused.value) and RABBIT_PASSWORD not in str(refused.value)


def test_url_percent_encodes_every_part_and_the_vhost_slash():
    broker = AmqpBroker(HostPort("10.0.0.20", 5672), "us@r", "p:w/d", "/")
    assert broker.url() == "amqp://us%40r:p%3Aw%2Fd@10.0.0.20:5672/%2F"


def test_gathered_brokers_wait_then_serve_then_block_on_hostile_data():
    """The unit waits while the brokers have not answered, uses them once they have, and
    blocks (a RelationProblem, a ConfigError) with the key named when one answers garbage."""
    early = {
        "redis": (relation(("redis/0", {"private-address": "10.0.0.30"}), rid="redis:7"),),
        "amqp": (relation(("rabbitmq-server/0", {"hostname": "10.0.0.20"}), rid="amqp:9"),),
    }
    waiting = integrations_from(early, DatabaseRequest("wsgi-app"), "wsgi-app/0").integrations
    assert waiting.waiting_for == ("redis address", "rabbitmq credentials")
    ready = integrations_from(
        {
            "redis": (relation(("redis/0", redis_machine("10.0.0.30")), rid="redis:7"),),
            "amqp": (relation(("rabbitmq-server/0", rabbitmq_server("10.0.0.20")), rid="amqp:9"),),
        },
        DatabaseRequest("wsgi-app"),
        "wsgi-app/0",
    ).integrations
    assert ready.waiting_for == ()
    assert ready.redis == RedisServer(HostPort("10.0.0.30", 6379), REDIS_PASSWORD)
    assert ready.amqp == AmqpBroker(HostPort("10.0.0.20", 5672), "wsgi-app", RABBIT_PASSWORD, "wsgi-app")
    for endpoint, unit, data, key in (
        ("redis", "redis/0", redis_machine("10.0.0.30", port="6379; rm -rf /"), "port"),
        ("amqp", "rabbitmq-server/0", rabbitmq_server("10.0.0.20", hostname="$(reboot)"), "hostname"),
    ):
        with pytest.raises(RelationProblem) as blocked:
            integrations_from(
                {endpoint: (relation((unit, data)),)}, DatabaseRequest("wsgi-app"), "wsgi-app/0"
            )
        assert blocked.value.summary.startswith(f"unusable {endpoint} relation data ({unit} skipped: {key}")
        assert RABBIT_PASSWORD not in blocked.value.summary and REDIS_PASSWORD not in blocked.value.summary
