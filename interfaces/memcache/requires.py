"""Requires side of the ``memcache`` interface: every memcached unit's ``host`` and ``port``.

Flags (``cache`` stands for the endpoint's name in metadata.yaml):
  cache.connected   a memcached unit has joined
The automatic ``endpoint.cache.changed*`` and ``.departed`` flags are cleared once
seen. The client publishes nothing; the wsgi-app layer reads each unit's raw data
through the hook tools (in hooks and actions alike) and checks it
(``charms.layer.wsgi_app.relation_data.memcache``).
"""

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_any, when_not


class MemcacheRequires(Endpoint):
    """The client end of a memcache relation."""

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
