"""The redis reader: the machine charm's and redis-k8s's answers, and hostile values."""

from __future__ import annotations

import pytest
from relation_records import REDIS_PASSWORD, redis_k8s, redis_k8s_app, redis_machine, relation

from charms.layer.wsgi_app.integrations import HostPort, RedisServer
from charms.layer.wsgi_app.relation_data.common import BadData
from charms.layer.wsgi_app.relation_data.redis import read_server


def test_machine_charm_gives_host_port_and_password():
    server, notes = read_server([relation(("redis/0", redis_machine("10.0.0.30")), rid="redis:7")])
    assert server == RedisServer(HostPort("10.0.0.30", 6379), REDIS_PASSWORD)
    assert notes == []


def test_an_empty_password_means_no_authentication():
    server, _ = read_server([relation(("redis/0", redis_machine("10.0.0.30", password="")))])
    assert server == RedisServer(HostPort("10.0.0.30", 6379))


def test_redis_k8s_gives_hostname_and_port_only():
    server, _ = read_server(
        [relation(("redis-k8s/1", redis_k8s("10.1.0.7")), ("redis-k8s/0", redis_k8s("10.1.0.7")))]
    )
    assert server == RedisServer(HostPort("10.1.0.7", 6379))


def test_redis_k8s_leader_host_names_the_master_not_the_first_unit():
    # each redis-k8s unit publishes its own pod's address; only the application's
    # leader-host follows the master (a replica refuses writes: READONLY)
    master = "redis-k8s-1.redis-k8s-endpoints.shop.svc.cluster.local"
    units = (("redis-k8s/0", redis_k8s("10.1.0.7")), ("redis-k8s/1", redis_k8s("10.1.0.8")))
    rel = relation(*units, app=redis_k8s_app(master))
    assert read_server([rel])[0] == RedisServer(HostPort(master, 6379))


def test_leader_host_waits_for_a_unit_port_quietly():
    rel = relation(("redis-k8s/0", {"ingress-address": "10.1.0.7"}), app=redis_k8s_app("10.1.0.8"))
    server, notes = read_server([rel])
    assert server is None
    assert {note.level for note in notes} == {"DEBUG"}


def test_a_hostile_leader_host_is_refused_by_name():
    rel = relation(("redis-k8s/0", redis_k8s("10.1.0.7")), app=redis_k8s_app("10.1.0.8\nREDIS_URL=x"))
    with pytest.raises(BadData, match="leader-host contains a control character"):
        read_server([rel])


def test_host_spelling_and_application_data_are_read_too():
    unit = {"host": "redis.internal", "port": "6380", "password": "x"}
    assert read_server([relation(("redis/0", unit))])[0] == RedisServer(HostPort("redis.internal", 6380), "x")
    app = {"hostname": "10.0.0.31", "port": "6379"}
    server, _ = read_server([relation(("redis/0", {"private-address": "10.0.0.31"}), app=app)])
    assert server == RedisServer(HostPort("10.0.0.31", 6379))


def test_the_first_unit_in_unit_order_is_the_server():
    rel = relation(("redis/10", redis_machine("10.0.0.42")), ("redis/2", redis_machine("10.0.0.41")))
    assert read_server([rel])[0].address == HostPort("10.0.0.41", 6379)


def test_not_answered_yet_is_none_quietly():
    server, notes = read_server([relation(("redis/0", {"private-address": "10.0.0.30"}))])
    assert server is None
    assert [note.level for note in notes] == ["DEBUG"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"port": "six"}, "port is not a port number"),
        ({"port": "0"}, "port 0 is outside 1-65535"),
        ({"hostname": "evil host"}, "hostname is not an IP address or host name"),
        ({"hostname": "10.0.0.30\nREDIS_URL=x"}, "control character"),
        ({"hostname": "fe80::1%eth0"}, "hostname is not an IP address or host name"),
        ({"password": "pass word"}, "password is not printable ASCII"),
        ({"password": "pa\nss"}, "password is not printable ASCII"),
        ({"password": "x" * 513}, "password is not printable ASCII"),
    ],
)
def test_hostile_values_refuse_the_unit_and_name_the_key_never_the_value(changes, reason):
    rel = relation(("redis/0", redis_machine("10.0.0.30", **changes)))
    with pytest.raises(BadData, match=reason) as refused:
        read_server([rel])
    assert "\n" not in str(refused.value) and REDIS_PASSWORD not in str(refused.value)


def test_a_bad_unit_beside_a_good_one_is_skipped_with_a_warning():
    rel = relation(("redis/0", redis_machine("10.0.0.30", port="x")), ("redis/1", redis_machine("10.0.0.31")))
    server, notes = read_server([rel])
    assert server.address == HostPort("10.0.0.31", 6379)
    assert [note.level for note in notes] == ["WARNING"]


def test_url_percent_encodes_the_password_and_brackets_ipv6():
    assert (
        RedisServer(HostPort("10.0.0.30", 6379), "a/b@c:d").url() == "redis://:a%2Fb%40c%3Ad@10.0.0.30:6379/0"
    )
    assert RedisServer(HostPort("fd00::30", 6379)).url() == "redis://[fd00::30]:6379/0"
