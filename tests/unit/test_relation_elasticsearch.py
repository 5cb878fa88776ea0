"""The elasticsearch (search) reader: both spellings of the cluster name, bad units skipped."""

from __future__ import annotations

from relation_records import elasticsearch, relation

from charms.layer.wsgi_app.integrations import HostPort, SearchServer
from charms.layer.wsgi_app.relation_data.elasticsearch import read_nodes


def test_every_node_with_its_cluster():
    legacy = elasticsearch("10.0.0.51")
    reactive = elasticsearch("10.0.0.50")
    reactive["cluster_name"] = reactive.pop("cluster-name")
    nodes, notes = read_nodes([relation(("elasticsearch/1", legacy), ("elasticsearch/0", reactive))])
    assert nodes == (
        SearchServer(HostPort("10.0.0.50", 9200), "elasticsearch"),
        SearchServer(HostPort("10.0.0.51", 9200), "elasticsearch"),
    )
    assert nodes[0].url == "http://10.0.0.50:9200"
    assert notes == []


def test_cluster_name_is_optional_but_checked():
    no_name = elasticsearch("10.0.0.50")
    del no_name["cluster-name"]
    bad_name = elasticsearch("10.0.0.51", **{"cluster-name": "es\nX=1"})
    nodes, notes = read_nodes([relation(("elasticsearch/0", no_name), ("elasticsearch/1", bad_name))])
    assert nodes == (SearchServer(HostPort("10.0.0.50", 9200), ""),)
    assert len(notes) == 1 and notes[0].level == "WARNING"


def test_bad_and_unanswered_units_are_skipped():
    rel = relation(
        ("elasticsearch/0", {"private-address": "10.0.0.50"}),
        ("elasticsearch/1", elasticsearch("10.0.0.51", port="92OO")),
        ("elasticsearch/2", elasticsearch("10.0.0.52", host="")),
        ("elasticsearch/3", elasticsearch("10.0.0.53")),
    )
    nodes, notes = read_nodes([rel])
    assert nodes == (SearchServer(HostPort("10.0.0.53", 9200), "elasticsearch"),)
    assert [note.level for note in notes] == ["DEBUG", "WARNING", "WARNING"]


def test_values_a_reactive_endpoint_json_encoded_are_read_and_still_checked():
    """to_publish (charms.reactive Endpoint providers) JSON-encodes every value."""
    endpoint = {"host": '"10.0.0.52"', "port": "9200", "cluster_name": '"logs"'}
    nodes, notes = read_nodes([relation(("elasticsearch/0", endpoint))])
    assert nodes == (SearchServer(HostPort("10.0.0.52", 9200), "logs"),) and notes == []
    hostile = {"host": '"fe80::1%\\u0027x"', "port": '"9200"'}
    nodes, notes = read_nodes([relation(("elasticsearch/0", hostile))])
    assert nodes == () and "host" in notes[0].message
