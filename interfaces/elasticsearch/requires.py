"""Requires side of the ``elasticsearch`` interface: each node's ``host``, ``port`` and cluster.

Flags (``search`` stands for the endpoint's name in metadata.yaml):
  search.connected   an Elasticsearch unit has joined
The automatic ``endpoint.search.changed*`` and ``.departed`` flags are cleared once
seen. The client publishes nothing (the server opens its port to our
``private-address``); the wsgi-app layer reads each unit's raw data through the hook
tools and checks it (``charms.layer.wsgi_app.relation_data.elasticsearch``).
"""

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_any, when_not


class ElasticsearchRequires(Endpoint):
    """The client end of an elasticsearch relation."""

    @when("endpoint.{endpoint_name}.joined")
    @when_not("{endpoint_name}.connected")
    def _joined(self):
        interface_helpers.joined(self)

    @when("{endpoint_name}.connected")
    @when_not("endpoint.{endpoint_name}.joined")
    def _gone(self):
        interface_helpers.gone(self)

    @when_any("endpoint.{endpoint_name}.changed", "endpoint.{endpoint_name}.departed")
    def _seen(self):
        interface_helpers.consumed(self)
