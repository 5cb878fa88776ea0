"""Requires side of the ``memcache`` interface: every memcached unit's ``host`` and ``port``.

Flags (``cache`` stands for the endpoint's name in metadata.yaml):
  cache.connected   a memcached unit has joined
The automatic ``endpoint.cache.changed*`` and ``.departed`` flags are cleared once
seen. The client publishes nothing; :meth:`MemcacheRequires.unit_data` gives each
unit's raw data, which the wsgi-app layer checks
(``charms.layer.wsgi_app.relation_data.memcache``).
"""

from charms.layer import interface_helpers
from charms.reactive import Endpoint, when, when_any, when_not


class MemcacheRequires(Endpoint):
    """The client end of a memcache relation."""

    def unit_data(self):
        """``{unit name: raw data}`` of every joined memcached unit."""
        return {unit.unit_name: dict(unit.received_raw) for unit in self.all_joined_units}

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
