"""Requires side of the ``redis`` interface: every Redis unit's ``hostname``, ``port`` and
``password`` (the machine charm), or ``hostname`` and ``port`` (the redis-k8s library).

Flags (``redis`` stands for the endpoint's name in metadata.yaml):
  redis.connected   a Redis unit has joined
The automatic ``endpoint.redis.changed*`` and ``.departed`` flags are cleared once
seen. The client publishes nothing; the wsgi-app layer reads each unit's raw data
through the hook tools and checks it (``charms.layer.wsgi_app.relation_data.redis``).
"""

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_any, when_not


class RedisRequires(Endpoint):
    """The client end of a redis relation."""

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
